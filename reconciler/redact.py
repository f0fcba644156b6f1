"""The one scrubber for secrets, tokens and credential headers (SPEC §7).

``scrub`` is for text that may carry a secret: error messages, exception text, debug logs,
warnings. It never runs over product data (plans, markdown, step summaries, saved plans, the
bodies in an apply report, exported manifests): those are built from manifests and API data
only, so no secret can enter them, and they are written byte for byte.

Only real secrets are registered: the password and its md5, the client secret, the Basic
header value, OAuth tokens. The user name and the client key are identifiers (they may appear
in senders and templates) and are never masked. For every secret ``scrub`` masks

* its raw text and its JSON-escaped (``\\"``, ``\\\\``, ``\\uXXXX``, ``\\n``; ASCII-only or
  not; escaped once or twice), URL-encoded, HTML-escaped, Python-repr, hex, base64 (standard
  and URL-safe, padded or not, at any byte alignment, of it raw or JSON-escaped) and md5
  (lower and upper case) forms, and the forms our own one-line flattening makes of it;
* pieces of them: any run of ``FRAGMENT`` or more characters of any form, and any cut of a
  form that keeps its first ``FRAGMENT`` characters; so a server that echoes a request cut at
  N characters, or wraps it, shows no piece of a credential worth having. Pieces that read
  like words (``_wordy``) are masked only as part of a longer match, so a password or a token
  made of words ("demo-password") does not mask those words in every message;
* and, by shape, the value after ``Authorization:``, ``X-CAP-API-OAUTH-TOKEN:``, ``cookie=``,
  ``"secret":`` and the like, to the end of the line or the closing quote, even when the value
  was never registered (a truncated or foreign credential).

A secret shorter than ``MIN_SECRET_LENGTH`` characters cannot be masked without destroying
every message; ``check_secret`` refuses such a credential at start-up instead (the CLI names
the variable). Three characters and more are masked wherever they appear in error text.
Masking must come before any cut: ``scrub`` first, then flatten or truncate.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import html
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

# The credential variables of SPEC §7 (CI maps each from a repository secret).
SECRET_VARIABLES = (
    "CAPILLARY_CLIENT_SECRET",
    "CAPILLARY_PASSWORD",
    "CAPILLARY_CLIENT_KEY",
    "CAPILLARY_USERNAME",
)
# Those whose values are masked. CAPILLARY_USERNAME and CAPILLARY_CLIENT_KEY are identifiers:
# they may appear in senders and templates, and masking them would alter product text.
MASKED_VARIABLES = ("CAPILLARY_CLIENT_SECRET", "CAPILLARY_PASSWORD")
MASK = "***"
MIN_SECRET_LENGTH = 3
# Pieces of this many characters of any form of a secret are masked.
FRAGMENT = 8

_QUOTE = r"""(?:\\*"|\\*'|&quot;|&\#34;|&\#x22;|&\#39;|&\#x27;)"""
# Credential-shaped values in error text: header lines, cookies, JSON keys, query parameters.
_SHAPED = re.compile(
    rf"""(?ix)
    (?<![a-z0-9_-])
    (?P<name>
        (?:proxy-)?authorization | x-cap-api-oauth-token | (?:set-)?cookie
      | (?:access|refresh|id|auth|oauth|bearer)?[_-]?token
      | (?:client[_-]?)?secret | password | passwd
    )
    (?P<sep>{_QUOTE}?\s*+[:=]\s*+(?!{_QUOTE}?\*\*\*)(?P<open>{_QUOTE})?)
    (?P<value>(?(open)(?:(?!(?P=open))[^\r\n])+|[^\r\n]+))
    """
)

# Credentials in a URL's user part (``https://user:token@host``, ``https://token@host``): the
# password, or a user part alone (often a token, as git hosts take one), is masked.
_URL_USERINFO = re.compile(
    r"(?i)(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<user>[^/\s@:?#]*)(?P<password>:[^/\s@?#]*)?@"
)

_lock = threading.Lock()
# The registered secrets; their forms and pieces are derived (and cached) from this set.
_secrets: set[str] = set()


def register(*secrets: str | None) -> None:
    """Remember values that must never be printed (passwords, secrets, tokens, the Basic
    value) in all their forms and pieces. Values shorter than ``MIN_SECRET_LENGTH`` are
    ignored: ``check_secret`` refuses them where they are credentials."""
    with _lock:
        _secrets.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)


def basic_value(username: str, password: str) -> str:
    """The base64 part of Capillary's ``Authorization: Basic`` header (SPEC §2)."""
    digest = hashlib.md5(password.encode("utf-8")).hexdigest()
    return base64.b64encode(f"{username}:{digest}".encode()).decode("ascii")


def register_basic(username: str, password: str) -> str:
    """Register the password, its md5 and the Basic header value; returns the header value."""
    value = basic_value(username, password)
    register(password, hashlib.md5(password.encode("utf-8")).hexdigest(), value)
    return value


def check_secret(name: str, value: str) -> str | None:
    """Why the credential in variable ``name`` cannot be used, or ``None``."""
    if len(value) < MIN_SECRET_LENGTH:
        return (
            f"{name} is shorter than {MIN_SECRET_LENGTH} characters; a secret that short "
            "cannot be masked in messages without masking ordinary words, so it is refused"
        )
    return None


def register_environment(environ: Mapping[str, str] | None = None) -> None:
    """Register the secret variables of SPEC §7 that are set, and the Basic header value."""
    env = os.environ if environ is None else environ
    register(*(env.get(name) for name in MASKED_VARIABLES))
    username, password = env.get("CAPILLARY_USERNAME"), env.get("CAPILLARY_PASSWORD")
    if username and password and len(password) >= MIN_SECRET_LENGTH:
        register_basic(username, password)


def scrub(text: str) -> str:
    """``text`` with every form and piece of every registered secret, and every
    credential-shaped value, masked. For error text only; it never raises."""
    try:
        text = str(text)
        index = _index()
        if index.longest:
            text = _mask_known(text, index)
        text = _SHAPED.sub(_mask_shaped, text)
        return _URL_USERINFO.sub(_mask_userinfo, text)
    except Exception:  # a scrubber that raises would hide the real error
        return "<message withheld: could not be scrubbed>"


def _mask_userinfo(match: re.Match[str]) -> str:
    if match["password"] is None:
        return f"{match['scheme']}{MASK}@"
    return f"{match['scheme']}{match['user']}:{MASK}@"


def scrub_head(data: bytes, size: int) -> str:
    """The scrubbed text of about the first ``size`` bytes of ``data`` (a body excerpt). A
    secret that the cut would split is kept whole, so it is masked whole: scrub, then cut."""
    head = data[:size].decode("utf-8", errors="replace")
    if len(data) <= size:
        return scrub(head)
    try:
        index = _index()
        # Every form fits in this window when it starts before the cut.
        window = data[: size + 4 * index.longest + FRAGMENT].decode("utf-8", errors="replace")
        cut = len(head) if window.startswith(head) else len(head) - 1
        for start, stop in _known_spans(window, index):
            if start < cut < stop:
                cut = stop
        return scrub(window[:cut])
    except Exception:  # like scrub: never raise
        return "<message withheld: could not be scrubbed>"


# --- internals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Index:
    pieces: frozenset[str]  # every FRAGMENT-long piece of every form, but word-like ones
    heads: dict[str, tuple[str, ...]]  # forms this long or longer, by their first FRAGMENT
    short: tuple[str, ...]  # forms shorter than FRAGMENT
    longest: int  # the longest form, in characters


_EMPTY = _Index(frozenset(), {}, (), 0)
_cache: tuple[frozenset[str], _Index] = (frozenset(), _EMPTY)


def _index() -> _Index:
    global _cache
    with _lock:
        current = frozenset(_secrets)
    key, index = _cache
    if key == current:
        return index
    pieces: set[str] = set()
    heads: dict[str, set[str]] = {}
    short: set[str] = set()
    longest = 0
    for secret in current:
        found = _forms(secret)
        longest = max(longest, *map(len, found))
        pieces |= _pieces(secret)
        for form in found:
            if len(form) < FRAGMENT:
                short.add(form)
            else:
                heads.setdefault(form[:FRAGMENT], set()).add(form)
    index = _Index(
        frozenset(pieces),
        {head: tuple(sorted(found, key=len, reverse=True)) for head, found in heads.items()},
        tuple(sorted(short, key=len, reverse=True)),
        longest,
    )
    _cache = (current, index)
    return index


@functools.lru_cache(maxsize=1024)
def _forms(secret: str) -> frozenset[str]:
    return frozenset(forms(secret))


@functools.lru_cache(maxsize=1024)
def _pieces(secret: str) -> frozenset[str]:
    found = (
        form[i : i + FRAGMENT]
        for form in _forms(secret)
        if len(form) >= FRAGMENT
        for i in range(len(form) - FRAGMENT + 1)
    )
    return frozenset(piece for piece in found if not _wordy(piece))


_LETTERS = re.compile(r"[^\W\d_]+")
_WORDS = re.compile(r"[^\W\d_]*(?:[ ._/-]+[^\W\d_]*)*")


def _wordy(piece: str) -> bool:
    """Whether ``piece`` reads like words (letters and word separators only, no digit; each run
    of letters in one case, or capitalised): such a piece of a credential is left alone, or a token like
    ``tok-redirect-7777`` would mask the word "redirect" in every message. A random token or
    digest rarely has one, and the pieces around it still mask."""
    if not _WORDS.fullmatch(piece):
        return False
    return all(
        run.islower() or run.isupper() or (run[0].isupper() and run[1:].islower())
        for run in _LETTERS.findall(piece)
    )


def _mask_known(text: str, index: _Index) -> str:
    spans = _known_spans(text, index)
    if not spans:
        return text
    parts: list[str] = []
    end = 0
    for start, stop in spans:
        parts += [text[end:start], MASK]
        end = stop
    parts.append(text[end:])
    return "".join(parts)


def _known_spans(text: str, index: _Index) -> list[tuple[int, int]]:
    """Where ``text`` holds a form or a piece of a registered secret: sorted, disjoint spans."""
    found: list[tuple[int, int]] = []
    pieces, heads = index.pieces, index.heads
    for i in range(len(text) - FRAGMENT + 1):
        window = text[i : i + FRAGMENT]
        stop = i + FRAGMENT if window in pieces else 0
        for form in heads.get(window, ()):
            n = _common_prefix(text, i, form)
            if n == len(form) or not _wordy(form[:n]):  # a cut that reads like words: no
                stop = max(stop, i + n)
        if stop:
            found.append((i, stop))
    for form in index.short:
        at = text.find(form)
        while at >= 0:
            found.append((at, at + len(form)))
            at = text.find(form, at + 1)
    found.sort()
    spans: list[tuple[int, int]] = []
    for start, stop in found:
        if spans and spans[-1][1] >= start:
            spans[-1] = (spans[-1][0], max(spans[-1][1], stop))
        else:
            spans.append((start, stop))
    return spans


def _common_prefix(text: str, at: int, form: str) -> int:
    """How many characters of ``form`` ``text`` repeats from ``at`` on."""
    if text.startswith(form, at):
        return len(form)
    n = FRAGMENT
    while n < len(form) and at + n < len(text) and text[at + n] == form[n]:
        n += 1
    return n


def _mask_shaped(match: re.Match[str]) -> str:
    return f"{match['name']}{match['sep']}{MASK}"


_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-f]{4}")
_PERCENT = re.compile(r"%[0-9A-F]{2}")


def _escaped(text: str) -> set[str]:
    """``text`` as JSON, URL, HTML or Python would escape it once."""
    as_json = json.dumps(text)[1:-1]
    url = {
        urllib.parse.quote(text, safe=""),
        urllib.parse.quote(text),
        urllib.parse.quote_plus(text),
    }
    out = {
        as_json,
        json.dumps(text, ensure_ascii=False)[1:-1],
        _UNICODE_ESCAPE.sub(lambda m: "\\u" + m.group()[2:].upper(), as_json),
        as_json.replace("/", "\\/"),
        repr(text)[1:-1],
        ascii(text)[1:-1],
        repr(text.encode("utf-8"))[2:-1],
        html.escape(text),
        html.escape(text, quote=False),
        html.escape(text).encode("ascii", "xmlcharrefreplace").decode("ascii"),
        *url,
        *(_PERCENT.sub(lambda m: m.group().lower(), u) for u in url),
    }
    return out


def _escaped_again(text: str) -> set[str]:
    """The escapes that are commonly applied a second time (JSON in JSON, a URL in HTML)."""
    return {
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        urllib.parse.quote(text, safe=""),
        urllib.parse.quote_plus(text),
        html.escape(text),
    }


def _reshaped(text: str) -> set[str]:
    """``text`` as it looks after a flattening to one line, or a wrong decoding."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    out = {flat, text.replace("\n", "\u2424"), text.replace("\r\n", "\n")}
    out.add(text.encode("utf-8").decode("latin-1"))
    with contextlib.suppress(UnicodeEncodeError):
        out.add(text.encode("latin-1").decode("utf-8", errors="replace"))
    return out


def _base64(data: bytes) -> set[str]:
    """Base64 of ``data`` at any of the three byte alignments it could sit at in a longer
    encoded text: only the characters that depend on ``data`` alone."""
    out: set[str] = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + data).decode("ascii")
            if offset == 0:
                out |= {encoded, encoded.rstrip("=")}
                continue
            first = -(-offset * 8 // 6)  # the first character with no bit of the padding
            last = (offset + len(data)) * 8 // 6  # characters wholly inside data
            piece = encoded[first:last]
            if len(piece) >= FRAGMENT:
                out.add(piece)
    return out


def forms(secret: str) -> set[str]:
    """Every form of ``secret`` that ``scrub`` masks."""
    base = {secret} | _reshaped(secret)
    once = set().union(*(_escaped(b) for b in base))
    twice = set().union(*(_escaped_again(o) for o in once))
    raw = secret.encode("utf-8")
    digest = hashlib.md5(raw).hexdigest()
    binary = _base64(raw) | {digest, digest.upper(), raw.hex(), raw.hex().upper()}
    # A base64-encoded JSON body holds the secret JSON-escaped.
    for escaped in (json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        binary |= _base64(escaped.encode("utf-8"))
    binary |= set().union(*(_escaped(b) for b in binary))
    return {f for f in base | once | twice | binary if len(f) >= MIN_SECRET_LENGTH}
