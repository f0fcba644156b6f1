"""Secrets never reach ``reconciler probe``'s output, evidence, contract file or journal, even
when the server quotes the request's credentials back in the answers the probe keeps."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from reconciler.sandbox import auth
from tests.conftest import SandboxFactory
from tests.security.test_canary_secrets import (
    CANARY_LOGINS,
    KEY,
    PASSWORD,
    SECRET,
    TOKEN,
    USER,
    echo_page,
    forbidden,
)
from tests.support.cli import Run, write_config
from tests.support.probe import SCRATCH_ARGS, contract_path, journal_file, scratch_sandbox
from tests.support.servers import Answer, Proxy, Seen


@pytest.fixture
def issued_tokens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    issued: list[str] = []
    counter = itertools.count(1)

    def canary_token(*_: object) -> str:
        issued.append(f"{TOKEN}.{next(counter):04d}canary")
        return issued[-1]

    monkeypatch.setattr(auth, "_new_token", canary_token)
    return issued


def quoting(seen: Seen, n: int) -> Answer | None:
    """The answers the probe keeps whole: (g) as an envelope, (h) as an HTML page, both
    quoting the request's credentials."""
    if seen.method != "POST" or not seen.path.endswith("/upsert"):
        return None
    page = echo_page(seen)
    if b"reconcilerProbeUnknownField" in seen.body:
        errors = [{"code": 300004, "message": f"rejected {page.decode()}"}]
        body = json.dumps({"data": None, "errors": errors, "warnings": None}).encode()
        return Answer(400, body, {"Content-Type": "application/json"})
    if b"RECONCILER_PROBE_INVALID" in seen.body:
        return Answer(400, page, {"Content-Type": "text/html"})
    return None


@pytest.mark.parametrize("kind", ["basic", "oauth"])
def test_no_secret_in_output_evidence_contract_or_journal(
    sandbox_factory: SandboxFactory,
    sandbox_db: Path,
    cli: Run,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    issued_tokens: list[str],
    kind: str,
) -> None:
    for name, value in (
        ("CAPILLARY_USERNAME", USER),
        ("CAPILLARY_PASSWORD", PASSWORD),
        ("CAPILLARY_CLIENT_KEY", KEY),
        ("CAPILLARY_CLIENT_SECRET", SECRET),
    ):
        monkeypatch.setenv(name, value)
    server = scratch_sandbox(sandbox_factory, sandbox_db, repo, credentials=CANARY_LOGINS)
    with Proxy(server.url, quoting) as proxy:
        write_config(repo, proxy.url, auth=kind)
        texts = []
        for fmt in ("text", "json"):
            code, out, err = cli("-v", *SCRATCH_ARGS, "--format", fmt)
            assert code == 0
            texts += [out, err]
        echoed = [s for s in proxy.seen if b"RECONCILER_PROBE_INVALID" in s.body]
    assert len(echoed) == 2  # the credentials were on the wire and came back, twice per run
    if kind == "oauth":
        assert issued_tokens
    contract = contract_path(repo).read_text()
    assert "rejected: HTTP 400: code 300004: rejected" in contract  # the echo is in evidence
    assert "***" in contract
    texts.append(contract)
    assert not journal_file(repo).exists()
    blob = "\n".join(texts)
    leaked = sorted(form for form in forbidden(issued_tokens) if form in blob)
    assert not leaked, f"leaked {leaked}"
