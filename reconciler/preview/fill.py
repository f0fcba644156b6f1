"""Templates filled with a sample profile: ``{{tag}}`` replaced by its value, or, when the
environment enables Liquid, the template rendered by python-liquid with the values as variables.

A placeholder the profile has no value for is kept, between the marks ``OPEN`` and ``CLOSE``
(two private-use characters no template holds), so each view can show it marked. Pure.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from liquid import Environment

OPEN, CLOSE = "\ue000", "\ue001"
_TAG = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}")
_MARKED = re.compile(f"{OPEN}([^{CLOSE}]*){CLOSE}")


@dataclass(frozen=True)
class Filled:
    """A filled template: ``text`` with unknown placeholders marked, their names, and why
    Liquid could not render it (the template was then filled tag by tag)."""

    text: str
    unknown: tuple[str, ...] = ()
    error: str | None = None


def fill(template: str, values: Mapping[str, str], *, liquid: bool, escape: bool) -> Filled:
    """``template`` with ``values``; ``escape`` HTML-escapes each value (for an email body)."""
    error = None
    if liquid and ("{{" in template or "{%" in template):
        rendered = _liquid_render(template, values, escape)
        if isinstance(rendered, Filled):
            return rendered
        error = rendered
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        if value is None:
            unknown.append(name)
            return f"{OPEN}{name}{CLOSE}"
        return html.escape(value) if escape else value

    text = _TAG.sub(replace, template) if "{{" in template else template
    return Filled(text, tuple(dict.fromkeys(unknown)), error)


def spans(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``text`` with each marked placeholder written back as ``{{name}}``, and where each one
    is in it: what a text view shows, and what lint's SMS arithmetic counts."""
    if OPEN not in text:
        return text, ()
    out: list[str] = []
    found: list[tuple[int, int]] = []
    at = 0
    length = 0
    for match in _MARKED.finditer(text):
        before = text[at : match.start()]
        out.append(before)
        length += len(before)
        shown = "{{" + match.group(1) + "}}"
        found.append((length, length + len(shown)))
        out.append(shown)
        length += len(shown)
        at = match.end()
    out.append(text[at:])
    return "".join(out), tuple(found)


def marked_pieces(text: str) -> Iterator[tuple[str, bool]]:
    """``text`` in pieces, each with whether it is a marked placeholder (as ``{{name}}``)."""
    at = 0
    for match in _MARKED.finditer(text):
        if match.start() > at:
            yield text[at : match.start()], False
        yield "{{" + match.group(1) + "}}", True
        at = match.end()
    if at < len(text):
        yield text[at:], False


def _liquid_render(template: str, values: Mapping[str, str], escape: bool) -> Filled | str:
    """The template rendered by Liquid, or why it cannot be."""
    from liquid.exceptions import Error

    context: dict[str, object] = {}
    for name, value in values.items():
        shown = html.escape(value) if escape else value
        *parents, leaf = name.split(".")
        scope = context
        for parent in parents:  # extended_field.store: a nested variable
            child = scope.setdefault(parent, {})
            if not isinstance(child, dict):
                break
            scope = child
        else:
            scope[leaf] = shown
    try:
        text = _environment().from_string(template).render(**context)
    except Error as exc:
        return str(getattr(exc, "message", None) or exc).split(", on line")[0]
    except Exception as exc:  # a filter that fails on a sample value: show the template
        return f"{type(exc).__name__}: {exc}"
    unknown = tuple(dict.fromkeys(m.group(1) for m in _MARKED.finditer(text)))
    return Filled(text, unknown)


@cache
def _environment() -> Environment:
    from liquid import Environment, Undefined

    class Marked(Undefined):
        """An undefined variable renders as its marked name, never as nothing."""

        def __str__(self) -> str:
            return f"{OPEN}{self.name}{CLOSE}"

    class Limited(Environment):
        """A template cannot take the machine: loops, output and assigned values are capped
        far above what a message needs (Liquid's reason is then shown on the card)."""

        loop_iteration_limit = 100_000
        output_stream_limit = 2_000_000  # characters; an email past ~100 kB is clipped anyway
        local_namespace_limit = 2_000_000

    return Limited(undefined=Marked)
