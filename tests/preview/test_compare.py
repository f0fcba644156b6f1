"""Pairing head and base communications; side-by-side changed lines."""

from __future__ import annotations

from reconciler.preview.compare import Communication, changed_lines


def _c(message: str, **fields: object) -> Communication:
    values: dict[str, object] = {
        "communication_type": "START",
        "channel": "SMS",
        "kind": "sms",
        "sender": "NW",
        "subject": "",
        "message": message,
        "offset_days": 0,
        "active": True,
        "source": "m.yaml:1:1",
    }
    values.update(fields)
    return Communication(**values)  # type: ignore[arg-type]


def test_changed_lines_pair_changes_additions_and_deletions() -> None:
    before = _c("one\ntwo\nthree")
    after = _c("one\n2\nthree\nfour", offset_days=1)
    rows = [r for r in changed_lines(before, after) if r[0] != "same"]
    assert rows == [
        ("change", "offsetDays: 0", "offsetDays: 1"),
        ("change", "  two", "  2"),
        ("add", "", "  four"),
    ]
    assert not _c("a").same(_c("a", active=False))
    assert _c("a").same(_c("a", source="elsewhere:9:9"))  # where it is written is no change
