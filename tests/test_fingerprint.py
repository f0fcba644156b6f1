"""The fingerprint of a target's live state (SPEC §5): what it covers and that it is the
SHA-256 of the canonical JSON it is defined as."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.api.wire import Communication
from reconciler.fingerprint import FINGERPRINT_FIELDS, fingerprint

BASE: dict[str, Any] = {"sender": "S", "subjectTemplate": "", "messageTemplate": "m"}


def comm(id: int, **fields: Any) -> Communication:
    values = {**BASE, "communicationType": "START", "channelId": 1, "offsetDays": 0, **fields}
    return Communication(id=id, active=True, **values)


def test_fingerprint_covers_known_fields_only() -> None:
    """Attribution and unknown response fields never change a fingerprint (SPEC §2, §4)."""
    plain = comm(1)
    noisy = Communication.model_validate(
        {**plain.model_dump(), "attribution": {"lastUpdatedOn": "2026-01-01T00:00:00.000+0000"},
         "createdOnISO": "2026", "configs": [{"a": 1}]}
    )  # fmt: skip
    assert fingerprint([plain]) == fingerprint([noisy])
    assert len(fingerprint([])) == 64
    assert fingerprint([]) != fingerprint([plain])


VALUES: dict[str, list[Any]] = {
    "targetId": [None, 1, 2],
    "targetGroupId": [None, 1, 2],
    "communicationType": ["START", "FINISH"],
    "channelId": [1, 2],
    "subjectTemplate": ["", "s"],
    "messageTemplate": ["m", "m\n"],
    "sender": ["S", "T"],
    "offsetDays": [0, 3],
    "active": [True, False],
}


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    field=st.sampled_from(FINGERPRINT_FIELDS[1:]),
)
def test_fingerprint_is_order_independent_and_sees_every_field(
    size: int, seed: int, field: str
) -> None:
    rng = random.Random(seed)
    live = [
        Communication.model_validate({"id": i, **{k: rng.choice(v) for k, v in VALUES.items()}})
        for i in range(1, size + 1)
    ]
    shuffled = rng.sample(live, len(live))
    assert fingerprint(shuffled) == fingerprint(live)
    victim = rng.randrange(size)
    old = getattr(live[victim], field)
    new = next(v for v in VALUES[field] if v != old)
    changed = [c.model_copy(update={field: new}) if i == victim else c for i, c in enumerate(live)]
    assert fingerprint(changed) != fingerprint(live)


def _reference_fingerprint(live: list[Communication]) -> str:
    """The definition: canonical JSON of the rows sorted by (id, canonical JSON of the row)."""
    rows = [{name: getattr(c, name) for name in FINGERPRINT_FIELDS} for c in live]
    rows.sort(key=lambda r: (r["id"], json.dumps(r, sort_keys=True, separators=(",", ":"))))
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.integers(1, 4), max_size=6), seed=st.integers(0, 2**16))
def test_fingerprint_matches_its_definition_with_and_without_repeated_ids(
    ids: list[int], seed: int
) -> None:
    rng = random.Random(seed)
    live = [
        Communication.model_validate({"id": i, **{k: rng.choice(v) for k, v in VALUES.items()}})
        for i in ids
    ]
    live.append(comm(99, sender="é ✓"))
    assert fingerprint(live) == _reference_fingerprint(live)
