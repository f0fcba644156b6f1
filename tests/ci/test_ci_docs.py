"""Issue 8, acceptance 4: the "Running in CI" page of the manual lists
every secret and permission the workflows use, and names no other secret."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.workflows import DOCS, GITOPS, VENV_BIN, jobs, load, walk, workflow_paths

SECRET_LIKE = re.compile(
    r"\b(?:CAPILLARY_[A-Z0-9_]+|[A-Z][A-Z0-9_]*_(?:KEY|SECRET|TOKEN|PASSWORD|USERNAME|PAT))\b"
)


def docs() -> str:
    """The manual's "Running in CI" page."""
    text = DOCS.read_text(encoding="utf-8")
    assert text.startswith("# Running in CI\n")
    return text


def secrets_used() -> set[str]:
    names: set[str] = set()
    for path in workflow_paths():
        for _, value in walk(load(path)):
            if isinstance(value, str):
                names |= set(re.findall(r"\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)", value))
    return names


def permissions_used() -> set[str]:
    used: set[str] = set()
    for path in workflow_paths():
        workflow = load(path)
        blocks = [workflow.get("permissions")]
        blocks += [job.get("permissions") for job in jobs(workflow).values()]
        for block in blocks:
            assert isinstance(block, dict | None), path.name
            used |= {f"{scope}: {level}" for scope, level in (block or {}).items()}
    return used


def test_docs_list_every_secret_the_workflows_use_and_no_other() -> None:
    used = secrets_used()
    assert used == {
        "CAPILLARY_CLIENT_KEY",
        "CAPILLARY_CLIENT_SECRET",
        "CAPILLARY_USERNAME",
        "CAPILLARY_PASSWORD",
    }
    text = docs()
    for name in used:
        assert f"`{name}`" in text, name
    mentioned = set(SECRET_LIKE.findall(text)) | set(re.findall(r"secrets\.(\w+)", text))
    assert mentioned == used


def test_the_secret_check_would_notice_an_extra_secret() -> None:
    extra = docs() + "\nAlso set `SLACK_WEBHOOK_TOKEN`.\n"
    assert set(SECRET_LIKE.findall(extra)) - secrets_used() == {"SLACK_WEBHOOK_TOKEN"}


def test_docs_list_every_permission_the_workflows_use() -> None:
    used = permissions_used()
    assert {"contents: read", "pull-requests: write", "issues: write"} <= used
    text = docs()
    for permission in used:
        assert f"`{permission}`" in text, permission
    mentioned = set(re.findall(r"`([a-z-]+: (?:read|write|none))`", text))
    assert mentioned == used


def test_docs_cover_workflows_variables_environments_forks_and_concurrency() -> None:
    text = docs()
    assert text.startswith("# Running in CI\n")
    for name in GITOPS:
        assert f"`.github/workflows/{name}.yml`" in text
    for phrase in [
        "`RECONCILER_ENV`",
        "Required reviewers",
        "Deployment branches",
        "validation only",
        "pull_request_target",
        "github.event.pull_request.head.repo.full_name == github.repository",
        "`reconciler-apply-<environment>`",
        "`cancel-in-progress: false`",
        "Drift detected in <environment>",
    ]:
        assert phrase in text, phrase
    default = re.search(r"vars\.RECONCILER_ENV \|\| '([\w-]+)'", str(load("apply")["concurrency"]))
    assert default
    assert f"the workflows use `{default.group(1)}`" in text


def gitlab_example() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", docs(), flags=re.DOTALL)
    [example] = [b for b in blocks if b.startswith("# .gitlab-ci.yml\n")]
    return example


def test_gitlab_example_is_a_valid_gitlab_ci_file(tmp_path: Path) -> None:
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(gitlab_example())
    result = subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_example_runs_the_same_commands_as_the_workflows() -> None:
    scripts = " ".join(
        str(value)
        for name in GITOPS
        for path, value in walk(load(name))
        if path and path[-1] == "run"
    )
    commands = [
        line.strip()[2:]
        for line in gitlab_example().splitlines()
        if line.strip().startswith(("- reconciler ", "- python -m pip"))
    ]
    assert len(commands) == 5
    for command in commands:
        assert command in scripts, command
