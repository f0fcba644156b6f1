"""Export keeps the live row the planner keeps: ``planner.pick_match`` is the one rule, and a
timestamp without an offset is UTC there, never local time (issue 15)."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.api.wire import Attribution, Communication
from reconciler.cli import main
from reconciler.export.build import choose
from reconciler.planner import pick_match
from reconciler.sandbox.tables import CommunicationSeed
from tests.support.cli import PASSWORD, USERNAME, write_config

# Five hours behind UTC all year (POSIX rule, no time zone database needed): a naive 10:00
# read as local time is 15:00 UTC, later than 12:00 UTC; read as UTC it is earlier.
BEHIND_UTC = "XST+05"


@pytest.fixture
def local_time_behind_utc() -> Iterator[None]:
    """The process's local time zone is ``BEHIND_UTC`` for the test, then what it was."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = BEHIND_UTC
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def _row(id_: int, updated: datetime) -> Communication:
    # model_construct keeps a naive timestamp naive (validation would make it UTC), as a
    # library caller's own Reader may hand it over.
    return Communication(
        id=id_,
        communicationType="START",
        channelId=2,
        messageTemplate="hi",
        sender="a@example.com",
        attribution=Attribution.model_construct(lastUpdatedOn=updated),
    )


def test_a_naive_timestamp_is_utc_when_export_chooses_among_live_duplicates(
    local_time_behind_utc: None,
) -> None:
    naive = _row(7001, datetime(2024, 1, 1, 10, 0))  # 10:00 UTC
    aware = _row(7002, datetime(2024, 1, 1, 12, 0, tzinfo=UTC))
    # The case is sharp: read as local time, the naive row would be the newer one.
    assert (
        datetime(2024, 1, 1, 10, 0).timestamp()
        > datetime(2024, 1, 1, 12, 0, tzinfo=UTC).timestamp()
    )
    for live in ([naive, aware], [aware, naive]):
        chosen, warnings, duplicates = choose(live, include_inactive=False)
        match, others = pick_match(live)
        assert [c.id for c in chosen] == [7002]
        assert match is aware
        assert others == [naive]
        assert duplicates
        assert warnings == [
            "live duplicates of START on channelId 2: exported id 7002; the first plan "
            "deactivates ids 7001 (a declared key keeps exactly one active communication)"
        ]


GROUP, TARGET = 93001, 93002


def test_export_and_plan_keep_the_same_row_over_http(
    tmp_path: Path,
    sandbox: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    local_time_behind_utc: None,
) -> None:
    """Two live duplicates, one with a timestamp without an offset: export keeps one, and the
    plan of the exported manifest keeps that one and deactivates the other."""
    store = sandbox.store  # type: ignore[attr-defined]
    store.add_group(GROUP, "Clock Group")
    store.add_target(GROUP, TARGET, "Clock Target")
    common = {"communication_type": "START", "channel_id": 2, "sender": "a@example.com"}
    store.add_communications(
        [
            CommunicationSeed(
                GROUP,
                TARGET,
                id=7001,
                message_template="naive",
                last_updated_on="2024-01-01T10:00:00",
                **common,
            ),
            CommunicationSeed(
                GROUP,
                TARGET,
                id=7002,
                message_template="aware",
                last_updated_on="2024-01-01T12:00:00.000+0000",
                **common,
            ),
        ]
    )
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, sandbox.url)  # type: ignore[attr-defined]
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)

    assert main(["export", "--target-group", str(GROUP), "--out-dir", "exported"]) == 0
    err = capsys.readouterr().err
    exported = re.search(r"exported id (\d+); the first plan deactivates ids (\d+)", err)
    assert exported is not None, err
    assert exported.groups() == ("7002", "7001")
    (file,) = (tmp_path / "exported").rglob("*.yaml")
    assert "messageTemplate: aware" in file.read_text()

    assert main(["plan", "--format", "json", "exported"]) == 0
    plan = json.loads(capsys.readouterr().out)
    (target,) = plan["targets"]
    kept = [c["id"] for c in target["changes"] if c["action"] != "deactivate"]
    deactivated = [c["id"] for c in target["changes"] if c["action"] == "deactivate"]
    assert (kept, deactivated) == ([7002], [7001])
