"""Pairing head and base communications; side-by-side changed lines."""

from __future__ import annotations

from reconciler.preview.compare import DIFF_CELLS, Communication, changed_lines


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


def test_long_messages_are_compared_line_by_line_in_order() -> None:
    """Past DIFF_CELLS line pairs the lines between the common head and tail are paired in
    order (difflib's alignment is quadratic in repeated lines: benchmarks/preview_page.py
    --dense times it; this checks the rows)."""
    n = 1500
    lines = ["x"] * n
    before = _c("\n".join([*lines[: n // 2], "old", "also old", *lines[n // 2 :]]))
    after = _c("\n".join([*lines[: n // 2], "new", *lines[n // 2 :], "end"]))
    assert len(before.lines()) * len(after.lines()) > DIFF_CELLS
    rows = changed_lines(before, after)
    changed = [(i, r) for i, r in enumerate(rows) if r[0] != "same"]
    head = 5 + n // 2  # the fields, then the lines both start with
    assert changed[:2] == [
        (head, ("change", "  old", "  new")),
        (head + 1, ("change", "  also old", "  x")),
    ]
    assert changed[-1] == (len(rows) - 1, ("change", "  x", "  end"))  # in order, not aligned
    assert [r[1] for r in rows if r[0] != "add"] == before.lines()
    assert [r[2] for r in rows if r[0] != "del"] == after.lines()
