"""A target's live state as one value (SPEC §5): the canonical JSON and its SHA-256 fingerprint,
which a saved plan records and apply compares before writing. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from operator import itemgetter

from reconciler.api.wire import Communication
from reconciler.ignore import without

# The fields a fingerprint covers: everything the API stores except attribution and any
# field we do not know, so a new response field cannot make every saved plan stale.
FINGERPRINT_FIELDS = (
    "id",
    "targetId",
    "targetGroupId",
    "communicationType",
    "channelId",
    "subjectTemplate",
    "messageTemplate",
    "sender",
    "offsetDays",
    "active",
)

# What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds on
# every call; one encoder holds no state between calls (issue 9).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: object) -> str:
    """Compact, sorted, UTF-8 JSON: the form fingerprints are computed over."""
    return _CANONICAL.encode(value)


def fingerprint(
    live: Sequence[Communication],
    ignored: Mapping[tuple[str, int], Sequence[str]] | None = None,
) -> str:
    """SHA-256 hex of the canonical JSON of ``live``, sorted by id, attribution excluded;
    ``ignored`` (per key, the fields live edits own: ``TargetPlan.ignored_fields``) leaves
    those fields out of the rows of that key, so editing them live changes nothing here."""
    rows = [{name: getattr(c, name) for name in FINGERPRINT_FIELDS} for c in live]
    if ignored:
        rows = [
            without(row, ignored.get((c.communicationType, c.channelId), ()))
            for row, c in zip(rows, live, strict=True)
        ]
    if len({row["id"] for row in rows}) == len(rows):
        rows.sort(key=itemgetter("id"))  # ids differ: the tie-breaker is never needed (issue 9)
    else:
        rows.sort(key=lambda row: (row["id"], canonical_json(row)))
    return hashlib.sha256(canonical_json(rows).encode("utf-8")).hexdigest()
