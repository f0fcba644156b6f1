"""Mobile push rules: a body lock screens show whole, and a payload push services accept.

Pure checks of one communication's texts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from reconciler.lint.rules import Finding

BODY_MAX = 178  # characters a lock screen shows before cutting
PAYLOAD_MAX = 4096  # bytes: the APNs limit (FCM allows the same)


def payload_bytes(subject: str, message: str) -> int:
    """UTF-8 size of the smallest notification carrying title and body (an APNs alert); a
    provider's own fields only add to it."""
    alert = {"aps": {"alert": {"title": subject, "body": message}}}
    return len(json.dumps(alert, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def push_findings(subject: str, message: str) -> Iterator[Finding]:
    if len(message) > BODY_MAX:
        yield Finding(
            "push-length",
            f"push body is {len(message)} characters; lock screens cut it after {BODY_MAX}",
            "messageTemplate",
            BODY_MAX,
        )
    size = payload_bytes(subject, message)
    if size > PAYLOAD_MAX:
        yield Finding(
            "push-payload",
            f"push payload is {size:,} bytes; push services refuse more than {PAYLOAD_MAX:,}",
        )
