"""Helpers of the sandbox tests: paths, a valid upsert element, the error-envelope assertion."""

from __future__ import annotations

import httpx

from reconciler.sandbox import DEMO_PASSWORD, DEMO_USERNAME, basic_header

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
