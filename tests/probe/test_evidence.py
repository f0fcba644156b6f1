"""Reading the probe's raw answers tolerantly, and recording exchanges as scrubbed evidence."""

from __future__ import annotations

import json

import pytest

from reconciler.api.endpoints import Exchange
from reconciler.probe.evidence import entry, errors_of, read_row, rows_of, whole
from reconciler.redact import register


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        ("5101", 5101),
        (" 7 ", 7),
        ("-3", -3),
        (True, None),
        ("5.0", None),
        ("--5", None),
        (None, None),
    ],
)
def test_whole_reads_integers_and_their_digits(value: object, expected: int | None) -> None:
    assert whole(value) == expected


def test_rows_are_read_from_a_list_or_one_object_and_unreadable_ones_are_skipped() -> None:
    one = {"id": "12", "communicationType": "START", "channelId": "2", "active": True}
    assert [r.id for r in rows_of({"data": [one, {"id": None}, "x"]})] == [12]
    row = rows_of({"data": one})[0]  # an object-body server answers one object
    assert (row.id, row.key, row.active, row.message) == (12, ("START", 2), True, "")
    assert rows_of({"data": None}) == []
    assert rows_of("<html>") == []


def test_a_row_becomes_an_element_of_the_tools_fields_only() -> None:
    row = read_row(
        {
            "id": "9",
            "communicationType": "FINISH",
            "channelId": "1",
            "messageTemplate": "m",
            "sender": "S",
            "subjectTemplate": None,
            "offsetDays": "2",
            "active": True,
            "configs": [{"name": "a", "value": "b"}],
            "attribution": {},
        }
    )
    assert row is not None
    assert row.has_configs()
    assert row.server_fields() == {"configs": [{"name": "a", "value": "b"}]}
    assert row.element(active=False, messageTemplate="n") == {
        "id": 9,
        "active": False,
        "channelId": 1,
        "communicationType": "FINISH",
        "messageTemplate": "n",
        "offsetDays": 2,
        "sender": "S",
        "subjectTemplate": "",
    }


def test_errors_of_lists_the_envelopes_messages() -> None:
    body = {"errors": [{"code": 300004, "message": "bad"}, {"message": "worse"}, "raw"]}
    assert errors_of(body) == "code 300004: bad; worse; raw"
    assert errors_of({"errors": None}) == ""


def test_an_evidence_entry_scrubs_every_string_sent_and_answered() -> None:
    register("s3cret-probe-value")
    exchange = Exchange(
        "POST",
        "/v3/targetGroups/1/targets/2/communications/upsert",
        400,
        [{"messageTemplate": "x s3cret-probe-value y", "s3cret-probe-value": 1}],
        {"errors": [{"code": 1, "message": "Authorization: Basic s3cret-probe-value"}]},
    )
    recorded = entry(7, "a step", exchange)
    assert (recorded["step"], recorded["status"], recorded["request"]) == (
        7,
        400,
        "POST /v3/targetGroups/1/targets/2/communications/upsert",
    )
    text = json.dumps(recorded)
    assert "s3cret-probe-value" not in text
    assert text.count("***") == 3


def test_a_read_entry_shows_only_the_rows_it_is_given() -> None:
    answer = {
        "data": [{"id": 1, "messageTemplate": "theirs"}, {"id": 2, "messageTemplate": "mine"}]
    }
    exchange = Exchange("GET", "/v3/targetGroups/1/targets/2/communications", 200, None, answer)
    recorded = entry(3, "read", exchange, shown=rows_of(answer)[1:])
    assert recorded["answer"] == {"data": [{"id": 2, "messageTemplate": "mine"}]}
    assert recorded["note"] == "2 rows; the probe's rows shown"
    assert "body" not in recorded
