"""``reconciler probe`` on the command line: its formats (the JSON is the contract file's
document), its exit codes, and a bad option refused before any request."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.contract import Contract
from tests.conftest import SandboxFactory
from tests.support.cli import Run
from tests.support.probe import SCRATCH_ARGS, contract_file, scratch_sandbox


def test_json_prints_the_contract_document_the_file_holds(
    sandbox_factory: SandboxFactory, sandbox_db: Path, repo: Path, cli: Run
) -> None:
    scratch_sandbox(sandbox_factory, sandbox_db, repo)
    code, out, err = cli(*SCRATCH_ARGS, "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out) == contract_file(repo)
    assert contract_file(repo)["contract"] == Contract().model_dump()
    assert contract_file(repo)["environment"] == "test"


def test_text_ends_with_the_clean_up_and_the_contract_file(
    sandbox_factory: SandboxFactory, sandbox_db: Path, repo: Path, cli: Run
) -> None:
    scratch_sandbox(sandbox_factory, sandbox_db, repo, "object-body")
    code, out, _ = cli(*SCRATCH_ARGS)
    assert code == 2
    last = out.rstrip().splitlines()[-2:]
    assert last[0].startswith("Clean-up: deactivated ids ")
    assert last[1] == f'Contract (body: "object") written to {repo}/.reconciler/contract-test.json.'


def test_a_bad_format_is_a_usage_error_before_any_request(
    sandbox_factory: SandboxFactory, sandbox_db: Path, repo: Path, cli: Run
) -> None:
    server = scratch_sandbox(sandbox_factory, sandbox_db, repo)
    code, _, err = cli(*SCRATCH_ARGS, "--format", "markdown")
    assert code == 1
    assert err == "error: --format must be one of text, json, not 'markdown'\n"
    assert server.store.request_log() == []


def test_the_target_is_required(cli: Run) -> None:
    code, _, err = cli("probe", "--target-group", "2185")
    assert code == 1
    assert "Missing option '--target'" in err
