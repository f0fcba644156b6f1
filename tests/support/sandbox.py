"""Talking to the sandbox as a test does, and checking what it holds: request paths, a valid
upsert element, the error-envelope assertion, the request log, and the live rows' keys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import httpx

from reconciler.sandbox import DEMO_PASSWORD, DEMO_USERNAME, RequestRecord, Store, basic_header

BASIC = {"Authorization": basic_header(DEMO_USERNAME, DEMO_PASSWORD)}

# The body of the curl example in seeds/upsert-target-communication.md, byte for byte.
SEED_DOC_BODY = """[
  {
    "active": true,
    "channelId": 1,
    "communicationType": "FINISH",
    "messageTemplate": "Test messageTemplate but communication type changed to FINISH",
    "offsetDays": 1,
    "sender": "random.email123@example.com",
    "subjectTemplate": "Test subjectTemplate changed to FINISH "
  }
]"""
SEED_DOC_COOKIE = (
    "_cfuvid=Hz5vxex9nxE.gNjvnTwDBDgfNLFEoicCUfrgNIeurLY-1750403636294-0.0.1.1-604800000"
)


def comms(group: int = 2163, target: int = 2317) -> str:
    """The path of a target's communications (the demo's spring-sprint-spend-500 by default)."""
    return f"/v3/targetGroups/{group}/targets/{target}/communications"


def upsert(group: int = 2163, target: int = 2317) -> str:
    return f"{comms(group, target)}/upsert"


def element(**fields: object) -> dict[str, object]:
    """A valid upsert element; keywords replace or add fields."""
    base: dict[str, object] = {
        "active": True,
        "channelId": 1,
        "communicationType": "FINISH",
        "messageTemplate": "You made it, {{first_name}}!",
        "offsetDays": 0,
        "sender": "NWREWARDS",
        "subjectTemplate": "",
    }
    return {**base, **fields}


def assert_error(response: httpx.Response, status: int, code: int, *fragments: str) -> None:
    """The response is the error envelope with ``status``, first ``code``, and the fragments."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert set(document) == {"data", "errors", "warnings"}
    assert document["data"] is None
    assert document["warnings"] is None
    assert document["errors"], document
    assert all(set(e) == {"code", "message"} for e in document["errors"])
    assert document["errors"][0]["code"] == code, document
    text = " | ".join(e["message"] for e in document["errors"])
    for fragment in fragments:
        assert fragment in text, text


# --- the request log ------------------------------------------------------------------------


def writes(log: Iterable[RequestRecord]) -> list[RequestRecord]:
    """The upserts of a request log (``sandbox.store.request_log()``)."""
    return [r for r in log if r.is_write]


def reads_of_communications(log: Iterable[RequestRecord]) -> list[RequestRecord]:
    return [r for r in log if r.method == "GET" and r.path.endswith("/communications")]


# --- live rows ------------------------------------------------------------------------------


def active_key_counts(store: Store, group: int, target: int) -> Counter[tuple[str, int]]:
    live = store.communications(group, target)
    return Counter((c["communicationType"], c["channelId"]) for c in live if c["active"])


def assert_no_duplicates(store: Store, refs: Iterable[tuple[int, int]]) -> None:
    """No two active communications share a key in any of ``refs`` (SPEC §6)."""
    for group, target in refs:
        counts = active_key_counts(store, group, target)
        doubled = {key: n for key, n in counts.items() if n > 1}
        assert not doubled, f"duplicates in {group}/{target}: {doubled}"


def assert_live_matches(
    store: Store, wanted: Mapping[tuple[int, int], Sequence[Mapping[str, object]]]
) -> None:
    """Every declared active communication is live, once, with exactly the declared fields."""
    for (group, target), entries in wanted.items():
        live = [c for c in store.communications(group, target) if c["active"]]
        for entry in entries:
            if not entry.get("active", True):
                continue
            key = (entry["communicationType"], entry["channelId"])
            matches = [c for c in live if (c["communicationType"], c["channelId"]) == key]
            assert len(matches) == 1, f"{group}/{target} {key}: {len(matches)} active"
            for name, value in entry.items():
                assert matches[0][name] == value, f"{group}/{target} {key} {name}"  # type: ignore[literal-required]


def key_counts(
    store: Store, refs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], Counter[tuple[str, int]]]:
    return {ref: active_key_counts(store, *ref) for ref in refs}


def assert_no_new_duplicates(
    store: Store, before: Mapping[tuple[int, int], Counter[tuple[str, int]]]
) -> None:
    """No key has more active communications than before, or than one (seeded UI duplicates
    with ``prune: false`` are kept on purpose)."""
    for ref, counts in before.items():
        for key, n in active_key_counts(store, *ref).items():
            assert n <= max(1, counts[key]), f"new duplicate in {ref}: {key} x{n}"
