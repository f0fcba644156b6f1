"""Authentication as SPEC §2: Basic with md5_hex(password), OAuth tokens that expire (issue 3)."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from reconciler.sandbox import (
    DEMO_CLIENT_KEY,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    Client,
    SandboxServer,
    User,
    basic_header,
)
from reconciler.sandbox.auth import (
    DEMO_CREDENTIALS,
    READONLY_CLIENT_KEY,
    READONLY_CLIENT_SECRET,
    md5_hex,
    till,
)
from tests.support.sandbox import BASIC, assert_error, comms, element, upsert

TOKEN_PATH = "/v3/oauth/token/generate"
TOKEN_HEADER = "X-CAP-API-OAUTH-TOKEN"


def token(
    server: SandboxServer, key: str = DEMO_CLIENT_KEY, secret: str = DEMO_CLIENT_SECRET
) -> str:
    response = httpx.post(f"{server.url}{TOKEN_PATH}", json={"key": key, "secret": secret})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["accessToken"])


def test_md5_matches_the_documented_vectors() -> None:
    assert md5_hex("123") == "202cb962ac59075b964b07152d234b70"
    assert md5_hex("server123") == "8a16a6b70505eb1f1ff7cdc0cd5559a7"


def test_basic_header_is_base64_of_user_and_password_md5() -> None:
    scheme, encoded = basic_header("till1", "server123").split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "till1:8a16a6b70505eb1f1ff7cdc0cd5559a7"


def test_basic_with_the_demo_login_is_accepted(client: httpx.Client) -> None:
    assert client.get("/v3/targetGroups").status_code == 200


def test_basic_accepts_an_uppercase_md5(sandbox: SandboxServer) -> None:
    raw = f"{DEMO_USERNAME}:{md5_hex(DEMO_PASSWORD).upper()}".encode()
    headers = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    assert httpx.get(f"{sandbox.url}/v3/targetGroups", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("authorization", "fragment"),
    [
        (basic_header(DEMO_USERNAME, "not-the-password"), "invalid username or password"),
        (basic_header("nobody", DEMO_PASSWORD), "invalid username or password"),
        # The plain password instead of its md5 is a classic mistake; it must fail.
        ("Basic " + base64.b64encode(f"{DEMO_USERNAME}:{DEMO_PASSWORD}".encode()).decode(),
         "invalid username or password"),
        ("Basic !!!not-base64!!!", "malformed Basic credentials"),
        ("Basic " + base64.b64encode(b"no-colon").decode(), "invalid username or password"),
        ("Bearer abc.def.ghi", "unsupported authorization scheme"),
    ],
)  # fmt: skip
def test_bad_basic_credentials_are_401(
    sandbox: SandboxServer, authorization: str, fragment: str
) -> None:
    response = httpx.get(f"{sandbox.url}/v3/targetGroups", headers={"Authorization": authorization})
    assert_error(response, 401, 401, fragment)
    assert DEMO_PASSWORD not in response.text


def test_oauth_token_is_issued_and_accepted(sandbox: SandboxServer) -> None:
    response = httpx.post(
        f"{sandbox.url}{TOKEN_PATH}", json={"key": DEMO_CLIENT_KEY, "secret": DEMO_CLIENT_SECRET}
    )
    document = response.json()
    assert response.status_code == 200
    assert document["errors"] is None
    assert document["data"]["ttlSeconds"] == 300
    access = document["data"]["accessToken"]
    assert access.count(".") == 2  # JWT-shaped, like Capillary's
    headers = {TOKEN_HEADER: access}
    assert httpx.get(f"{sandbox.url}/v3/targetGroups/channels", headers=headers).status_code == 200
    written = httpx.post(f"{sandbox.url}{upsert(2163, 2319)}", json=[element()], headers=headers)
    assert written.json()["data"][0]["attribution"]["createdBy"]["name"] == "demo_api_till"
    assert sandbox.store.request_log()[-1].actor == "demo_api_till"


def test_the_token_ttl_is_configurable(sandbox_factory) -> None:
    server = sandbox_factory(token_ttl=42)
    response = httpx.post(
        f"{server.url}{TOKEN_PATH}", json={"key": DEMO_CLIENT_KEY, "secret": DEMO_CLIENT_SECRET}
    )
    assert response.json()["data"]["ttlSeconds"] == 42


@pytest.mark.parametrize(
    "body",
    [
        {"key": DEMO_CLIENT_KEY, "secret": "wrong"},
        {"key": "wrong", "secret": DEMO_CLIENT_SECRET},
        {"key": "ключ", "secret": "секрет"},  # non-ASCII must not break the comparison
    ],
)
def test_wrong_client_credentials_get_no_token(
    sandbox: SandboxServer, body: dict[str, str]
) -> None:
    response = httpx.post(f"{sandbox.url}{TOKEN_PATH}", json=body)
    assert_error(response, 401, 401, "Failed to generate OAuth token")


def test_a_malformed_token_request_is_400(sandbox: SandboxServer) -> None:
    response = httpx.post(f"{sandbox.url}{TOKEN_PATH}", json={"key": DEMO_CLIENT_KEY})
    assert_error(response, 400, 300004, "body.secret: field required")


def test_an_expired_token_is_401(sandbox: SandboxServer) -> None:
    headers = {TOKEN_HEADER: token(sandbox)}
    assert httpx.get(f"{sandbox.url}{comms()}", headers=headers).status_code == 200
    sandbox.store.expire_tokens()
    response = httpx.get(f"{sandbox.url}{comms()}", headers=headers)
    assert_error(response, 401, 401, "OAuth token expired")


def test_a_token_expires_after_its_ttl(sandbox_factory) -> None:
    server = sandbox_factory(token_ttl=1)
    headers = {TOKEN_HEADER: token(server)}
    assert httpx.get(f"{server.url}{comms()}", headers=headers).status_code == 200
    time.sleep(1.05)
    assert_error(httpx.get(f"{server.url}{comms()}", headers=headers), 401, 401, "expired")
    renewed = {TOKEN_HEADER: token(server)}
    assert httpx.get(f"{server.url}{comms()}", headers=renewed).status_code == 200


def test_an_unknown_token_is_401(sandbox: SandboxServer) -> None:
    response = httpx.get(f"{sandbox.url}{comms()}", headers={TOKEN_HEADER: "a.b.c"})
    assert_error(response, 401, 401, "invalid OAuth token")


def test_tokens_survive_a_restart_but_are_stored_hashed(sandbox_factory, sandbox_db) -> None:
    first = sandbox_factory()
    access = token(first)
    first.stop()
    second = sandbox_factory()
    assert httpx.get(f"{second.url}{comms()}", headers={TOKEN_HEADER: access}).status_code == 200
    stored = b"".join(p.read_bytes() for p in sandbox_db.parent.glob("sandbox.db*"))
    assert access.encode() not in stored
    assert access.rsplit(".", 1)[1].encode() not in stored


def test_a_read_only_client_may_read_but_not_write(sandbox: SandboxServer) -> None:
    headers = {TOKEN_HEADER: token(sandbox, READONLY_CLIENT_KEY, READONLY_CLIENT_SECRET)}
    assert httpx.get(f"{sandbox.url}{comms()}", headers=headers).status_code == 200
    response = httpx.post(f"{sandbox.url}{upsert()}", json=[element()], headers=headers)
    assert_error(response, 403, 403, "access denied")


def test_extra_credentials_can_be_configured(sandbox_factory) -> None:
    auditor = User("auditor", "audit-pass", till(900, "auditor"), can_write=False)
    robot = Client("robot-key", "robot-secret", till(901, "robot_till"))
    server = sandbox_factory(credentials=DEMO_CREDENTIALS.plus(auditor, robot))
    audit = {"Authorization": basic_header("auditor", "audit-pass")}
    assert httpx.get(f"{server.url}{comms()}", headers=audit).status_code == 200
    assert httpx.post(f"{server.url}{upsert()}", json=[element()], headers=audit).status_code == 403
    headers = {TOKEN_HEADER: token(server, "robot-key", "robot-secret")}
    written = httpx.post(f"{server.url}{upsert(2163, 2319)}", json=[element()], headers=headers)
    assert written.json()["data"][0]["attribution"]["createdBy"]["code"] == "robot_till"
    assert httpx.get(f"{server.url}{comms()}", headers=BASIC).status_code == 200  # demo still works


def test_credentials_are_never_shown_in_reprs() -> None:
    shown = repr(DEMO_CREDENTIALS)
    for secret in (DEMO_PASSWORD, DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET, md5_hex(DEMO_PASSWORD)):
        assert secret not in shown
