"""Run the composite action (``action.yml``) and workflows that use it, the way a runner would:
each `run:` step with bash, inputs from `with:` over the action's defaults, `${{ }}` values of
`env:` blocks resolved from inputs, step outputs, secrets and the test's own table, and the
action's outputs read back from its steps. A `${{ }}` the runner cannot resolve fails the test.

The pip installation step (id ``install``) is left out, as in tests/support/workflows.py: the
venv's `reconciler` serves instead of a download.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.scaffold.layout import ACTION_REPOSITORY
from tests.support import ROOT
from tests.support.workflows import SECRET_EXPRESSION, StepResult, jobs, load, steps

ACTION = ROOT / "action.yml"
EXPRESSION = re.compile(r"^\$\{\{\s*(?P<body>.*?)\s*\}\}$")
REFERENCE = re.compile(
    r"^(?:steps\.(?P<step>[\w-]+)\.outputs\.(?P<output>[\w-]+)|inputs\.(?P<input>[\w-]+)"
    r"|env\.(?P<env>\w+))$"
)


def action() -> dict[str, Any]:
    return load(ACTION)


@dataclass
class ActionResult:
    """One run of the action: its steps and its outputs (``exit-code``, ``markdown``, ``json``)."""

    steps: list[StepResult]
    outputs: dict[str, str]

    @property
    def ok(self) -> bool:
        return all(step.code == 0 for step in self.steps)


@dataclass
class ActionRunner:
    """Runs steps in ``workdir``; ``expressions`` maps other `${{ … }}` texts to their values."""

    workdir: Path
    base_env: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    expressions: dict[str, str] = field(default_factory=dict)
    uses_prefix: str = f"{ACTION_REPOSITORY}@"  # how a workflow names this action
    _count: int = 0

    def resolve(self, text: object, scope: Mapping[str, Any]) -> str:
        value = str(text)
        match = EXPRESSION.match(value)
        if match is None:
            assert "${{" not in value, f"cannot resolve {value!r}: only whole expressions"
            return value
        secret = SECRET_EXPRESSION.match(value)
        if secret:
            return self.secrets.get(secret.group(1), "")
        reference = REFERENCE.match(match["body"])
        if reference and reference["step"]:
            return str(scope["steps"].get(reference["step"], {}).get(reference["output"], ""))
        if reference and reference["input"] and "inputs" in scope:
            return str(scope["inputs"].get(reference["input"], ""))
        if reference and reference["env"]:
            return str(scope["env"].get(reference["env"], ""))
        assert value in self.expressions, f"{value!r}: the test does not know this value"
        return self.expressions[value]

    def _env(self, blocks: list[Any], scope: dict[str, Any]) -> dict[str, str]:
        env = dict(scope["env"])
        for block in blocks:
            for key, value in (block or {}).items():
                env[str(key)] = self.resolve(value, {**scope, "env": env})
        return env

    def _bash(self, script: str, env: dict[str, str], name: str) -> StepResult:
        self._count += 1
        scratch = self.workdir.parent / f"action-step-{self._count}"
        scratch.mkdir()
        (scratch / "script.sh").write_text(script, encoding="utf-8")
        output_file, summary_file = scratch / "output", scratch / "summary.md"
        output_file.write_text("")
        summary_file.write_text("")
        env = {**env, "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary_file)}
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(scratch / "script.sh")],
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
        return StepResult(
            name,
            completed.returncode,
            completed.stdout,
            completed.stderr,
            outputs,
            summary_file.read_text(encoding="utf-8"),
        )

    def run_action(self, with_: Mapping[str, str], env: Mapping[str, str]) -> ActionResult:
        """The action's `run:` steps with these inputs and this environment (the caller's)."""
        definition = action()
        inputs = {name: str(spec.get("default", "")) for name, spec in definition["inputs"].items()}
        unknown = set(with_) - set(inputs)
        assert not unknown, f"the action has no input {unknown}"
        inputs.update(with_)
        scope: dict[str, Any] = {"inputs": inputs, "steps": {}, "env": dict(env)}
        results: list[StepResult] = []
        for index, step in enumerate(definition["runs"]["steps"]):
            if "run" not in step or step.get("id") == "install":
                continue
            assert step.get("shell") == "bash", "a composite run step names its shell"
            result = self._bash(
                str(step["run"]),
                self._env([step.get("env")], scope),
                str(step.get("name", index)),
            )
            results.append(result)
            if step.get("id"):
                scope["steps"][step["id"]] = result.outputs
            if result.code != 0:
                break
        outputs = {
            name: self.resolve(spec["value"], scope) for name, spec in definition["outputs"].items()
        }
        return ActionResult(results, outputs)

    def run_job(self, workflow: Path, job_name: str) -> list[StepResult]:
        """A job's `run:` steps and uses of this action, in order, up to the first failure."""
        document = load(workflow)
        job = jobs(document)[job_name]
        scope: dict[str, Any] = {"steps": {}, "env": dict(self.base_env)}
        scope["env"] = self._env([document.get("env"), job.get("env")], scope)
        results: list[StepResult] = []
        for index, step in enumerate(steps(job)):
            name = str(step.get("name", index))
            env = self._env([step.get("env")], scope)
            uses = str(step.get("uses", ""))
            if uses.startswith(self.uses_prefix):
                with_ = {k: self.resolve(v, scope) for k, v in (step.get("with") or {}).items()}
                ran = self.run_action(with_, env)
                code = next((s.code for s in ran.steps if s.code != 0), 0)
                result = StepResult(
                    name,
                    code,
                    "".join(s.stdout for s in ran.steps),
                    "".join(s.stderr for s in ran.steps),
                    ran.outputs,
                    "".join(s.summary for s in ran.steps),
                )
            elif "run" in step:
                result = self._bash(str(step["run"]), env, name)
            else:
                continue  # another action (checkout, upload, comment): not run here
            results.append(result)
            if step.get("id"):
                scope["steps"][step["id"]] = result.outputs
            if result.code != 0:
                break
        return results
