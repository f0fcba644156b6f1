"""Issue 14 item 1: masking never alters product data.

The Basic user name is ``northwind``, and the manifests' sender and templates say ``northwind``
too, along with lines shaped like credential headers (``Authorization: Bearer x``,
``cookie=abc``, ``password: hunter2``) and even the base64 of the user name, which starts the
Basic header value. The user name is an identifier, not a secret; the header-shaped lines are
customer text. Every product output (plan text, JSON and markdown, the saved plan, the step
summary, drift, the apply report's bodies) shows them byte for byte, and
``plan --format json > p.json; apply --plan p.json`` writes exactly the manifests' text to the
API (read back over HTTP). Today the scrubber ran over all of them: ``club@***.example`` was
written to the live system.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox import User
from reconciler.sandbox.auth import DEMO_CREDENTIALS, till
from reconciler.sandbox.seed import EMAIL, SMS
from tests.conftest import SandboxFactory
from tests.support.cli import Run, write_config
from tests.support.manifests import communication, manifest
from tests.support.sandbox import comms

USERNAME = "northwind"
PASSWORD = "nw-till-pass-4417"
SENDER = "club@northwind.example"
# base64("northwind") is the first 12 characters of the Basic header value of this user.
NAME_B64 = base64.b64encode(USERNAME.encode()).decode()
SUBJECT = f"northwind news: Authorization: Basic {NAME_B64}"
MESSAGE = (
    "Hi {{first_name}}, greetings from northwind!\n"
    "Authorization: Bearer x\n"
    "cookie=abc; session=northwind\n"
    "X-CAP-API-OAUTH-TOKEN: tok-northwind-0001\n"
    'password: hunter2, "secret": "s3", accessToken=t0k\n'
    "Write to club@northwind.example or northwind%40example, "
    f"basic {NAME_B64}"
)
SMS_MESSAGE = "northwind: cookie=abc; Authorization: Basic bm9ydGh3aW5kOg=="
GROUP, TARGET = 2163, 2317
WANTED = [
    communication("START", EMAIL, MESSAGE, sender=SENDER, subject=SUBJECT),
    communication("CHANGE", SMS, SMS_MESSAGE, sender="NORTHWIND"),
]
PIECES = [SENDER, SUBJECT, SMS_MESSAGE, *MESSAGE.splitlines()]


def basic_header() -> str:
    digest = hashlib.md5(PASSWORD.encode()).hexdigest()
    return "Basic " + base64.b64encode(f"{USERNAME}:{digest}".encode()).decode()


def keys_of(node: object) -> list[str]:
    if isinstance(node, dict):
        return [*node, *(k for v in node.values() for k in keys_of(v))]
    if isinstance(node, list):
        return [k for v in node for k in keys_of(v)]
    return []


def live(url: str) -> list[dict[str, object]]:
    headers = {"Authorization": basic_header()}
    answer = httpx.get(url + comms(GROUP, TARGET), headers=headers)
    answer.raise_for_status()
    rows: list[dict[str, object]] = answer.json()["data"]
    return rows


def assert_verbatim(label: str, text: str) -> None:
    missing = [piece for piece in PIECES if piece not in text]
    assert not missing, f"{label}: altered or missing {missing!r}"


def changes_of(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for t in plan["targets"] for c in t["changes"]]


def assert_plan_json(label: str, text: str) -> None:
    afters = [c["after"] for c in changes_of(json.loads(text)) if c.get("after")]
    for entry in WANTED:
        assert any(all(after.get(k) == v for k, v in entry.items()) for after in afters), (
            f"{label}: no change carries {entry['communicationType']} verbatim"
        )


@pytest.mark.parametrize("verbose", [False, True])
def test_username_and_header_shaped_text_survive_every_output_and_apply_of_a_stdout_plan(
    repo: Path,
    sandbox_factory: SandboxFactory,
    cli: Run,
    monkeypatch: pytest.MonkeyPatch,
    verbose: bool,
) -> None:
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(repo / "summary.md"))
    user = User(USERNAME, PASSWORD, till(93, "northwind_till"))
    server = sandbox_factory(credentials=DEMO_CREDENTIALS.plus(user))
    write_config(repo, server.url)
    (repo / "manifests" / "northwind.yaml").write_text(
        manifest("northwind-news", GROUP, TARGET, WANTED, prune=False)
    )
    flags = ("-v",) if verbose else ()

    code, text_plan, err = cli(*flags, "plan")
    assert code == 0, err
    assert_verbatim("plan (text)", text_plan)
    code, markdown, err = cli(*flags, "plan", "--format", "markdown", "--out", "saved.json")
    assert code == 0, err
    assert_verbatim("plan (markdown)", markdown)
    assert_plan_json("saved plan", (repo / "saved.json").read_text())
    code, drift, err = cli(*flags, "drift", "--format", "markdown")
    assert code == 2, err
    assert_verbatim("drift (markdown)", drift)
    code, json_plan, err = cli(*flags, "plan", "--format", "json", "--out", "same.json")
    assert code == 0, err
    assert_plan_json("plan (json)", json_plan)
    assert json_plan == (repo / "same.json").read_text()  # stdout and --out: the same bytes
    (repo / "p.json").write_text(json_plan)

    code, out, err = cli(
        *flags, "apply", "--plan", "p.json", "--auto-approve", "--report", "r.json"
    )
    assert code == 0, out + err
    assert_verbatim("apply", out)
    summary = (repo / "summary.md").read_text()
    assert_verbatim("step summary", summary)
    report = json.loads((repo / "r.json").read_text())
    exchanges = [x for t in report["targets"] for x in t["requests"]]
    sent = [w for x in exchanges for w in x["sent"]]
    answered = [w for x in exchanges for w in x["response"] or []]
    for entry in WANTED:
        for bodies, what in ((sent, "sent"), (answered, "response")):
            assert any(all(body.get(k) == v for k, v in entry.items()) for body in bodies), (
                f"report {what}: {entry['communicationType']} not verbatim"
            )
    # The report records bodies only: never a header, never the Basic credential.
    assert not {"headers", "authorization"} & {k.lower() for k in keys_of(report)}
    assert basic_header().split()[1] not in (repo / "r.json").read_text()

    # What the API now holds is exactly the manifests' text.
    rows = [r for r in live(server.url) if r["active"]]
    for entry in WANTED:
        matches = [
            r
            for r in rows
            if (r["communicationType"], r["channelId"])
            == (entry["communicationType"], entry["channelId"])
        ]
        assert len(matches) == 1
        for name, value in entry.items():
            assert matches[0][name] == value, name
    # And the next plan agrees: nothing to change.
    code, out, err = cli(*flags, "plan", "--detailed-exitcode")
    assert code == 0, out + err
