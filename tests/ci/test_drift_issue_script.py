"""The github-script of drift.yml, run with Node against a recording stand-in for the GitHub
API: one open issue per environment, opened on drift, updated while drift lasts, closed when it
is gone, and nothing written when there is nothing to say."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.workflows import jobs, load, steps

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js, as actions/github-script")

# The action calls the script as the body of an async function with these arguments.
HARNESS = r"""
const fs = require('fs');
const script = fs.readFileSync(process.argv[2], 'utf8');
const issues = JSON.parse(process.env.FAKE_ISSUES);
const calls = [];
const notices = [];
let failed = null;
let next = 100;
const rest = { issues: {
  async listForRepo(params) {
    calls.push(['list', params]);
    return { data: issues.filter((i) => i.state === params.state) };
  },
  async create(params) {
    calls.push(['create', params]);
    const issue = { number: next++, state: 'open', title: params.title, body: params.body };
    issues.push(issue);
    return { data: issue };
  },
  async update(params) {
    calls.push(['update', params]);
    Object.assign(issues.find((i) => i.number === params.issue_number), params);
    return { data: {} };
  },
  async createComment(params) {
    calls.push(['comment', params]);
    return { data: {} };
  },
} };
const github = {
  rest,
  async paginate(method, params) { return (await method(params)).data; },
};
const context = {
  repo: { owner: 'northwind', repo: 'loyalty' }, serverUrl: 'https://github.com', runId: 99,
};
const core = { notice: (m) => notices.push(m), setFailed: (m) => { failed = m; } };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('github', 'context', 'core', 'require', script)(github, context, core, require)
  .then(() => console.log(JSON.stringify({ calls, issues, notices, failed })))
  .catch((e) => { console.error(e); process.exit(3); });
"""

REPORT = "### reconciler drift report: <code>prod-eu</code>\n\n| missing | changed |\n"
OTHER = [
    {"number": 3, "state": "open", "title": "Drift detected in prod-us", "body": "us"},
    {"number": 4, "state": "open", "title": "Drift detected in prod-eu", "pull_request": {}},
]


@pytest.fixture
def run_script(tmp_path: Path) -> Any:
    issue_job = jobs(load("drift"))["issue"]
    script = next(s for s in steps(issue_job) if "github-script" in str(s.get("uses")))
    (tmp_path / "script.js").write_text(script["with"]["script"])
    (tmp_path / "harness.js").write_text(HARNESS)
    (tmp_path / "drift.md").write_text(REPORT)

    def run(drift: str, issues: list[dict[str, Any]]) -> dict[str, Any]:
        assert NODE is not None
        completed = subprocess.run(
            [NODE, str(tmp_path / "harness.js"), str(tmp_path / "script.js")],
            cwd=tmp_path,
            env={
                "PATH": "/usr/bin:/bin",
                "RECONCILER_ENV": "prod-eu",
                "DRIFT": drift,
                "FAKE_ISSUES": json.dumps(issues),
            },
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        result: dict[str, Any] = json.loads(completed.stdout)
        return result

    return run


def writes(result: dict[str, Any]) -> list[list[Any]]:
    return [call for call in result["calls"] if call[0] != "list"]


def test_drift_opens_one_issue_titled_by_environment(run_script: Any) -> None:
    result = run_script("true", OTHER)
    [(kind, params)] = writes(result)
    assert kind == "create"
    assert params["title"] == "Drift detected in prod-eu"
    assert params["body"].startswith(REPORT)
    assert "https://github.com/northwind/loyalty/actions/runs/99" in params["body"]
    # Neither the pull request with that title nor another environment's issue was touched.
    assert [i for i in result["issues"] if i["number"] in (3, 4)] == OTHER


def test_lasting_drift_updates_the_open_issue(run_script: Any) -> None:
    existing = {"number": 7, "state": "open", "title": "Drift detected in prod-eu", "body": "old"}
    result = run_script("true", [*OTHER, existing])
    [(kind, params)] = writes(result)
    assert kind == "update"
    assert params["issue_number"] == 7
    assert params["body"].startswith(REPORT)
    assert "state" not in params


def test_no_drift_closes_the_issue_with_a_comment(run_script: Any) -> None:
    existing = {"number": 7, "state": "open", "title": "Drift detected in prod-eu", "body": "old"}
    result = run_script("false", [*OTHER, existing])
    [(first, comment), (second, close)] = writes(result)
    assert (first, comment["issue_number"]) == ("comment", 7)
    assert "No drift any more" in comment["body"]
    assert (second, close["issue_number"], close["state"]) == ("update", 7, "closed")
    assert [i["state"] for i in result["issues"] if i["number"] == 7] == ["closed"]


def test_no_drift_and_no_issue_writes_nothing(run_script: Any) -> None:
    result = run_script("false", OTHER)
    assert writes(result) == []
    assert result["calls"][0][1]["state"] == "open"


def test_a_missing_verdict_fails_without_writing(run_script: Any) -> None:
    result = run_script("", OTHER)
    assert result["failed"]
    assert "unexpected inputs" in result["failed"]
    assert result["calls"] == []
