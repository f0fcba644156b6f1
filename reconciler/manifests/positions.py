"""Where the parts of a valid manifest document that later stages report on were written.

Kept compactly once a document is valid (issue 9); never re-reads a file.
"""

from __future__ import annotations

from array import array

from reconciler.manifests.yamlstrict import Document, Path_, Pos

# The paths later stages point at (resolution and cross-document problems): the document, its
# name and target reference, and each communication entry with its channel reference.
_FIXED_PATHS: tuple[Path_, ...] = (
    (),
    ("metadata", "name"),
    ("target",),
    ("target", "targetGroup"),
    ("target", "target"),
)
_FIXED_SLOTS = {path: slot for slot, path in enumerate(_FIXED_PATHS)}
_ENTRY_FIELDS = ("channel", "channelId")  # slot 0 of an entry is the entry itself


def _slot(path: Path_, entries: int) -> int | None:
    if path in _FIXED_SLOTS:
        return _FIXED_SLOTS[path]
    if len(path) in (2, 3) and path[0] == "communications" and isinstance(path[1], int):
        index = path[1]
        if not 0 <= index < entries:
            return None
        base = len(_FIXED_PATHS) + index * (1 + len(_ENTRY_FIELDS))
        if len(path) == 2:
            return base
        if path[2] in _ENTRY_FIELDS:
            return base + 1 + _ENTRY_FIELDS.index(str(path[2]))
    return None


class Positions:
    """Where the parts of a valid document that later stages point at were written.

    A parsed document's full position maps cost about 25 KB; once it has been validated only
    these few positions are ever asked for, so they are kept as one array of about 150 bytes
    (issue 9: 10,000 targets within 300 MB). Other paths fall back to their closest kept parent.
    """

    __slots__ = ("_at", "_entries")

    def __init__(self, document: Document, entries: int) -> None:
        self._entries = entries
        self._at = array("I")
        for path in _FIXED_PATHS:
            self._at.extend(document.position(path))
        for index in range(entries):
            entry: Path_ = ("communications", index)
            self._at.extend(document.position(entry))
            for name in _ENTRY_FIELDS:
                self._at.extend(document.position((*entry, name)))

    def position(self, path: Path_) -> Pos:
        slot = _slot(path, self._entries)
        while slot is None:
            path = path[:-1]
            slot = _slot(path, self._entries)
        return (self._at[2 * slot], self._at[2 * slot + 1])
