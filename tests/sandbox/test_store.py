"""The store's out-of-band writes (a person in the UI) and its bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.sandbox import open_store
from reconciler.sandbox.envelope import ApiFailure
from reconciler.sandbox.tables import SEED_ACTOR, UI_ACTOR


def test_a_ui_edit_is_attributed_to_the_ui_user(sandbox_db: Path) -> None:
    store = open_store(sandbox_db)
    at = datetime(2026, 11, 2, 14, 3, 9, 250_000, tzinfo=UTC)
    edited = store.edit_communication(5102, subject_template="Hurry!", at=at)
    assert edited["subjectTemplate"] == "Hurry!"
    assert edited["messageTemplate"].startswith("{{first_name}}, 3 days left")  # kept
    assert edited["attribution"]["lastUpdatedBy"] == UI_ACTOR
    assert edited["attribution"]["createdBy"] == SEED_ACTOR
    assert edited["attribution"]["lastUpdatedOn"] == "2026-11-02T14:03:09.250+0000"
    assert store.communications(2163, 2317)[1] == edited


def test_a_ui_insert_can_make_a_duplicate(sandbox_db: Path) -> None:
    store = open_store(sandbox_db)
    made = store.put_communication(
        2163, 2317, communication_type="REMINDER", channel_id=1, offset_days=3,
        message_template="A second reminder", sender="NWREWARDS",
    )  # fmt: skip
    reminders = [
        c for c in store.communications(2163, 2317) if c["communicationType"] == "REMINDER"
    ]
    assert [c["id"] for c in reminders] == [5102, made["id"]]


def test_out_of_band_writes_are_validated_like_the_api(sandbox_db: Path) -> None:
    store = open_store(sandbox_db)
    with pytest.raises(ApiFailure, match="target 1 not found"):
        store.put_communication(
            2163, 1, communication_type="START", channel_id=1, message_template="m", sender="s"
        )
    with pytest.raises(ApiFailure, match="channel 7 does not exist"):
        store.put_communication(
            2163, 2317, communication_type="START", channel_id=7, message_template="m", sender="s"
        )
    with pytest.raises(KeyError):
        store.edit_communication(424242, active=False)


def test_read_lag_at_the_store(sandbox_db: Path) -> None:
    store = open_store(sandbox_db)
    store.edit_communication(5101, active=False)
    made = store.put_communication(
        2163, 2317, communication_type="START", channel_id=1, message_template="m", sender="s"
    )
    lagging = store.communications(2163, 2317, lag_ms=60_000)
    assert made["id"] not in [c["id"] for c in lagging]  # too young to be seen
    assert next(c for c in lagging if c["id"] == 5101)["active"] is True  # the old version
    assert len(store.communications(2163, 2317)) == 4  # without lag, everything


def test_closing_a_store_only_closes_its_connections(sandbox_db: Path) -> None:
    store = open_store(sandbox_db)
    store.log_request("GET", "/x", 200, actor="demo")
    store.close()
    assert [r.path for r in store.request_log()] == ["/x"]  # reopened on use
