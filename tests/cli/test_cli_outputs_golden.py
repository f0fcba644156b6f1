"""The CLI's own bytes, pinned: the demo plan in three formats, validate on the bad corpus, export.

These run the installed ``reconciler`` command as a user would, from the repository root against
the embedded sandbox, and compare stdout, stderr and the exit code with files under
``tests/golden/cli/`` that a reviewer reads. They guard refactors that must change no output. The
only normalisation is the plan's ``generatedAt`` clock. ``UPDATE_GOLDEN=1`` rewrites the files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "cli"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
EXE = Path(sys.executable).with_name("reconciler")
CLOCK = re.compile(r"\d{4}-\d\d-\d\dT\d\d(?::|&#58;)\d\d(?::|&#58;)\d\dZ")


def _run(args: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECONCILER_", "GITHUB_"))}
    env.update({"NO_COLOR": "1", "COLUMNS": "100", "CI": "", "TERM": "dumb"})
    done = subprocess.run(
        [str(EXE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    out = CLOCK.sub("<clock>", done.stdout)
    err = CLOCK.sub("<clock>", done.stderr)
    return (
        f"$ reconciler {' '.join(args)}\nexit {done.returncode}\n--- stdout\n{out}--- stderr\n{err}"
    )


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    assert text == path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_demo_plan_output_is_unchanged(fmt: str) -> None:
    """The README's first plan, byte for byte, in each format."""
    _check(f"demo-plan.{fmt}.txt", _run(["--env", "sandbox", "plan", "--format", fmt], ROOT))


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_on_the_bad_corpus_is_unchanged(fmt: str) -> None:
    """Every diagnostic of every bad manifest, in one run."""
    corpus = sorted(p.name for p in (ROOT / "tests/data/manifests").glob("bad-*.yaml"))
    args = ["--env", "sandbox", "validate", "--format", fmt, *corpus]
    _check(f"validate-bad.{fmt}.txt", _run(args, ROOT / "tests/data/manifests"))


def test_export_all_is_unchanged() -> None:
    """What export writes for the demo org, and what it says.

    The files go inside the repository (under the git-ignored ``.reconciler/``) so the schema
    modeline's relative path does not depend on where the test runs.
    """
    rel = f".reconciler/golden-export-{os.getpid()}"
    out = ROOT / rel
    # The repository's own manifests declare the demo targets, and export refuses to declare
    # them twice: this run's configuration (at the root, so paths stay the same) names the
    # output directory as its manifests.
    config = ROOT / f"golden-export-{os.getpid()}.yaml"
    own = (ROOT / "reconciler.yaml").read_text(encoding="utf-8")
    config.write_text(own.replace("manifests: manifests/", f"manifests: {rel}/", 1))
    shutil.rmtree(out, ignore_errors=True)
    try:
        argv = ["--config", config.name, "--env", "sandbox", "export", "--all", "--out-dir", rel]
        text = _run(argv, ROOT)
        for path in sorted(out.rglob("*")):
            if path.is_file():
                text += f"=== {path.relative_to(out)}\n{path.read_text(encoding='utf-8')}"
    finally:
        shutil.rmtree(out, ignore_errors=True)
        config.unlink(missing_ok=True)
    _check("export-all.txt", text.replace(rel, "<out>").replace(config.name, "<config>"))


def test_help_texts_are_unchanged() -> None:
    """Every command's --help, concatenated: options, defaults and wording."""
    commands = [
        "",
        "validate",
        "schema",
        "plan",
        "drift",
        "apply",
        "export",
        "probe",
        "sandbox",
        "sandbox serve",
        "sandbox reset",
    ]
    text = "".join(_run([*c.split(), "--help"], ROOT) for c in commands)
    _check("help.txt", text)
