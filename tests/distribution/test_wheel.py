"""Issue 20, acceptance 1: the built wheel works without the source tree.

`python -m build` makes the sdist and, from it, the wheel (offline: the frontend and the
backend are dev dependencies, so `--no-isolation` needs no download). The wheel is installed
into a new virtual environment in a temporary directory, and from there `reconciler --version`,
`init`, `validate` and `--env sandbox plan` run with the source tree on no path.

Dependencies: a fresh machine has no wheelhouse, and downloading them again would put PyPI in
the test suite. So the new environment installs the wheel with `--no-deps` and sees the dev
venv's third-party packages through a path line in a `.pth` file, placed after its own
site-packages. A path line adds the directory only; the `.pth` files inside it (among them
the editable install's, which points at the source tree) are not processed, so the only
`reconciler` package on sys.path is the wheel's, which the test proves. `pip check` proves the
wheel's declared requirements are met by what is importable.

RECONCILER_DIST=<dir> tests already built files instead (the release workflow tests exactly
the files it publishes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from reconciler import __version__
from tests.support import ROOT

SDIST = f"reconciler-{__version__}.tar.gz"
WHEEL = f"reconciler-{__version__}-py3-none-any.whl"


def run(
    args: list[str | Path], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("RECONCILER_DIST")
    if given:
        return Path(given).resolve()
    out = tmp_path_factory.mktemp("dist")
    built = run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT], ROOT)
    assert built.returncode == 0, built.stdout + built.stderr
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    place = tmp_path_factory.mktemp("elsewhere")
    assert ROOT not in place.parents
    venv = place / "venv"
    # No pip of its own (ensurepip is the slow part): the dev venv's pip installs into it.
    made = run([sys.executable, "-m", "venv", "--without-pip", venv], place)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], place
    ).stdout.strip()
    # After the venv's own site-packages (.pth directories are appended in name order).
    (Path(site) / "zz-dev-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = run([*pip(venv), "install", "--no-deps", "--no-index", dist / WHEEL], place)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv


def pip(venv: Path) -> list[str | Path]:
    """The dev venv's pip, working on ``venv`` (pip's --python)."""
    return [sys.executable, "-m", "pip", "--python", venv / "bin" / "python"]


def clean_env(venv: Path, home: Path) -> dict[str, str]:
    """No PYTHONPATH, no dev venv on PATH: only the new venv's console script."""
    return {
        "PATH": os.pathsep.join([str(venv / "bin"), "/usr/bin", "/bin"]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }


def test_the_sdist_and_wheel_hold_what_runs(dist: Path) -> None:
    wheel = set(zipfile.ZipFile(dist / WHEEL).namelist())
    assert "reconciler/scaffold/skeleton/workflows/plan.yml" in wheel
    assert "reconciler/sandbox/seed.py" in wheel  # the demo programme
    assert "reconciler/py.typed" in wheel
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in wheel)
    entry_points = zipfile.ZipFile(dist / WHEEL).read(
        f"reconciler-{__version__}.dist-info/entry_points.txt"
    )
    assert b"reconciler = reconciler.cli:run" in entry_points
    with tarfile.open(dist / SDIST) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"pyproject.toml", "reconciler/__init__.py", "action.yml"} <= names
    assert "reconciler/scaffold/skeleton/workflows/drift.yml" in names
    assert not any(name.startswith(".venv/") for name in names)


def test_the_wheel_runs_from_a_new_venv_without_the_source_tree(venv: Path) -> None:
    place = venv.parent
    env = clean_env(venv, place)
    python = venv / "bin" / "python"

    where = run(
        [
            python,
            "-c",
            "import json, pathlib, sys, reconciler; print(json.dumps({'file': reconciler.__file__,"
            " 'holders': [p for p in sys.path if (pathlib.Path(p or '.') / 'reconciler').is_dir()],"
            " 'path': sys.path}))",
        ],
        place,
        env,
    )
    assert where.returncode == 0, where.stderr
    seen = json.loads(where.stdout)
    site = Path(seen["file"]).parent.parent
    assert site.is_relative_to(venv)
    assert seen["holders"] == [str(site)]  # no other reconciler package anywhere on the path
    assert str(ROOT) not in seen["path"]
    checked = run([*pip(venv), "check"], place, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    version = run(["reconciler", "--version"], place, env)
    assert (version.returncode, version.stdout) == (0, f"reconciler {__version__}\n")

    init = run(["reconciler", "init", "repo", "--environment", "prod-eu"], place, env)
    assert init.returncode == 0, init.stderr
    repo = place / "repo"
    assert "created .github/workflows/plan.yml" in init.stdout
    assert f"@v{__version__}" in (repo / ".github" / "workflows" / "apply.yml").read_text()

    validate = run(["reconciler", "validate"], repo, env)
    assert validate.returncode == 0, validate.stderr
    assert "ok: 1 document in 1 file" in validate.stdout

    plan = run(["reconciler", "--env", "sandbox", "plan"], repo, env)
    assert plan.returncode == 0, plan.stderr
    assert "Plan: 1 to create" in plan.stdout
    assert (repo / ".reconciler" / "sandbox.db").is_file()  # the demo data, from the wheel
