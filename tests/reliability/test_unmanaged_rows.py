"""Issue 14 item 8 (SPEC §4): prune deactivates only what a manifest could declare.

A live communication whose ``communicationType`` is not one the schema knows (BIRTHDAY), or
whose channel is not in the channel list (so no ``channel``/``channelId`` can name it), is
read without error, never deactivated (prune on), and listed as "not managed" in every plan
format. The target's other communications plan and apply as usual.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.sandbox.seed import EMAIL as DEMO_EMAIL
from reconciler.sandbox.tables import CommunicationSeed
from tests.conftest import SandboxFactory
from tests.support.cli import Run, write_config
from tests.support.fake_capillary import EMAIL, GROUP, SMS, TARGET, FakeCapillary, row
from tests.support.manifests import communication, manifest
from tests.support.sandbox import writes

LIVE = [
    row(1, "START", EMAIL, "old start", subjectTemplate="Hi"),
    row(2, "BIRTHDAY", EMAIL, "Happy birthday!", subjectTemplate="For you"),
    row(3, "START", 7, "Welcome on a channel the list does not have"),
    row(4, "REMINDER", SMS, "undeclared: pruned"),
    row(5, "start", SMS, "a type in another case is another type"),
    row(6, 7, SMS, "a type code the API documentation does not list"),
    row(8, None, SMS, "no type at all"),
]
WANTED = [communication("START", EMAIL, "new start", subject="Hi")]


@pytest.fixture
def api(repo: Path) -> FakeCapillary:
    (repo / "manifests" / "t.yaml").write_text(manifest("t", GROUP, TARGET, WANTED, prune=True))
    return FakeCapillary(LIVE)


def test_rows_the_schema_cannot_express_are_never_pruned(
    repo: Path, cli: Run, api: FakeCapillary
) -> None:
    with api.serve() as url:
        write_config(repo, url)
        code, out, err = cli("plan", "--format", "json")
        assert code == 0, err
        document = json.loads(out)
        (target,) = document["targets"]
        assert target["readable"] is True
        changed = {(c["action"], c["id"]) for c in target["changes"] if c["action"] != "noop"}
        assert changed == {("update", 1), ("deactivate", 4)}
        warnings = "\n".join(document["warnings"])
        assert "not managed: unknown type BIRTHDAY" in warnings
        assert "not managed: unknown type start" in warnings
        assert "not managed: unknown channel id 7" in warnings
        assert "not managed: unknown type 7 on SMS (channelId 1) (id 6)" in warnings
        assert 'not managed: unknown type "" on SMS (channelId 1) (id 8)' in warnings

        code, text, err = cli("plan")
        assert code == 0, err
        assert "not managed: unknown type BIRTHDAY" in text
        assert "BIRTHDAY" not in "".join(line for line in text.splitlines() if "deactivate" in line)
        code, markdown, err = cli("plan", "--format", "markdown")
        assert code == 0, err
        assert "not managed: unknown type BIRTHDAY" in markdown

        code, out, err = cli("apply", "--auto-approve")
        assert code == 0, out + err
        (body,) = api.writes()
        assert sorted(e["id"] for e in body) == [1, 4]
        assert {r["id"] for r in api.rows if r["active"]} == {1, 2, 3, 5, 6, 8}


def test_the_fingerprint_covers_unmanaged_rows_and_stays_deterministic(
    repo: Path, cli: Run, api: FakeCapillary
) -> None:
    with api.serve() as url:
        write_config(repo, url)
        first = json.loads(cli("plan", "--format", "json")[1])
        api.rows.reverse()  # another answer order: the same plan
        second = json.loads(cli("plan", "--format", "json")[1])
        api.rows[0]["messageTemplate"] += "!"  # an unmanaged row changed: another fingerprint
        third = json.loads(cli("plan", "--format", "json")[1])
    del first["generatedAt"], second["generatedAt"], third["generatedAt"]
    assert first == second
    assert first["targets"][0]["fingerprint"] != third["targets"][0]["fingerprint"]


def test_the_sandbox_serves_an_unknown_type_and_plan_leaves_it_alone(
    repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    server = sandbox_factory()
    server.store.add_communications(
        [CommunicationSeed(2163, 2319, "BIRTHDAY", DEMO_EMAIL, "Happy birthday!", "club@x.example")]
    )
    entries = [communication("START", DEMO_EMAIL, "Share your code.", subject="In")]
    (repo / "manifests" / "t.yaml").write_text(manifest("referrals", 2163, 2319, entries))
    write_config(repo, server.url)
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "not managed: unknown type BIRTHDAY" in out
    (write,) = writes(server.store.request_log())
    assert write.status == 200
    live = server.store.communications(2163, 2319)
    assert [(c["communicationType"], c["active"]) for c in live] == [
        ("BIRTHDAY", True),
        ("START", True),
    ]
