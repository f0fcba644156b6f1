"""Writing manifest YAML (for ``export``): scalar styles, dumping, and the round-trip mode that
updates a file in place. The only ruamel.yaml writer; it decides how text is written, not what.
"""

from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from reconciler.manifests.yamlstrict import YamlProblem, resolve_plain, yaml11_ambiguous

LONG_LINE = 80  # longer (or multi-line) text reads best as a literal block


class NameRef(str):
    """A group, target or channel name written as a reference: always one scalar on one line."""

    __slots__ = ()


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def dump(document: dict[str, object], *, quote_all: bool = False) -> str:
    """``document`` as YAML text: each string plain, double-quoted or a literal block, whichever
    reads back exactly; with ``quote_all``, every string double-quoted."""

    def style(value: object) -> object:
        if isinstance(value, dict):
            return {k: style(v) for k, v in value.items()}
        if isinstance(value, list):
            return [style(v) for v in value]
        if isinstance(value, NameRef):
            # A name is one scalar on one line: plain when that is exact, else double-quoted,
            # whose escapes carry line breaks and controls; never a block.
            plain = value.isprintable() and not needs_quotes(value) and not quote_all
            return str(value) if plain else DoubleQuotedScalarString(value)
        if isinstance(value, str):
            if not quote_all and block_safe(value):
                return LiteralScalarString(value)
            if quote_all or needs_quotes(value) or not raw_safe(value):
                return DoubleQuotedScalarString(value)
            return value
        return value

    stream = io.StringIO()
    _yaml().dump(style(document), stream)
    return stream.getvalue()


def needs_quotes(text: str) -> bool:
    """Plain text that a YAML reader would take for something else, or that we would flag."""
    return resolve_plain(text) != text or yaml11_ambiguous(text) or text != text.strip()


def raw_safe(text: str) -> bool:
    """No character a reader could take for a line break or a control (CR, NEL, U+2028, ...):
    those are written as double-quoted escapes, never raw (tab and newline are fine)."""
    return text.isprintable() or all(ch in "\n\t" or ch.isprintable() for ch in text)


def block_safe(text: str) -> bool:
    """Multi-line or long text reads best as a literal block, when YAML can keep it exact."""
    if "\n" not in text and len(text) <= LONG_LINE:
        return False
    if not text.strip() or text[0] in " \t\n" or "\r" in text or "\t" in text:
        return False
    if any(line != line.rstrip(" ") for line in text.split("\n")):
        return False
    return all(ch == "\n" or ch.isprintable() for ch in text)


class RoundTrip:
    """ruamel.yaml's round-trip mode: documents load as mappings and lists that keep their
    comments and key order when changed and dumped again (``export --force``).

    One instance loads and dumps, as ruamel keeps what the last load read (its directives).
    """

    def __init__(self) -> None:
        self._yaml = _yaml()

    def load(self, text: str) -> object:
        """The document in ``text``; YamlProblem (at no position) when it is not valid YAML."""
        try:
            return self._yaml.load(text)
        except Exception as exc:  # ruamel raises more than YAMLError for broken input
            raise YamlProblem(0, 0, str(exc)) from None

    def dump(self, document: object) -> str:
        """A loaded document (changed or not) as text; every string holding a character a
        reader could take for a line break or a control is double-quoted first."""
        _quote_unsafe(document)
        stream = io.StringIO()
        self._yaml.dump(document, stream)
        return stream.getvalue()


def _quote_unsafe(node: object) -> None:
    """Double-quote every unsafe string below ``node``: its escapes keep the file plain text,
    one value per line."""
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for key, value in items:
        if isinstance(value, str):
            if not raw_safe(value) and not isinstance(value, DoubleQuotedScalarString):
                node[key] = DoubleQuotedScalarString(value)
        else:
            _quote_unsafe(value)
