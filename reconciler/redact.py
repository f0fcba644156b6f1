"""The one scrubber for secrets, tokens and Authorization headers (SPEC §7).

Every error message and every log line passes through ``scrub``; it must never raise.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
import urllib.parse
from collections.abc import Iterable

# Environment variables whose values are secrets (SPEC §7).
SECRET_VARIABLES = (
    "CAPILLARY_CLIENT_SECRET",
    "CAPILLARY_PASSWORD",
    "CAPILLARY_CLIENT_KEY",
    "CAPILLARY_USERNAME",
)
MASK = "***"
# Header values are masked by shape too, in case a secret was never registered.
_HEADER_RE = re.compile(
    r"(?i)(authorization|x-cap-api-oauth-token|cookie|set-cookie)(\s*[:=]\s*)(\"?)[^\r\n\",}]+"
)
_MIN_SECRET_LEN = 4

_lock = threading.Lock()
_secrets: set[str] = set()


def _forms(secret: str) -> Iterable[str]:
    """A secret and the encodings in which it could reach a message."""
    yield secret
    yield urllib.parse.quote(secret, safe="")
    yield urllib.parse.quote_plus(secret)
    yield base64.b64encode(secret.encode()).decode()
    yield base64.urlsafe_b64encode(secret.encode()).decode()
    yield hashlib.md5(secret.encode()).hexdigest()


def register(*secrets: str | None) -> None:
    """Remember values that must never be printed (tokens, passwords, keys) in all their forms."""
    with _lock:
        for secret in secrets:
            if secret and len(secret) >= _MIN_SECRET_LEN:
                _secrets.update(f for f in _forms(secret) if len(f) >= _MIN_SECRET_LEN)


def register_environment() -> None:
    """Register the credential variables of SPEC §7 that are set in this process."""
    register(*(os.environ.get(name) for name in SECRET_VARIABLES))


def scrub(text: str) -> str:
    """Return ``text`` with every registered secret and credential header value masked."""
    try:
        text = str(text)
        with _lock:
            known = sorted(_secrets, key=len, reverse=True)
        for secret in known:
            if secret in text:
                text = text.replace(secret, MASK)
        return _HEADER_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{MASK}", text)
    except Exception:  # a scrubber that raises would hide the real error
        return "<message withheld: could not be scrubbed>"
