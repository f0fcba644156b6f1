"""The response envelope of SPEC §2 and the mapping of answers and transport errors to failures.

Turns one ``httpx.Response`` (or exception) into the envelope's ``data`` or an ``AttemptFailure``;
it never retries and never puts a header into a message.
"""

from __future__ import annotations

import json
import re
from typing import NoReturn

import httpx

from reconciler.api.retry import AttemptFailure, parse_quota, parse_retry_after
from reconciler.assumptions import RETRY_STATUSES, THROTTLE_STATUSES
from reconciler.errors import (
    AmbiguousWriteError,
    ApiError,
    ApiValidationError,
    AuthError,
    NotFoundError,
    PermissionDenied,
    RateLimitedError,
    ServerError,
    TransportError,
)
from reconciler.redact import scrub, scrub_head

_EXCERPT_CHARS = 100
_MAX_MESSAGES = 5
_SCRIPT_OR_STYLE = re.compile(r"(?is)<(script|style)\b.*?</\1\s*>")
_TAG = re.compile(r"<[^>]{0,500}>")
# Transport errors raised before a single byte of the request left this process.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_AMBIGUOUS_HINT = (
    "the write may or may not have been committed; re-read the target before writing again"
)
# What ``classify`` returns for an envelope with no ``data`` member at all: unlike
# ``"data": null`` (an empty list, SPEC §9), never read as anything.
NO_DATA: object = object()


def excerpt(body: bytes, limit: int = _EXCERPT_CHARS) -> str:
    """A short, one-line, printable and scrubbed excerpt of a body (HTML tags dropped).

    Scrubbed before every step that could cut or reshape a secret (the 8 KiB window, tag
    removal, flattening, the cut to ``limit``), and once more after them."""
    # NULs dropped first: a UTF-16 page would otherwise show a secret with its letters apart.
    text = scrub_head(body.replace(b"\x00", b""), 8192)
    text = scrub(_TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", text)))
    text = scrub(" ".join("".join(ch if ch.isprintable() else " " for ch in text).split()))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text if text else "(empty body)"


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace and control characters so API text cannot break a message line;
    scrubbed first, so the flattening and the cut to ``limit`` cannot leave a piece of a
    secret the scrubber would no longer recognise."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in scrub(text)).split())
    flat = scrub(flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def envelope_messages(entries: object) -> list[str]:
    """``errors``/``warnings`` entries as ``code N: message`` strings (unknown shapes tolerated)."""
    if not isinstance(entries, list):
        return []
    out: list[str] = []
    for entry in entries:
        if isinstance(entry, dict):
            code, message = entry.get("code"), entry.get("message")
            text = one_line(str(message)) if message not in (None, "") else ""
            if code not in (None, "", 0) and text:
                out.append(f"code {code}: {text}")
            elif text or code not in (None, ""):
                out.append(text or f"code {code}")
        elif entry not in (None, ""):
            out.append(one_line(str(entry)))
    return out


def _join(messages: list[str]) -> str:
    shown = "; ".join(messages[:_MAX_MESSAGES])
    more = len(messages) - _MAX_MESSAGES
    return f"{shown} (+{more} more)" if more > 0 else shown


def decode_envelope(response: httpx.Response) -> tuple[dict[str, object] | None, str]:
    """The envelope as a dict, or ``None`` and what was wrong with the body."""
    content_type = response.headers.get("content-type", "")
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        kind = "an HTML page" if "html" in content_type.lower() else "a body that is not JSON"
        return None, f"{kind}: {excerpt(response.content)}"
    if not isinstance(payload, dict) or not ({"data", "errors"} & payload.keys()):
        return None, f"JSON that is not the API envelope: {excerpt(response.content)}"
    return payload, ""


def _retry_after(response: httpx.Response, now: float) -> float | None:
    """``Retry-After``; for a throttle without it, the reset of a spent rate-limit window."""
    found = parse_retry_after(
        response.headers.get("retry-after"), now=now, date=response.headers.get("date")
    )
    if found is None and response.status_code in (429, 503):
        quota = parse_quota(response.headers, now=now)
        if quota is not None and quota[0] <= 0:
            return quota[1]
    return found


def classify(response: httpx.Response, *, write: bool, now: float) -> object:
    """Return the envelope's ``data`` for a good answer; raise ``AttemptFailure`` otherwise.

    ``write`` makes every answer that leaves the outcome unknown an ``AmbiguousWriteError``
    that is never retried; only 429 is taken as proof that a write was not committed.
    ``now`` (epoch seconds) resolves an HTTP-date ``Retry-After`` when no ``Date`` is sent.
    """
    status = response.status_code
    if 300 <= status < 400:
        raise AttemptFailure(
            ApiError,
            f"HTTP {status}: the server answered with a redirect, which is never followed "
            "(it could carry credentials to another host); check the endpoint URL",
            reason="redirect",
            retryable=False,
            status=status,
        )
    envelope, problem = decode_envelope(response)
    if 200 <= status < 300:
        return _success_data(status, envelope, problem, write=write)
    _fail_error_status(response, _error_detail(response, envelope, problem), write=write, now=now)


def _success_data(
    status: int, envelope: dict[str, object] | None, problem: str, *, write: bool
) -> object:
    """The ``data`` of a 2xx answer, unless its body is broken or its envelope holds errors."""
    if envelope is None:
        _fail_bad_body(status, problem, write=write)
    errors = envelope_messages(envelope.get("errors"))
    if errors:
        detail = f"HTTP {status} with errors in the envelope: {_join(errors)}"
        if write:
            raise AttemptFailure(
                AmbiguousWriteError,
                f"{detail}; {_AMBIGUOUS_HINT}",
                reason="envelope-errors",
                retryable=False,
                status=status,
            )
        raise AttemptFailure(
            ServerError, detail, reason="envelope-errors", retryable=False, status=status
        )
    return envelope.get("data", NO_DATA)


def _error_detail(
    response: httpx.Response, envelope: dict[str, object] | None, problem: str
) -> str:
    """``HTTP 404: code 1: ...``: the envelope's messages, else what the body was."""
    status = response.status_code
    messages = envelope_messages(envelope.get("errors")) if envelope is not None else []
    if messages:
        return f"HTTP {status}: {_join(messages)}"
    if envelope is None:
        return f"HTTP {status} with {problem}"
    return f"HTTP {status}: {excerpt(response.content)}"


def _fail_error_status(
    response: httpx.Response, detail: str, *, write: bool, now: float
) -> NoReturn:
    """Raise the ``AttemptFailure`` for a status that is neither 2xx nor a redirect."""
    status = response.status_code
    retry_after = _retry_after(response, now)
    if status == 429:
        # The one answer that proves a write was not committed: the request was refused whole.
        raise AttemptFailure(
            RateLimitedError,
            detail,
            reason="429",
            retryable=True,
            status=status,
            throttled=True,
            retry_after=retry_after,
        )
    if status in RETRY_STATUSES or 500 <= status < 600:
        throttled = status in THROTTLE_STATUSES
        if write:
            raise AttemptFailure(
                AmbiguousWriteError,
                f"{detail}; {_AMBIGUOUS_HINT}",
                reason=str(status),
                retryable=False,
                status=status,
                outage=True,
                throttled=throttled,
            )
        raise AttemptFailure(
            RateLimitedError if status == 503 and retry_after is not None else ServerError,
            detail,
            reason=str(status),
            retryable=True,
            status=status,
            outage=True,
            throttled=throttled,
            retry_after=retry_after,
        )
    error_type: type[ApiError] = {
        400: ApiValidationError,
        401: AuthError,
        403: PermissionDenied,
        404: NotFoundError,
    }.get(status, ApiError)
    if status == 401:
        detail += " (authentication failed: check the credentials in CAPILLARY_* variables)"
    elif status == 403:
        detail += " (access denied: the API client lacks a grant on Target Loyalty)"
    raise AttemptFailure(error_type, detail, reason=str(status), retryable=False, status=status)


def _fail_bad_body(status: int, problem: str, *, write: bool) -> NoReturn:
    if write:
        raise AttemptFailure(
            AmbiguousWriteError,
            f"HTTP {status} with {problem}; {_AMBIGUOUS_HINT}",
            reason="bad-body",
            retryable=False,
            status=status,
            outage=True,
        )
    # A truncated or foreign body on a read is treated like a 5xx: retried, counts as an outage.
    raise AttemptFailure(
        ServerError,
        f"HTTP {status} with {problem}",
        reason="bad-body",
        retryable=True,
        status=status,
        outage=True,
    )


def classify_transport_error(exc: httpx.HTTPError, *, write: bool, sent: int) -> AttemptFailure:
    """Classify an httpx exception; only the exception type and its text are kept."""
    where = _host_of(exc)
    if isinstance(exc, httpx.TimeoutException):
        reason, what = "timeout", f"timed out{' talking to ' + where if where else ''}"
    elif isinstance(exc, httpx.ConnectError):
        reason, what = "connect", f"could not connect{' to ' + where if where else ''}"
    else:
        reason, what = "network", f"connection{' to ' + where if where else ''} failed"
    text = _USERINFO.sub(r"\1", _first_line(exc))
    detail = f"{what} ({type(exc).__name__}{': ' + text if text else ''})"
    if not isinstance(exc, _RETRYABLE_TRANSPORT):
        return AttemptFailure(TransportError, detail, reason=reason, retryable=False)
    # Never sent (the token request failed, or no connection was made): safe to send again.
    never_sent = sent == 0 or isinstance(exc, _NEVER_SENT)
    if write and not never_sent:
        return AttemptFailure(
            AmbiguousWriteError,
            f"{detail} after the write was sent; {_AMBIGUOUS_HINT}",
            reason=reason,
            retryable=False,
            outage=True,
        )
    return AttemptFailure(TransportError, detail, reason=reason, retryable=True, outage=True)


def classify_unexpected(exc: Exception, *, write: bool, sent: int) -> AttemptFailure:
    """A transport raised something that is not an httpx error; name its type, never retry."""
    text = _first_line(exc)
    detail = (
        f"the transport failed unexpectedly ({type(exc).__name__}{': ' + text if text else ''})"
    )
    if write and sent:
        return AttemptFailure(
            AmbiguousWriteError,
            f"{detail} after the write was sent; {_AMBIGUOUS_HINT}",
            reason="unexpected",
            retryable=False,
        )
    return AttemptFailure(ServerError, detail, reason="unexpected", retryable=False)


# ``scheme://user:password@`` in an exception's text: the userinfo is dropped.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def _host_of(exc: httpx.HTTPError) -> str:
    """``host:port`` of the request that failed (never its userinfo, path or query), or ''."""
    try:
        url = exc.request.url
    except RuntimeError:  # an error raised without its request
        return ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port else host


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's text, scrubbed before it is cut."""
    lines = scrub(str(exc)).splitlines()
    return lines[0] if lines else ""
