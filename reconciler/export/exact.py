"""The text rules export writes by: values that read back exactly (proven by reading the text
back as the loader does), ``${`` escaped, names in comments escaped. Pure; writes no file.
"""

from __future__ import annotations

from reconciler.errors import ExportError
from reconciler.manifests.writer import NameRef, dump
from reconciler.manifests.yamlstrict import YamlProblem, decode, read_documents


def escape(text: str) -> str:
    """Manifests interpolate ``${…}``; a live ``${`` must be written as ``$${``."""
    return text.replace("${", "$${")


def comment_text(text: str) -> str:
    """``text`` as it can sit in a one-line YAML comment: a backslash and every character that
    is not printable (line breaks of any kind, controls, bidi overrides, ...) are written as
    backslash escapes, so the comment can neither end early nor hide what it says."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(ch if ch.isprintable() and ch != "\\" else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    named = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if ch in named:
        return named[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def render(document: dict[str, object], header: str) -> str:
    """Dump, then prove by reading back that every value survived; else quote everything.

    Raises ExportError, naming the field, when even double quotes cannot carry a value (a
    lone surrogate from a broken server has no UTF-8 form).
    """
    text = header + dump(document)
    if _roundtrips(text, document):
        return text
    text = header + dump(document, quote_all=True)
    if not _roundtrips(text, document):
        raise ExportError(_unwritable(document))
    return text


def _roundtrips(text: str, document: dict[str, object]) -> bool:
    """``text`` reads back as ``document``, through the checks the loader makes on a file."""
    try:
        docs = read_documents(decode(text.encode("utf-8")))
    except (YamlProblem, UnicodeError):
        return False
    except Exception:  # pragma: no cover - the reader reports problems as YamlProblem
        return False
    return len(docs) == 1 and docs[0].value == document and not docs[0].ambiguous


def carriable(text: str) -> bool:
    """Whether a YAML manifest can hold ``text`` exactly (as a double-quoted scalar)."""
    if text.isprintable():
        return True
    return _roundtrips(dump({"v": NameRef(text)}, quote_all=True), {"v": text})


def _unwritable(value: object, at: str = "") -> str:
    """Which value YAML cannot carry, and the character that stops it."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unwritable(item, f"{at}.{key}" if at else str(key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unwritable(item, f"{at}[{index}]")
            if found:
                return found
    elif isinstance(value, str) and not carriable(value):
        bad = next((ch for ch in value if not carriable(ch)), value[0] if value else "")
        return (
            f"{at} contains U+{ord(bad):04X}, which a YAML manifest cannot hold exactly"
            if bad
            else f"{at} cannot be written exactly"
        )
    return "" if at else "the manifest does not read back exactly"


def plain_text(text: str) -> bool:
    """Text the loader accepts as a file, with no line break other than LF: no raw CR, NEL,
    U+2028 or U+2029 that one reader splits a line at and another does not."""
    try:
        decode(text.encode("utf-8"))
    except (YamlProblem, UnicodeError):
        return False
    return not any(ch in text for ch in "\r\x85\u2028\u2029")
