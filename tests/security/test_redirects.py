"""Issue 10 case 10 (SPEC §7): a redirect from the API to another host is never followed, so
the token header (or the token request's key and secret) never reaches that host.

The CLI runs with OAuth through a proxy that redirects one request to a second loopback
"host" (127.0.0.2) that records whatever reaches it. ``tests/api/test_calls.py``
pins the client's side.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from reconciler.sandbox.faults import TOKEN_PATH
from tests.support.cli import Run, write_config
from tests.support.sandbox import comms
from tests.support.servers import Answer, Proxy, Seen

ROOT = Path(__file__).resolve().parents[2]
SECRET = "redirect-canary-secret-31"


@pytest.mark.parametrize(
    ("status", "path", "command"),
    [
        (307, TOKEN_PATH, "plan"),
        (302, comms(2163, 2318), "plan"),
        (301, "/v3/targetGroups", "drift"),
        (308, comms(2163, 2317) + "/upsert", "apply"),
        (303, comms(2163, 2319) + "/upsert", "apply"),
    ],
    ids=["307-token-request", "302-read", "301-first-read", "308-write", "303-write"],
)
def test_a_redirect_to_another_host_is_not_followed_and_the_token_never_leaves(
    repo: Path,
    sandbox: SandboxServer,
    cli: Run,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    path: str,
    command: str,
) -> None:
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    monkeypatch.setenv("CAPILLARY_CLIENT_KEY", "demo-key")
    monkeypatch.setenv("CAPILLARY_CLIENT_SECRET", "demo-secret")
    with Proxy(sandbox.url, lambda seen, n: None, host="127.0.0.2") as elsewhere:

        def redirect(seen: Seen, n: int) -> Answer | None:
            if seen.path != path:
                return None
            return Answer(status, b"", {"Location": f"{elsewhere.url}{path}?via={SECRET}"})

        with Proxy(sandbox.url, redirect) as api:
            write_config(repo, api.url, auth="oauth")
            args = ["--auto-approve"] if command == "apply" else []
            code, out, err = cli("-v", command, *args)
            redirected = [s for s in api.seen if s.path == path]
        reached = list(elsewhere.seen)

    assert code == 1
    assert redirected  # the API really answered with the redirect ...
    assert reached == []  # ... and nothing, least of all a token, went where it pointed
    assert (
        f"HTTP {status}: the server answered with a redirect, which is never followed" in out + err
    )
    assert SECRET not in out + err  # the Location is not echoed either
    assert len(redirected) == 1  # not retried: a redirect will not go away by itself
