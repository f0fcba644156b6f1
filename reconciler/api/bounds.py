"""Bounds on one attempt (issue 14 item 6): a total deadline, and a ceiling on what one answer
may weigh, decoded; and how a breach of either is classified.

The client wraps each attempt in ``asyncio.timeout(deadline)``: httpx's read timeout bounds
each read, so a server sending one byte a second would otherwise hold a request forever. The
client's response hook calls ``limit_body`` on every answer, token and 401 answers
included, before any of its body is read: a ``Content-Length`` over the limit fails at once;
otherwise the body is streamed through a counter that stops reading at the limit. gzip and
deflate are decoded here, in bounded steps, and the ``Content-Encoding`` header is removed so
httpx passes the decoded bytes through: a small compressed "bomb" is never expanded whole.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

from reconciler.api.retry import AttemptFailure
from reconciler.errors import AmbiguousWriteError, ServerError, TransportError

# What the client asks for; anything else a server sends anyway reaches the JSON decoder raw.
ACCEPT_ENCODING = "gzip, deflate"
_MiB = 1024 * 1024
# Decoded output is produced at most this much at a time per coding, so that even stacked
# codings hold little in memory at once; more codings than this are refused.
_STEP = 64 * 1024
_MAX_CODINGS = 3


class BodyProblem(Exception):
    """An answer could not be read within the limit, or its encoding is broken.

    ``too_large``: the same answer would come again, so the request is not retried.
    """

    def __init__(self, detail: str, *, too_large: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.too_large = too_large


def size_text(size: int) -> str:
    """``16 MiB``, ``1.5 MiB``, ``700 KiB`` or ``12 bytes``."""
    if size >= _MiB:
        value = size / _MiB
        return f"{value:.0f} MiB" if value == int(value) else f"{value:.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"


def _too_large(what: str, limit: int) -> BodyProblem:
    return BodyProblem(
        f"the {what} is larger than the {size_text(limit)} this client accepts; "
        "an answer that large is not the API's (check the endpoint)",
        too_large=True,
    )


class _Decoder:
    """One content coding, decoded with a ceiling on its output (zlib's ``max_length``)."""

    def __init__(self, coding: str, limit: int) -> None:
        self._coding = coding
        self._limit = limit
        self._produced = 0
        # deflate is the zlib format, though some servers send raw deflate: tried on failure.
        wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending and not self._zlib.eof:
            room = min(self._limit - self._produced + 1, _STEP)
            try:
                out = self._zlib.decompress(pending, room)
            except zlib.error:
                if self._coding == "deflate" and self._first:
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    continue
                raise BodyProblem(
                    f"the answer's {self._coding} encoding is broken", too_large=False
                ) from None
            self._first = False
            self._produced += len(out)
            if self._produced > self._limit:
                raise _too_large("decoded answer", self._limit)
            if out:
                yield out
            tail = self._zlib.unconsumed_tail
            if not out and len(tail) >= len(pending):  # no progress: never loop, never drop
                raise BodyProblem(
                    f"the answer's {self._coding} encoding is broken", too_large=False
                )
            pending = tail
        # Data after the end of the stream (a second gzip member, trailing bytes) is ignored,
        # as httpx does.

    def finish(self) -> Iterator[bytes]:
        out = self._zlib.flush()
        self._produced += len(out)
        if self._produced > self._limit:
            raise _too_large("decoded answer", self._limit)
        if out:
            yield out


class _LimitedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, codings: list[str], limit: int) -> None:
        self._inner = inner
        self._limit = limit
        # Codings are listed in the order they were applied, so they are undone in reverse.
        self._decoders = [_Decoder(coding, limit) for coding in reversed(codings)]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in self._inner:
            received += len(chunk)
            if received > self._limit:
                raise _too_large("answer", self._limit)
            for piece in self._decode(chunk, 0):
                yield piece
        for piece in self._finish(0):
            yield piece

    def _decode(self, data: bytes, stage: int) -> Iterator[bytes]:
        if stage == len(self._decoders):
            yield data
            return
        for piece in self._decoders[stage].feed(data):
            yield from self._decode(piece, stage + 1)

    def _finish(self, stage: int) -> Iterator[bytes]:
        if stage == len(self._decoders):
            return
        for piece in self._decoders[stage].finish():
            yield from self._decode(piece, stage + 1)
        yield from self._finish(stage + 1)

    async def aclose(self) -> None:
        await self._inner.aclose()


def limit_body(response: httpx.Response, limit: int) -> None:
    """Make ``response`` fail with ``BodyProblem`` rather than deliver more than ``limit``
    decoded bytes; call it before anything reads the body (an httpx response hook)."""
    declared = response.headers.get("content-length", "").strip()
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyProblem(
            f"the answer of {size_text(int(declared))} is larger than the {size_text(limit)} "
            "this client accepts; an answer that large is not the API's (check the endpoint)",
            too_large=True,
        )
    codings = [
        coding.strip().lower()
        for coding in response.headers.get("content-encoding", "").split(",")
        if coding.strip() and coding.strip().lower() != "identity"
    ]
    if codings:
        # httpx would decode what it recognises, without a ceiling: it must see none of them.
        del response.headers["content-encoding"]
    if any(coding not in ("gzip", "deflate") for coding in codings):
        codings = []  # not asked for (e.g. br): passed on raw, so it fails as "not JSON"
    if len(codings) > _MAX_CODINGS:
        raise BodyProblem(
            f"the answer is encoded {len(codings)} times over ({', '.join(codings[:5])}, …); "
            "that is not the API's",
            too_large=True,
        )
    if hasattr(response, "_content"):  # already in memory (test transports): just measure it
        if len(response.content) > limit:
            raise _too_large("answer", limit)
        return
    if isinstance(response.stream, httpx.AsyncByteStream):
        response.stream = _LimitedStream(response.stream, codings, limit)


_AMBIGUOUS_HINT = (
    "the write may or may not have been committed; re-read the target before writing again"
)


def seconds_text(seconds: float) -> str:
    return f"{seconds:g} s"


def deadline_failure(seconds: float, *, write: bool, sent: int) -> AttemptFailure:
    """The attempt did not complete within its deadline: retried like any timeout, except a
    write that had been sent, whose outcome is unknown (never resent blindly)."""
    detail = (
        f"timed out: no complete answer within {seconds_text(seconds)} "
        "(the server is not answering, or sending its answer too slowly)"
    )
    if write and sent:
        return AttemptFailure(
            AmbiguousWriteError,
            f"{detail} after the write was sent; {_AMBIGUOUS_HINT}",
            reason="deadline",
            retryable=False,
            outage=True,
        )
    return AttemptFailure(TransportError, detail, reason="deadline", retryable=True, outage=True)


def body_failure(problem: BodyProblem, *, write: bool, sent: int) -> AttemptFailure:
    """An answer over the limit (not retried: it would come again) or with a broken encoding
    (retried, like a truncated body). A write that got such an answer was sent: ambiguous."""
    reason = "too-large" if problem.too_large else "bad-body"
    if write and sent:
        return AttemptFailure(
            AmbiguousWriteError,
            f"{problem.detail}; {_AMBIGUOUS_HINT}",
            reason=reason,
            retryable=False,
            outage=not problem.too_large,
        )
    return AttemptFailure(
        ServerError,
        problem.detail,
        reason=reason,
        retryable=not problem.too_large,
        outage=not problem.too_large,
    )
