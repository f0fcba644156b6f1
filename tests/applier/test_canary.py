"""What the canary's re-read proves wrong about SPEC §2's assumptions (SPEC §9, issue 16): each
failure names the assumption and the fix; what a server may do within them (normalise text, hide a
row written inactive, lag behind) is no violation."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.applier import canary
from reconciler.applier.canary import Violation, behind, check, from_failure

CONFIGS = [{"name": "senderName", "value": "Northwind"}]
TEXT = {"sender": "S", "subjectTemplate": "", "offsetDays": 0}


def row(id: int, kind: str = "START", channel: int = 1, **fields: Any) -> Communication:
    values = {"messageTemplate": f"m{id}", "active": True, **TEXT, **fields}
    return Communication.model_validate(
        {"id": id, "communicationType": kind, "channelId": channel, **values}
    )


def sent(source: Communication | None = None, **fields: Any) -> CommunicationWrite:
    if source is None:
        values = {"communicationType": "FINISH", "channelId": 1, "messageTemplate": "new"}
        return CommunicationWrite(**{"active": True, **TEXT, **values, **fields})
    values = source.model_dump(include=set(CommunicationWrite.model_fields) - {"echo"})
    return CommunicationWrite(**{**values, **fields})


BEFORE = [row(1, configs=CONFIGS), row(2, "REMINDER"), row(3, "CHANGE", 2)]
UPDATE = sent(BEFORE[0], messageTemplate="updated")
CREATE = sent()
AFTER = [
    row(1, messageTemplate="updated", configs=CONFIGS),
    row(2, "REMINDER"),
    row(3, "CHANGE", 2),
    row(4, "FINISH", messageTemplate="new"),
]


def test_a_write_as_assumed_passes() -> None:
    assert check(BEFORE, [UPDATE, CREATE], AFTER) is None
    assert not behind(BEFORE, [UPDATE, CREATE], AFTER)


def test_rows_left_out_of_the_body_that_became_inactive_fail_the_merge_assumption() -> None:
    after = [*AFTER[:1], row(2, "REMINDER", active=False), *AFTER[2:]]
    found = check(BEFORE, [UPDATE, CREATE], after)
    assert found == Violation(
        "the upsert kept rows left out of the body", "id 2 left out of the body became inactive"
    )
    message = found.message("one (1/10)")
    assert message == (
        "canary on one (1/10): assumption failed: the upsert kept rows left out of the body "
        "(id 2 left out of the body became inactive); no other target was written: run "
        "`reconciler probe`, commit its contract file, and apply again"
    )


def test_rows_left_out_that_are_gone_fail_it_too() -> None:
    found = check(BEFORE, [UPDATE, CREATE], [AFTER[0], AFTER[3]])
    assert found is not None
    assert found.detail == "ids 2, 3 left out of the body are gone (deleted, or hidden)"
    one = check(BEFORE, [UPDATE, CREATE], [AFTER[0], AFTER[2], AFTER[3]])
    assert one is not None
    assert one.detail.endswith("left out of the body is gone (deleted, or hidden)")


def test_an_update_that_emptied_configs_fails_the_server_fields_assumption() -> None:
    after = [row(1, messageTemplate="updated", configs=[]), *AFTER[1:]]
    found = check(BEFORE, [UPDATE, CREATE], after)
    assert found is not None
    assert found.assumption == canary.KEEPS_SERVER_FIELDS
    assert found.detail == "id 1 lost configs"
    assert found.lost_server_fields == {1: {"configs": CONFIGS}}


def test_a_write_that_landed_on_another_row_fails_the_id_assumption() -> None:
    """A key- or type-matching server writes the update into the row it finds."""
    after = [row(1, configs=CONFIGS), row(2, "REMINDER", messageTemplate="updated"), *AFTER[2:]]
    found = check(BEFORE, [UPDATE, CREATE], after)
    assert found is not None
    assert found.assumption == canary.UPDATES_BY_ID
    assert found.detail == "id 2, not in the body, changed"


def test_an_update_that_inserted_instead_fails_the_id_assumption() -> None:
    after = [*BEFORE, row(4, "FINISH", messageTemplate="new"), row(5, messageTemplate="updated")]
    found = check(BEFORE, [UPDATE, CREATE], after)
    assert found is not None
    assert found.assumption == canary.UPDATES_BY_ID
    assert found.detail.startswith("id 1 does not hold what was sent (messageTemplate)")


def test_a_create_that_made_no_row_or_two_fails_the_insert_assumption() -> None:
    found = check(BEFORE, [CREATE], BEFORE)
    assert found is not None
    assert found.assumption == canary.INSERTS_WITHOUT_ID
    assert found.detail == "the create of FINISH on channelId 1 made 0 rows"
    twice = [
        *BEFORE,
        row(4, "FINISH", messageTemplate="new"),
        row(5, "FINISH", messageTemplate="new"),
    ]
    found = check(BEFORE, [CREATE], twice, {1: "SMS"})
    assert found is not None
    assert found.detail == "the create of FINISH on SMS (channelId 1) made 2 rows"


def test_a_row_written_inactive_may_disappear_and_text_may_be_normalised() -> None:
    deactivate = sent(BEFORE[2], active=False)
    normalised = sent(BEFORE[0], messageTemplate="updated  \r\n")
    after = [row(1, messageTemplate="updated\n", configs=CONFIGS), BEFORE[1]]
    assert check(BEFORE, [normalised, deactivate], after) is None


def test_a_re_read_that_still_shows_the_old_rows_is_read_again_before_it_is_judged() -> None:
    assert behind(BEFORE, [UPDATE], BEFORE)
    assert behind(BEFORE, [CREATE], BEFORE)
    assert not behind(BEFORE, [UPDATE], AFTER)


@pytest.mark.parametrize(
    ("message", "refused", "assumption", "proven"),
    [
        ("HTTP 400: the body must be one JSON object", True, canary.TAKES_ARRAY, True),
        ("API returned an inconsistent result: ...", False, canary.STORED_AS_SENT, True),
        ("HTTP 503: gave up after 5 attempts", False, "the upsert behaves as assumed", False),
    ],
)
def test_a_failed_canary_write_names_what_it_shows(
    message: str, refused: bool, assumption: str, proven: bool
) -> None:
    found = from_failure(message, refused=refused)
    assert (found.assumption, found.detail, found.proven) == (assumption, message, proven)
    verdict = "assumption failed" if proven else "could not confirm"
    assert found.message("t").startswith(f"canary on t: {verdict}: {assumption} ({message})")


def test_a_duplicate_the_recovery_made_and_deactivated_is_no_second_row() -> None:
    """An ambiguous create was sent again after the settle delay and both landed; recovery
    deactivated the second (its id is among the writes sent)."""
    doubled = [*AFTER, row(5, "FINISH", messageTemplate="new", active=False)]
    undo = sent(doubled[-1], active=False)
    assert check(BEFORE, [UPDATE, CREATE, CREATE, undo], doubled) is None
