"""Issue 8, acceptance 2: the exact `run:` scripts of plan.yml, apply.yml and drift.yml, read
from the YAML and run with bash in a temporary copy of the repository, against the sandbox.

Each script runs as GitHub's `shell: bash` runs it, with CI=true, RECONCILER_ENV=sandbox (named
explicitly, as SPEC §7 demands under CI), a fresh GITHUB_OUTPUT and GITHUB_STEP_SUMMARY per
step, and the venv's `reconciler` on PATH. The sandbox runs in-process with its state in the
copy's `.reconciler/sandbox.db`, so the steps see one world across processes. Only the
dependency installation step is left out (it would reach PyPI).
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.gitrepo import commit, git, init
from tests.support.workflows import SPEC_SECRET_VARIABLES, Runner, StepResult, base_environment

ENV_EXPRESSION = "${{ vars.RECONCILER_ENV || 'prod-eu' }}"
FORCE_EXPRESSION = "${{ inputs.force }}"
BASE_EXPRESSION = "${{ github.event.pull_request.base.sha }}"
PREVIEW_EXPRESSION = "${{ steps.preview-upload.outputs.artifact-url }}"
PREVIEW_URL = "https://github.com/northwind/loyalty-communications/actions/runs/4242/artifacts/77"
CANARIES = {name: f"canary-{name.lower()}-7f3a9c" for name in SPEC_SECRET_VARIABLES}


def make_runner(repo: Path, *, environment: str = "sandbox", force: str = "") -> Runner:
    return Runner(
        workdir=repo,
        expressions={
            ENV_EXPRESSION: environment,
            FORCE_EXPRESSION: force,
            # The pull request's base: the repository's first commit (configuration only).
            BASE_EXPRESSION: git(repo, "rev-list", "--max-parents=0", "HEAD"),
            PREVIEW_EXPRESSION: PREVIEW_URL,
        },
        secrets=CANARIES,
        base_env=base_environment(repo, repo.parent / "home"),
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The parts of a checkout the workflows read: manifests (with templates) and config, as a
    git repository of two commits: the configuration (a pull request's base), then the
    manifests (the pull request), so the pull request's plan covers every target."""
    copy = tmp_path / "repo"
    copy.mkdir()
    (tmp_path / "home").mkdir()
    shutil.copy2(ROOT / "reconciler.yaml", copy / "reconciler.yaml")
    init(copy)
    commit(copy, "configuration")
    shutil.copytree(ROOT / "manifests", copy / "manifests")
    commit(copy, "manifests")
    return copy


def only(results: list[StepResult]) -> StepResult:
    assert len(results) == 1, [r.name for r in results]
    return results[0]


def assert_no_canary(repo: Path, results: list[StepResult]) -> None:
    texts = [r.stdout + r.stderr + r.summary for r in results]
    texts += [p.read_text() for p in repo.iterdir() if p.suffix in {".md", ".json"}]
    for text in texts:
        for canary in CANARIES.values():
            assert canary not in text


def test_plan_workflow_validates_then_writes_the_comment_and_the_json_plan(repo: Path) -> None:
    runner = make_runner(repo)

    validate = only(runner.run_job("plan", "validate"))
    assert validate.code == 0, validate.stderr
    assert "::error" not in validate.stdout

    plan, preview, link = runner.run_job("plan", "plan")
    assert plan.code == 0, plan.stderr
    assert (preview.code, link.code) == (0, 0), preview.stderr + link.stderr
    comment = (repo / "plan.md").read_text(encoding="utf-8")
    # The preview page, and the comment's line about it: what it holds, SMS segments, the link.
    assert (repo / "preview" / "index.html").read_text(encoding="utf-8").startswith("<!DOCTYPE")
    assert comment.rstrip().endswith("which loads nothing from the network.")
    assert (
        "**Message preview:** 15 communications in 5 targets; SMS: 4 messages, 4 segments"
        in comment
    )
    assert f"[Download the preview]({PREVIEW_URL})" in comment
    assert comment.startswith("### ")
    assert "<details>" in comment
    assert "```diff" in comment
    assert "reconciler plan failed" not in comment
    assert "::stop-commands::" not in comment  # GitHub's log fencing must not reach the comment
    assert len(comment) <= 60_000
    saved = json.loads((repo / "plan.json").read_text())
    assert saved["formatVersion"] == 1
    assert saved["environment"] == "sandbox"
    assert saved["summary"]["create"] > 0
    # The CLI appended the same markdown to the step summary by itself (before the preview line).
    assert comment.startswith(plan.summary.strip())
    assert_no_canary(repo, [validate, plan])


def test_plan_workflow_plans_only_what_the_pull_request_changes(repo: Path) -> None:
    """plan.yml plans --changed-since the pull request's base: here main holds every manifest
    and the pull request edits one target's message."""
    runner = make_runner(repo)
    path = repo / "manifests" / "spring-sprint.yaml"
    path.write_text(path.read_text().replace("Spend 500 before", "Spend 500 by", 1))
    commit(repo, "the pull request")
    base = git(repo, "rev-parse", "HEAD~1")
    runner.expressions[BASE_EXPRESSION] = base
    plan, preview, link = runner.run_job("plan", "plan")
    assert (plan.code, preview.code, link.code) == (0, 0, 0), plan.stderr + preview.stderr
    comment = html.unescape((repo / "plan.md").read_text(encoding="utf-8"))
    # The preview holds the changed target only.
    assert "**Message preview:** 4 communications in 1 target;" in comment
    assert f"Changed since {base} ({base[:12]}): 1 of 5 documents planned" in comment
    saved = json.loads((repo / "plan.json").read_text())
    assert [t["targetId"] for t in saved["targets"]] == [2317]
    assert saved["base"]["commit"] == base


def test_the_plan_job_names_the_fix_for_a_shallow_checkout(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    runner = make_runner(clone)
    runner.expressions[BASE_EXPRESSION] = git(repo, "rev-list", "--max-parents=0", "HEAD")
    plan = only(runner.run_job("plan", "plan"))
    assert plan.code == 1
    assert "actions/checkout with fetch-depth: 0" in plan.stderr
    assert (clone / "plan.md").read_text().startswith("### reconciler plan failed")


def test_validate_step_annotates_a_bad_manifest(repo: Path) -> None:
    shutil.copy2(
        ROOT / "tests" / "data" / "manifests" / "bad-unquoted-number.yaml",
        repo / "manifests" / "bad.yaml",
    )
    validate = only(make_runner(repo).run_job("plan", "validate"))
    assert validate.code == 1
    assert "::error file=manifests/bad.yaml,line=" in validate.stdout


def test_a_failed_plan_still_leaves_a_comment_and_fails_the_job(repo: Path) -> None:
    plan = only(make_runner(repo, environment="no-such-environment").run_job("plan", "plan"))
    assert plan.code == 1
    comment = (repo / "plan.md").read_text()
    assert comment.startswith("### reconciler plan failed")
    assert "exited with code 1 in environment `no-such-environment`" in comment
    assert "https://github.com/northwind/loyalty-communications/actions/runs/4242" in comment


def test_drift_then_apply_then_no_drift(repo: Path) -> None:
    runner = make_runner(repo)

    before = only(runner.run_job("drift", "drift"))
    assert before.code == 0, before.stderr  # exit 2 is drift, not a failed job
    assert before.outputs == {"drift": "true"}
    assert "::warning title=drift::" in before.stdout
    report = (repo / "drift.md").read_text()
    assert "drift report" in report
    assert "changed" in report
    assert "Origins are labelled against HEAD" in report
    assert "# live edit (last updated by ui.admin (ui.admin) on " in report
    assert "::stop-commands::" not in report
    assert before.summary.strip() == report.strip()
    assert runner.run_job("drift", "issue") == []  # the issue job has actions only

    apply = only(runner.run_job("apply", "apply"))
    assert apply.code == 0, apply.stderr
    assert "Apply complete" in apply.stdout
    record = json.loads((repo / "report.json").read_text())
    assert record["environment"] == "sandbox"
    assert "0123456789abcdef0123456789abcdef01234567" in json.dumps(record)  # GITHUB_SHA
    # The uploaded report holds the pre-images rollback restores (issue 19).
    assert record["targets"]
    assert all("preImage" in t for t in record["targets"])
    assert record["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert (repo / ".reconciler" / "sandbox.db").is_file()

    after = only(runner.run_job("drift", "drift"))
    assert after.code == 0, after.stderr
    assert after.outputs == {"drift": "false"}
    assert "No drift" in (repo / "drift.md").read_text()
    assert_no_canary(repo, [before, apply, after])


def test_a_failing_drift_check_fails_the_job_without_a_verdict(repo: Path) -> None:
    drift = only(make_runner(repo, environment="no-such-environment").run_job("drift", "drift"))
    assert drift.code == 1
    assert drift.outputs == {}  # no drift=…: the issue job is skipped, the issue left alone
    assert "::error title=drift check failed::reconciler drift exited with code 1" in drift.stdout


def test_apply_refused_by_the_safety_threshold_then_forced(repo: Path) -> None:
    config = repo / "reconciler.yaml"
    text = config.read_text()
    marker = "    endpoint: sandbox"
    assert marker in text
    config.write_text(text.replace(marker, marker + "\n    maxDeactivatePercent: 0", 1))

    refused = only(make_runner(repo).run_job("apply", "apply"))
    assert refused.code == 3
    assert "::error title=apply refused::" in refused.stdout

    forced = only(make_runner(repo, force="true").run_job("apply", "apply"))
    assert forced.code == 0, forced.stderr
    assert "Apply complete" in forced.stdout


def test_apply_writes_the_step_summary(repo: Path) -> None:
    """SPEC §5: apply appends the plan and each target's outcome to GITHUB_STEP_SUMMARY."""
    apply = only(make_runner(repo).run_job("apply", "apply"))
    assert apply.code == 0, apply.stderr
    assert "### reconciler apply" in apply.summary
    assert "| applied |" in apply.summary
