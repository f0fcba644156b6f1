"""Read the GitHub workflows as data, and run their `run:` steps the way a runner would.

Workflows are parsed as YAML 1.2 (ruamel), so the `on:` key stays the string "on" instead of
YAML 1.1's boolean True.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.redact import SECRET_VARIABLES
from tests.support import ROOT

WORKFLOW_DIR = ROOT / ".github" / "workflows"
DOCS = ROOT / "docs" / "ci.md"  # the "Running in CI" page
VENV_BIN = Path(sys.executable).parent
GITOPS = ("plan", "apply", "drift")  # the workflows of issue 8; ci.yml is the tool's own tests

SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"
SECRET_EXPRESSION = re.compile(r"^\$\{\{ secrets\.([A-Za-z_][A-Za-z0-9_]*) \}\}$")
PINNED_USES = re.compile(
    r"^\s*(?:-\s+)?uses:\s+(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)"
    r"(?:\s+#\s*(?P<comment>.*))?$"
)

# §7's credential variables, as the package itself defines them.
SPEC_SECRET_VARIABLES = frozenset(SECRET_VARIABLES)


def workflow_paths() -> list[Path]:
    return sorted(WORKFLOW_DIR.glob("*.yml")) + sorted(WORKFLOW_DIR.glob("*.yaml"))


def load(name_or_path: str | Path) -> dict[str, Any]:
    path = Path(name_or_path)
    if not path.is_absolute():
        path = WORKFLOW_DIR / f"{name_or_path}.yml"
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a mapping"
    return data


def triggers(workflow: Mapping[str, Any]) -> dict[str, Any]:
    on = workflow["on"]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


def jobs(workflow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(workflow["jobs"])


def steps(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def walk(
    node: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every scalar of a parsed document with the path of keys and indexes that leads to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, "<key>"), key
            yield from walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))
    else:
        yield path, node


def secret_references(node: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, text) of every scalar that mentions the secrets context."""
    return [
        (path, value)
        for path, value in walk(node)
        if isinstance(value, str) and re.search(r"\bsecrets\b", value)
    ]


def uses_secrets(node: Any) -> bool:
    return bool(secret_references(node))


# --- running steps -------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


@dataclass
class Runner:
    """Runs the `run:` steps of one job in ``workdir`` as GitHub's `shell: bash` does.

    ``expressions`` maps each `${{ … }}` value found in an `env:` block to what it stands for
    in this test (secrets are mapped by name through ``secrets``); an expression it does not
    know fails the test, so a workflow change cannot slip past it unexecuted.
    """

    workdir: Path
    expressions: dict[str, str]
    secrets: dict[str, str]
    base_env: dict[str, str] = field(default_factory=dict)

    def resolve(self, name: str, value: object) -> str:
        text = str(value)
        if "${{" not in text:
            return text
        secret = SECRET_EXPRESSION.match(text)
        if secret:
            return self.secrets.get(secret.group(1), "")  # GitHub gives "" for a missing secret
        assert text in self.expressions, f"env {name}={text!r}: the test does not know this value"
        return self.expressions[text]

    def env_for(
        self, workflow: Mapping[str, Any], job: Mapping[str, Any], step: Mapping[str, Any]
    ) -> dict[str, str]:
        env = dict(self.base_env)
        for block in (workflow.get("env"), job.get("env"), step.get("env")):
            for key, value in (block or {}).items():
                env[str(key)] = self.resolve(str(key), value)
        return env

    def run_job(self, workflow_name: str, job_name: str) -> list[StepResult]:
        """Run every `run:` step except dependency installation, stopping at the first failure
        (the later steps of a GitHub job are skipped too, unless they ask for always())."""
        workflow = load(workflow_name)
        job = jobs(workflow)[job_name]
        shell = (workflow.get("defaults") or {}).get("run", {}).get("shell")
        assert shell == "bash", f"{workflow_name}: run steps should declare shell: bash"
        results: list[StepResult] = []
        for index, step in enumerate(steps(job)):
            if "run" not in step or step.get("id") == "install":
                continue
            name = str(step.get("name", f"step {index}"))
            scratch = self.workdir.parent / f"runner-{workflow_name}-{job_name}-{index}"
            scratch.mkdir(exist_ok=True)
            script = scratch / "script.sh"
            script.write_text(str(step["run"]), encoding="utf-8")
            output_file = scratch / "output"
            summary_file = scratch / "summary.md"
            output_file.write_text("")
            summary_file.write_text("")
            env = self.env_for(workflow, job, step)
            env["GITHUB_OUTPUT"] = str(output_file)
            env["GITHUB_STEP_SUMMARY"] = str(summary_file)
            # What GitHub runs for `shell: bash`.
            completed = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=self.workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            outputs = dict(
                line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
            )
            result = StepResult(
                name,
                completed.returncode,
                completed.stdout,
                completed.stderr,
                outputs,
                summary_file.read_text(encoding="utf-8"),
            )
            results.append(result)
            if result.code != 0:
                break
        return results


def base_environment(workdir: Path, home: Path) -> dict[str, str]:
    """What a GitHub runner provides by itself, with the venv's `reconciler` on PATH."""
    return {
        "PATH": os.pathsep.join([str(VENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "northwind/loyalty-communications",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_WORKSPACE": str(workdir),
    }
