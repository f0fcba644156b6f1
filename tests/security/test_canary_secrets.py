"""Issue 10 case 9 (SPEC §7): canary credentials never appear in any output.

The sandbox accepts only canary credentials (and issues canary tokens); they sit in the
environment while ``plan``, ``drift``, ``apply`` and ``export`` run with ``-v`` through a hostile
proxy that echoes every request (headers, decoded Basic credentials, the token request's body)
into error pages, on top of the sandbox's own injected failures. Neither the secret canaries
(password, client secret, tokens, the Basic value) nor their URL-encoded, base64 or md5 forms
may appear in stdout, stderr (tracebacks included), the saved plan, the markdown, the step
summary, the apply report or the exported manifests. The user name and the client key are
identifiers, not secrets, since issue 14 (item 1): they may show.
``tests/api/test_no_secret_leaks.py`` pins the client's exceptions and logs on the same idea.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
import shutil
import urllib.parse
from pathlib import Path

import pytest

from reconciler.sandbox import Client, Credentials, Fault, User, auth
from reconciler.sandbox.auth import till
from reconciler.sandbox.faults import TOKEN_PATH
from tests.conftest import SandboxFactory
from tests.support.cli import Run, write_config
from tests.support.sandbox import comms
from tests.support.servers import Answer, Proxy, Seen

ROOT = Path(__file__).resolve().parents[2]
USER = "canary-till-user-77"
PASSWORD = "Cx7-canary-PASSWORD-e1f2"
KEY = "canary-client-KEY-5a6b"
SECRET = "canary/Secret+Value=9c8d"  # "/", "+" and "=" encode differently in every form
TOKEN = "eyJhbGciOiJSUzI1NiJ9.canaryTOKENpayload"
CANARY_LOGINS = Credentials(
    users=(User(USER, PASSWORD, till(91, "canary_till")),),
    clients=(Client(KEY, SECRET, till(92, "canary_api_till")),),
)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def forms(value: str) -> set[str]:
    """Every encoding in which a secret could slip out."""
    return {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        base64.b64encode(value.encode()).decode(),
        base64.urlsafe_b64encode(value.encode()).decode(),
        base64.b64encode(value.encode()).decode().rstrip("="),
        md5(value),
        json.dumps(value)[1:-1],
        html.escape(value),
    }


def forbidden(tokens: list[str]) -> set[str]:
    basic = f"{USER}:{md5(PASSWORD)}"
    # The user name and the client key are identifiers, not secrets (issue 14 item 1): they
    # may show, e.g. in an echoed token request; the Basic value made from the name may not.
    out = set().union(*(forms(v) for v in (PASSWORD, SECRET, md5(PASSWORD), *tokens)))
    return out | forms(basic) | {f"Basic {base64.b64encode(basic.encode()).decode()}"}


def echo_page(seen: Seen) -> bytes:
    """What a careless error page shows: the credentials first (decoded Basic too), the request
    body (the token request's key and secret), then every other header."""
    headers = {name.lower(): value for name, value in seen.headers.items()}
    lines = [headers.pop("x-cap-api-oauth-token", ""), headers.pop("authorization", "")]
    if lines[1].startswith("Basic "):
        lines.insert(0, base64.b64decode(lines[1].split()[1]).decode())
    lines += [seen.body.decode(errors="replace"), *(f"{k}: {v}" for k, v in headers.items())]
    return ("<html><body><pre>" + " ".join(lines) + "</pre></body></html>").encode()


DENY: set[str] = set()  # when it holds "all", every request is answered 401 with the echo


def hostile(seen: Seen, n: int) -> Answer | None:
    """Error pages and envelopes that quote the request's credentials back."""
    html_page = {"Content-Type": "text/html"}
    if DENY:
        return Answer(401, echo_page(seen), html_page)
    if seen.path == comms(2163, 2318) or (seen.path in (TOKEN_PATH, comms(2170, 2401)) and n == 1):
        return Answer(502, echo_page(seen), html_page)
    if seen.path == comms(2163, 2319):  # a JSON error envelope that quotes them
        quoted = echo_page(seen).decode()
        errors = [{"code": 500, "message": f"bad credentials {quoted}"}]
        return Answer(
            500, json.dumps({"data": None, "errors": errors, "warnings": [quoted]}).encode()
        )
    return None


@pytest.fixture
def issued_tokens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sandbox issues canary tokens (one per request: they are stored by their hash)."""
    issued: list[str] = []
    counter = itertools.count(1)

    def canary_token(*_: object) -> str:
        issued.append(f"{TOKEN}.{next(counter):04d}canary")
        return issued[-1]

    monkeypatch.setattr(auth, "_new_token", canary_token)
    return issued


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize("kind", ["basic", "oauth"])
def test_canary_secrets_appear_in_no_output_report_plan_markdown_or_traceback(
    repo: Path,
    sandbox_factory: SandboxFactory,
    cli: Run,
    monkeypatch: pytest.MonkeyPatch,
    issued_tokens: list[str],
    kind: str,
) -> None:
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    for name, value in (
        ("CAPILLARY_USERNAME", USER),
        ("CAPILLARY_PASSWORD", PASSWORD),
        ("CAPILLARY_CLIENT_KEY", KEY),
        ("CAPILLARY_CLIENT_SECRET", SECRET),
        ("GITHUB_STEP_SUMMARY", str(repo / "summary.md")),
    ):
        monkeypatch.setenv(name, value)
    server = sandbox_factory(
        credentials=CANARY_LOGINS,
        token_ttl=1,  # renewed during the run: more tokens, more chances to leak
        ambiguous_rate=0.5,
        fail_rate=0.1,
        seed=5,
        exempt_paths=frozenset({TOKEN_PATH}),
        path_faults={comms(2170, 2402) + "/upsert": Fault.UNAUTHORIZED},
    )
    texts: list[str] = []
    with Proxy(server.url, hostile) as proxy:
        write_config(repo, proxy.url, auth=kind, readTimeout=2)
        for argv in (
            ("-v", "plan", "--format", "markdown", "--out", "plan.json"),
            ("-v", "plan"),
            ("-v", "drift", "--format", "markdown"),
            ("-v", "apply", "--auto-approve", "--report", "report.json"),
            ("-v", "apply", "--auto-approve", "--report", "report2.json"),
            ("-v", "drift"),
            ("-v", "export", "--all", "--out-dir", "exported"),
        ):
            code, out, err = cli(*argv)
            texts += [f"$ {' '.join(argv)} -> {code}", out, err]
        DENY.add("all")  # then the credentials stop working: errors, with tracebacks under -v
        try:
            for argv in (
                ("-v", "plan"),
                ("-v", "apply", "--auto-approve"),
                ("-v", "export", "--all"),
            ):
                code, out, err = cli(*argv)
                assert code == 1
                texts += [f"$ {' '.join(argv)} -> {code}", out, err]
        finally:
            DENY.clear()
        sent = [s.headers for s in proxy.seen]
    files = [p for p in repo.rglob("*") if p.is_file() and p.suffix in (".json", ".md", ".yaml")]
    texts += [p.read_text(errors="replace") for p in files if p.name != "reconciler.yaml"]

    # The canaries were really in play: they went over the wire and came back in answers.
    if kind == "oauth":
        assert issued_tokens
        assert any(h.get("x-cap-api-oauth-token") in issued_tokens for h in sent)
    else:
        assert any(h.get("authorization", "").startswith("Basic ") for h in sent)
    assert {"report.json", "plan.json", "summary.md"} <= {p.name for p in files}
    blob = "\n".join(texts)
    assert "Traceback" in blob  # -v printed tracebacks, and they are checked too
    leaked = sorted(form for form in forbidden(issued_tokens) if form in blob)
    assert not leaked, f"leaked {leaked}"
