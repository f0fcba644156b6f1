"""Choosing the live row a key matches (SPEC §4): the one rule the planner and the applier share."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from reconciler.api.wire import Attribution, Communication
from reconciler.matching import key_of, pick_match


def row(id: int, when: datetime | None, active: bool = True) -> Communication:
    return Communication(
        id=id, communicationType="START", channelId=1, sender="S", subjectTemplate="",
        messageTemplate="m", offsetDays=0, active=active,
        attribution=Attribution(lastUpdatedOn=when) if when else None,
    )  # fmt: skip


NOON = datetime(2026, 3, 1, 12, 0)  # naive


def test_the_newest_active_row_is_the_match_and_the_other_active_ones_are_returned() -> None:
    a, b, c = row(1, NOON), row(2, NOON + timedelta(minutes=1)), row(3, NOON, active=False)
    assert pick_match([b, a, c]) == (b, [a])
    tie = row(4, NOON)
    assert pick_match([tie, a]) == (tie, [a])  # a tie goes to the higher id
    undated = row(9, None)
    assert pick_match([undated, a]) == (a, [undated])  # no timestamp is older than any


def test_without_an_active_row_the_newest_inactive_one_is_the_match() -> None:
    old, new = row(1, NOON, active=False), row(2, NOON + timedelta(days=1), active=False)
    assert pick_match([new, old]) == (new, [])
    assert pick_match([]) == (None, [])


def test_a_naive_timestamp_is_read_as_utc_never_as_local_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """12:00 naive is 12:00 UTC, so it is newer than 12:30 at UTC+1 (11:30 UTC); read as local
    time in India (06:30 UTC) it would be the older one. (The wire model already reads naive
    timestamps as UTC; this row bypasses it, as a row built in code may.)"""
    naive = row(1, None).model_copy(
        update={"attribution": Attribution.model_construct(lastUpdatedOn=NOON)}
    )
    aware = row(2, NOON.replace(minute=30, tzinfo=timezone(timedelta(hours=1))))
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert pick_match([naive, aware]) == (naive, [aware])
    finally:
        monkeypatch.undo()
        time.tzset()


def test_keys_are_shared_and_odd_values_still_validated() -> None:
    assert key_of("START", 1) is key_of("START", 1)
    assert key_of("START", True) is not key_of("START", 1)  # True is not channel 1
