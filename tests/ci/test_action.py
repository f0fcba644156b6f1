"""Issue 20, acceptance 3: ``action.yml`` is a valid composite action, and its `run:` steps,
read from the YAML and run with bash as a runner would (pip installation left out), give the
right ``exit-code`` and output paths for each command against the sandbox."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler import __version__
from tests.support import ROOT
from tests.support.actions import ACTION, ActionRunner, action
from tests.support.workflows import PINNED_USES, VENV_BIN, base_environment, walk, workflow_paths

CANARY = "canary-secret-5e1d0b"


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-actions",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    copy.mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "runner-temp").mkdir()
    shutil.copytree(ROOT / "manifests", copy / "manifests")
    shutil.copy2(ROOT / "reconciler.yaml", copy / "reconciler.yaml")
    return copy


def runner(repo: Path) -> ActionRunner:
    env = base_environment(repo, repo.parent / "home")
    env["RUNNER_TEMP"] = str(repo.parent / "runner-temp")
    return ActionRunner(workdir=repo, base_env=env)


def caller_env(repo: Path, **extra: str) -> dict[str, str]:
    env = runner(repo).base_env | {"CAPILLARY_CLIENT_SECRET": CANARY}
    return env | extra


def test_the_action_passes_the_action_metadata_schema() -> None:
    result = schema_check(ACTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_action(tmp_path: Path) -> None:
    broken = tmp_path / "action.yml"
    broken.write_text(
        "name: x\ndescription: y\nruns:\n  using: composite\n  steps:\n    - run: echo\n"
        "      shel: bash\n"
    )
    assert schema_check(broken).returncode == 1


def test_inputs_outputs_and_version() -> None:
    definition = action()
    assert definition["runs"]["using"] == "composite"
    assert set(definition["inputs"]) == {
        "command",
        "environment",
        "version",
        "args",
        "python-version",
    }
    assert definition["inputs"]["command"]["required"] is True
    # `uses: …@vX.Y.Z` installs that same version unless told otherwise.
    assert definition["inputs"]["version"]["default"] == __version__
    assert set(definition["outputs"]) == {"exit-code", "markdown", "json"}
    setup = next(s for s in definition["runs"]["steps"] if "setup-python" in str(s.get("uses")))
    assert setup["with"]["cache"] == "pip"
    pin = next(s for s in definition["runs"]["steps"] if s.get("id") == "pin")
    assert setup["with"]["cache-dependency-path"] in pin["run"]
    install = next(s for s in definition["runs"]["steps"] if s.get("id") == "install")
    assert setup["with"]["cache-dependency-path"] in install["run"]


def test_run_scripts_take_values_through_env_only_and_actions_are_pinned_as_elsewhere() -> None:
    definition = action()
    for path, value in walk(definition):
        if path and path[-1] == "run":
            assert "${{" not in value
            assert "CAPILLARY_" not in value
    pins = {}
    for path in [*workflow_paths(), ACTION]:
        for line in path.read_text().splitlines():
            match = PINNED_USES.match(line)
            if match:
                pins.setdefault(match["action"], set()).add((match["ref"], match["comment"]))
    assert pins["actions/setup-python"]
    assert len(pins["actions/setup-python"]) == 1
    assert re.fullmatch(r"[0-9a-f]{40}", next(iter(pins["actions/setup-python"]))[0])


def test_validate(repo: Path) -> None:
    run = runner(repo)
    good = run.run_action({"command": "validate"}, caller_env(repo))
    assert good.ok, [s.stderr for s in good.steps]
    assert good.outputs == {"exit-code": "0", "markdown": "", "json": ""}
    assert (repo / ".reconciler" / "action-requirements.txt").read_text() == (
        f"reconciler=={__version__}\n"
    )

    shutil.copy2(
        ROOT / "tests/data/manifests/bad-unquoted-number.yaml", repo / "manifests/bad.yaml"
    )
    bad = run.run_action({"command": "validate"}, caller_env(repo))
    assert not bad.ok
    assert bad.outputs["exit-code"] == "1"
    assert "::error file=manifests/bad.yaml,line=" in bad.steps[-1].stdout


def test_plan_writes_the_markdown_and_the_saved_plan(repo: Path) -> None:
    result = runner(repo).run_action(
        {"command": "plan", "environment": "sandbox"}, caller_env(repo)
    )
    assert result.ok, [s.stderr for s in result.steps]
    assert result.outputs["exit-code"] == "0"
    markdown = Path(result.outputs["markdown"]).read_text()
    assert markdown.startswith("### ")
    assert "```diff" in markdown
    assert "::stop-commands::" not in markdown
    saved = json.loads(Path(result.outputs["json"]).read_text())
    assert saved["environment"] == "sandbox"
    assert saved["summary"]["create"] > 0
    assert CANARY not in markdown + "".join(s.stdout + s.stderr for s in result.steps)


def test_plan_with_args_and_detailed_exitcode_succeeds_with_changes(repo: Path) -> None:
    result = runner(repo).run_action(
        {"command": "plan", "args": "--detailed-exitcode --select team=crm"},
        caller_env(repo, RECONCILER_ENV="sandbox"),
    )
    assert result.ok  # 2 is "changes present", not a failure
    assert result.outputs["exit-code"] == "2"
    assert "::warning title=reconciler plan::" in result.steps[-1].stdout


def test_args_on_several_lines_are_all_passed(repo: Path) -> None:
    # Found in review: `read -a` took the first line of a block scalar (`args: |`) and dropped
    # the rest, so an apply's `--select` on a second line would have applied everything.
    result = runner(repo).run_action(
        {"command": "plan", "args": "--detailed-exitcode\n--select name=no-such-manifest\n"},
        caller_env(repo, RECONCILER_ENV="sandbox"),
    )
    assert result.outputs["exit-code"] == "1"
    assert "no-such-manifest" in result.steps[-1].stderr


def test_a_failed_plan_keeps_a_note_and_fails(repo: Path) -> None:
    result = runner(repo).run_action(
        {"command": "plan", "environment": "no-such-environment"}, caller_env(repo)
    )
    assert not result.ok
    assert result.outputs["exit-code"] == "1"
    assert Path(result.outputs["markdown"]).read_text().startswith("### reconciler plan failed")


def test_drift_then_apply_then_no_drift(repo: Path) -> None:
    run = runner(repo)
    env = caller_env(repo, RECONCILER_ENV="sandbox")
    before = run.run_action({"command": "drift"}, env)
    assert before.ok
    assert before.outputs["exit-code"] == "2"
    assert before.outputs["json"] == ""
    assert "drift report" in Path(before.outputs["markdown"]).read_text()

    applied = run.run_action({"command": "apply"}, env)
    assert applied.ok, [s.stderr for s in applied.steps]
    assert applied.outputs["exit-code"] == "0"
    assert "### reconciler apply" in Path(applied.outputs["markdown"]).read_text()
    assert "### reconciler apply" in applied.steps[-1].summary  # and in the job summary
    assert json.loads(Path(applied.outputs["json"]).read_text())["environment"] == "sandbox"

    after = run.run_action({"command": "drift"}, env)
    assert after.ok
    assert after.outputs["exit-code"] == "0"


def test_apply_refused_by_the_threshold_is_exit_3_then_forced(repo: Path) -> None:
    config = repo / "reconciler.yaml"
    marker = "    endpoint: sandbox"
    config.write_text(
        config.read_text().replace(marker, marker + "\n    maxDeactivatePercent: 0", 1)
    )
    run = runner(repo)
    env = caller_env(repo, RECONCILER_ENV="sandbox")
    refused = run.run_action({"command": "apply"}, env)
    assert not refused.ok
    assert refused.outputs["exit-code"] == "3"
    assert "::error title=apply refused::" in refused.steps[-1].stdout
    forced = run.run_action({"command": "apply", "args": "--force"}, env)
    assert forced.ok
    assert forced.outputs["exit-code"] == "0"


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"command": "destroy"}, "command must be validate, plan, apply or drift"),
        ({"command": "plan", "version": "1.0; curl x"}, "version must be a release number"),
    ],
)
def test_bad_inputs_fail_before_anything_runs(
    repo: Path, inputs: dict[str, str], message: str
) -> None:
    result = runner(repo).run_action(inputs, caller_env(repo))
    assert not result.ok
    assert message in result.steps[-1].stdout
    assert not (repo / ".reconciler" / "sandbox.db").exists()
