"""``reconciler.rollback``: which targets a report lets rollback restore, what is refused, and
the restoration of one target, row by row."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.api.wire import Communication
from reconciler.errors import ApplyRefused, UsageError
from reconciler.history import ReportRequest, ReportTarget, RunReport
from reconciler.rollback import changed_since, chosen_targets, left_by_apply, restoration

E = "https://eu.api.capillarytech.com"


def _row(id_: int, kind: str = "START", **fields: Any) -> dict[str, Any]:
    base = {
        "id": id_,
        "communicationType": kind,
        "channelId": 2,
        "sender": "a@b.example",
        "subjectTemplate": "",
        "messageTemplate": "old",
        "offsetDays": 0,
        "active": True,
    }
    return {**base, **fields}


def _live(*rows: dict[str, Any]) -> list[Communication]:
    return [Communication.model_validate(row) for row in rows]


def _target(pre: list[dict[str, Any]], *answers: list[dict[str, Any]] | None) -> ReportTarget:
    return ReportTarget(
        targetGroupId=1,
        targetId=2,
        name="t",
        labels={"team": "crm"},
        targetGroupName="Spring",
        preImage=pre,
        requests=[ReportRequest(response=answer) for answer in answers],
    )


def test_only_targets_with_a_pre_image_and_matching_the_selection_are_chosen() -> None:
    written = _target([_row(1)])
    untouched = ReportTarget(targetGroupId=1, targetId=3, name="u")
    report = RunReport(
        formatVersion=1, environment="prod", endpoint=E, startedAt="", targets=[written, untouched]
    )
    assert chosen_targets(report, "prod", endpoint=E) == [written]
    assert chosen_targets(report, "prod", "Spring", ["team=crm"], endpoint=E) == [written]
    with pytest.raises(UsageError, match="no target of the report matches"):
        chosen_targets(report, "prod", 7, endpoint=E)
    with pytest.raises(ApplyRefused, match="run rollback with --env prod"):
        chosen_targets(report, "stage", endpoint=E)
    empty = RunReport(
        formatVersion=1, environment="prod", endpoint=E, startedAt="", targets=[untouched]
    )
    with pytest.raises(UsageError, match="holds no pre-image"):
        chosen_targets(empty, "prod", endpoint=E)
    eu = r"read from endpoint 'https://eu\.api\.capillarytech\.com', but"
    with pytest.raises(ApplyRefused, match=eu):
        chosen_targets(report, "prod", endpoint="https://us.api.capillarytech.com")
    unnamed = report.model_copy(update={"endpoint": None})
    with pytest.raises(ApplyRefused, match="read from no named endpoint"):
        chosen_targets(unnamed, "prod", endpoint=E)


def test_a_target_changed_after_the_apply_is_refused_and_one_unchanged_is_not() -> None:
    target = _target([_row(1)], [_row(1, messageTemplate="new"), _row(9, "FINISH")])
    left = _live(_row(1, messageTemplate="new"), _row(9, "FINISH"))
    assert left_by_apply(target) == left
    assert changed_since(target, left) is None
    edited = _live(_row(1, messageTemplate="UI edit"), _row(9, "FINISH"))
    assert changed_since(target, edited) == "t (1/2) (live state changed after that apply)"
    assert changed_since(target, _live(_row(1))) is None  # as it was: nothing to lose
    unknown = _target([_row(1)], None)
    assert "a request had no answer" in str(changed_since(unknown, left))


def test_restoration_updates_back_reactivates_deactivates_and_recreates() -> None:
    pre = [_row(1), _row(2, "FINISH", active=False), _row(3, "CHANGE"), _row(4, "REMINDER")]
    live = _live(
        _row(1, messageTemplate="new", offsetDays=2),  # updated by the apply
        _row(2, "FINISH", active=True, messageTemplate="on"),  # re-activated by it
        _row(3, "CHANGE", active=False),  # deactivated by it
        _row(9, "START", channelId=1),  # created by it
    )  # and id 4 is gone
    planned = restoration(_target(pre), live, {2: "EMAIL", 1: "SMS"})
    by_id = {c.id: c for c in planned.changes}
    assert by_id[1].action == "update"
    assert by_id[1].fields == ("messageTemplate", "offsetDays")
    assert by_id[1].after is not None
    assert by_id[1].after.messageTemplate == "old"
    assert by_id[2].action == "update"
    assert set(by_id[2].fields) == {"messageTemplate", "active"}
    assert by_id[3].action == "update"
    assert by_id[3].reason == "re-activation"
    assert by_id[9].action == "deactivate"
    assert by_id[9].reason == "created by the apply rolled back"
    (create,) = [c for c in planned.changes if c.action == "create"]
    assert create.key.communicationType == "REMINDER"
    assert planned.warnings == (
        "id 4 (REMINDER on EMAIL (channelId 2)) is gone; restored as a new row",
    )
    assert planned.matches(live)
