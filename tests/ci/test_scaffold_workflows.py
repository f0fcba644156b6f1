"""Issue 20, acceptance 1 (second half): the workflows `reconciler init` writes pass the
workflow schema check, follow the rules of this repository's own workflows, and their steps
(the action's `run:` scripts included) run against the sandbox in the scaffolded repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from pre_commit.clientlib import load_config, load_manifest

from reconciler import __version__
from reconciler.scaffold.layout import ACTION_REPOSITORY
from tests.support import ROOT
from tests.support.actions import ActionRunner
from tests.support.workflows import (
    GITOPS,
    PINNED_USES,
    SPEC_SECRET_VARIABLES,
    VENV_BIN,
    base_environment,
    jobs,
    load,
    secret_references,
    triggers,
    walk,
    workflow_paths,
)

CANARIES = {name: f"canary-{name.lower()}-2b9e" for name in SPEC_SECRET_VARIABLES}


@pytest.fixture
def scaffold(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (tmp_path / "home").mkdir()
    (tmp_path / "runner-temp").mkdir()
    result = subprocess.run(
        [str(VENV_BIN / "reconciler"), "init", str(repo), "--environment", "prod-us"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return repo


def workflows(repo: Path) -> dict[str, Path]:
    return {name: repo / ".github" / "workflows" / f"{name}.yml" for name in GITOPS}


def runner(repo: Path, force: str = "") -> ActionRunner:
    env = base_environment(repo, repo.parent / "home")
    env["RUNNER_TEMP"] = str(repo.parent / "runner-temp")
    return ActionRunner(
        workdir=repo,
        base_env=env,
        secrets=CANARIES,
        expressions={
            "${{ vars.RECONCILER_ENV || 'prod-us' }}": "sandbox",
            "${{ inputs.force && '--force' || '' }}": force,
        },
    )


def test_scaffolded_workflows_pass_the_workflow_schema(scaffold: Path) -> None:
    paths = list(workflows(scaffold).values())
    result = subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
        + [str(p) for p in paths],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_scaffolded_workflows_follow_the_rules_of_ours(scaffold: Path) -> None:
    ours = {}
    for path in workflow_paths():
        for line in path.read_text().splitlines():
            if match := PINNED_USES.match(line):
                ours[match["action"]] = (match["ref"], match["comment"])
    action_uses = 0
    for name, path in workflows(scaffold).items():
        workflow = load(path)
        assert triggers(workflow) == triggers(load(name))
        assert workflow["permissions"] == {"contents": "read"}
        for job_name, job in jobs(workflow).items():
            reference = jobs(load(name))[job_name]
            assert job["permissions"] == reference["permissions"], f"{name}.{job_name}"
            assert job.get("if") == reference.get("if"), f"{name}.{job_name}"
        for line in path.read_text().splitlines():
            match = PINNED_USES.match(line)
            if not match:
                continue
            if match["action"] == ACTION_REPOSITORY:
                assert match["ref"] == f"v{__version__}"  # the action at this version
                action_uses += 1
            else:
                assert (match["ref"], match["comment"]) == ours[match["action"]], line
        for at, value in walk(workflow):
            if at and at[-1] == "run":
                assert "${{" not in value
                assert "CAPILLARY_" not in value
        for at, value in secret_references(workflow):
            assert (at[0], at[2], at[4]) == ("jobs", "steps", "env"), (name, at)
            assert value == f"${{{{ secrets.{at[5]} }}}}", (name, at)
            assert at[5] in SPEC_SECRET_VARIABLES
            step = jobs(workflow)[str(at[1])]["steps"][int(at[3])]
            assert str(step["uses"]).startswith(ACTION_REPOSITORY + "@"), (name, at)
    assert action_uses == 4  # validate, plan, apply, drift


def test_scaffolded_pre_commit_config_uses_our_hook_at_this_version(scaffold: Path) -> None:
    config = load_config(str(scaffold / ".pre-commit-config.yaml"))
    [repo] = config["repos"]
    assert repo["repo"] == f"https://github.com/{ACTION_REPOSITORY}"
    assert repo["rev"] == f"v{__version__}"
    ours = {hook["id"] for hook in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert {hook["id"] for hook in repo["hooks"]} <= ours


def test_scaffolded_plan_workflow_validates_and_plans(scaffold: Path) -> None:
    run = runner(scaffold)
    [validate] = run.run_job(workflows(scaffold)["plan"], "validate")
    assert validate.code == 0, validate.stderr
    assert validate.outputs["exit-code"] == "0"

    [plan] = run.run_job(workflows(scaffold)["plan"], "plan")
    assert plan.code == 0, plan.stderr
    comment = Path(plan.outputs["markdown"]).read_text()
    assert "example-refer-three-friends" in comment
    saved = json.loads(Path(plan.outputs["json"]).read_text())
    assert saved["summary"]["create"] == 1
    for canary in CANARIES.values():
        assert canary not in plan.stdout + plan.stderr + comment


def test_scaffolded_drift_apply_drift(scaffold: Path) -> None:
    run = runner(scaffold)
    drift, verdict = run.run_job(workflows(scaffold)["drift"], "drift")
    assert drift.code == 0
    assert drift.outputs["exit-code"] == "2"
    assert verdict.code == 0
    assert verdict.outputs == {"drift": "true"}

    [apply] = run.run_job(workflows(scaffold)["apply"], "apply")
    assert apply.code == 0, apply.stderr
    assert json.loads(Path(apply.outputs["json"]).read_text())["environment"] == "sandbox"

    drift, verdict = run.run_job(workflows(scaffold)["drift"], "drift")
    assert verdict.outputs == {"drift": "false"}
