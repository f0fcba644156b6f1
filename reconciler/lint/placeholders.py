"""Placeholders in templates: ``{{tag}}`` balance and names against Capillary's catalogue,
``{% … %}`` Liquid tags, and ``${…}`` left after interpolation. Pure scanning of one string;
Liquid itself is parsed only when an environment sets ``liquid: true``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from liquid import Environment

# The tokens Capillary's documentation uses for its labels ("dynamic tags"). Target and
# milestone tags are documented nowhere: environments list theirs in ``tags:``.
CATALOGUE = frozenset(
    {
        "first_name",
        "last_name",
        "fullname",
        "cust_name",
        "slab_name",
        "unsubscribe",
        "optout",
        "voucher",
        "voucher_code",
        "voucher_expiry_date",
        "validation_code",
        "valid_days_from_create",
        "offer_name",
        "customer_mobile",
        "customer_email",
        "expiring_points_value",
        "recommended_products",
        "event_name",
        "custom_field_name",
        "custom_field_value",
    }
)
CATALOGUE_PREFIXES = ("extended_field.",)  # extended_field.<name>

_TOKEN = re.compile(r"\{\{|\{%|\}\}|%\}|\$\{")
_SIMPLE_TAG = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}")
_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*")
_LIQUID_NAMES = re.compile(
    r"\{%-?\s*(?:assign|capture|increment|decrement)\s+([A-Za-z_]\w*)"
    r"|\{%-?\s*for\s+([A-Za-z_]\w*)\s+in\b"
)
_LIQUID_BUILTINS = frozenset({"forloop", "tablerowloop", "empty", "blank", "nil", "true", "false"})


@dataclass(frozen=True)
class Problem:
    """Something wrong at ``index`` of the scanned text."""

    kind: Literal["syntax", "unknown", "variable", "liquid-tag"]
    index: int
    message: str
    fix: str = ""


@dataclass(frozen=True)
class Scan:
    """What ``scan`` found: tags by name with their index, Liquid tags, and problems."""

    tags: tuple[tuple[str, int], ...] = ()
    liquid_tags: tuple[int, ...] = ()
    problems: tuple[Problem, ...] = field(default=())


_NOTHING = Scan()


def scan(text: str, *, liquid: bool = False) -> Scan:
    """Every ``{{ }}``, ``{% %}`` and ``${`` of ``text``; unbalanced or empty ones are problems."""
    if "{" not in text and "}" not in text:
        return _NOTHING
    simple = [(m.group(1), m.start()) for m in _SIMPLE_TAG.finditer(text)]
    if 2 * len(simple) == text.count("{") == text.count("}"):
        return Scan(tuple(simple))  # only well-formed {{name}} tags: the common case
    tags: list[tuple[str, int]] = []
    liquid_tags: list[int] = []
    problems: list[Problem] = []
    position = 0
    while (match := _TOKEN.search(text, position)) is not None:
        mark, start = match.group(), match.start()
        position = match.end()
        if mark == "${":
            problems.append(_leftover(text, start))
        elif mark in ("}}", "%}"):
            opener = "{{" if mark == "}}" else "{%"
            problems.append(Problem("syntax", start, f"'{mark}' without an opening '{opener}'"))
        else:
            closer = "}}" if mark == "{{" else "%}"
            end = _closing(text, position, closer)
            if end is None:
                problems.append(Problem("syntax", start, f"'{mark}' is not closed with '{closer}'"))
                continue
            inner = text[position:end]
            position = end + 2
            if mark == "{%":
                liquid_tags.append(start)
            elif not inner.strip():
                problems.append(Problem("syntax", start, "empty placeholder '{{}}'"))
            else:
                name = _name(inner, liquid)
                if name is None:
                    shown = _shown(inner)
                    problems.append(
                        Problem("syntax", start, f"'{{{{{shown}}}}}' does not hold one tag name")
                    )
                else:
                    tags.append((name, start))
    return Scan(tuple(tags), tuple(liquid_tags), tuple(problems))


def _closing(text: str, start: int, closer: str) -> int | None:
    """Where ``closer`` ends the tag opened before ``start``; None when another tag opens
    first (the first one was never closed) or it never comes."""
    end = text.find(closer, start)
    if end < 0:
        return None
    reopened = min(
        (i for i in (text.find("{{", start), text.find("{%", start)) if i >= 0), default=-1
    )
    return None if 0 <= reopened < end else end


def _name(inner: str, liquid: bool) -> str | None:
    """The tag name of a placeholder's inside: ``first_name``, or with Liquid the variable
    before its filters (``first_name | upcase``)."""
    match = _NAME.match(inner)
    if match is None:
        return None
    rest = inner[match.end() :]
    if rest and not (liquid and (rest.startswith("|") or rest.startswith("["))):
        return None
    return match.group(1)


def _shown(text: str, limit: int = 40) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _leftover(text: str, start: int) -> Problem:
    end = text.find("}", start)
    shown = _shown(text[start : end + 1] if end >= 0 else text[start:])
    return Problem("variable", start, f"'{shown}' is sent as it is: it was not interpolated")


def liquid_names(text: str) -> set[str]:
    """Variables a Liquid template defines itself (assign, capture, for loops)."""
    return {a or b for a, b in _LIQUID_NAMES.findall(text)} | _LIQUID_BUILTINS


def known(name: str, tags: Collection[str]) -> bool:
    """Whether ``name`` is in the catalogue or the environment's tags (``prefix.*`` entries
    cover every name under the prefix)."""
    if name in CATALOGUE or name in tags:
        return True
    if name.startswith(CATALOGUE_PREFIXES):
        return True
    return any(
        tag.endswith(".*") and name.startswith(tag[:-1]) for tag in tags if tag.endswith(".*")
    )


def unknown_tags(
    found: Collection[tuple[str, int]], tags: Collection[str], *, local: Collection[str] = ()
) -> Iterator[Problem]:
    """An ``unknown`` problem for each tag name that is neither known nor defined in the
    template: at its first use, counting the others."""
    first: dict[str, int] = {}
    uses: dict[str, int] = {}
    for name, index in found:
        root = name.split(".")[0]
        if known(name, tags) or name in local or root in local:
            continue
        first.setdefault(name, index)
        uses[name] = uses.get(name, 0) + 1
    for name, index in first.items():
        close = suggestion(name, tags)
        hint = f"; did you mean '{close}'?" if close else ""
        fix = f"write {{{{{close}}}}}" if close else ""
        times = f" ({uses[name]:,} uses)" if uses[name] > 1 else ""
        yield Problem("unknown", index, f"unknown tag '{{{{{name}}}}}'{times}{hint}", fix)


def suggestion(name: str, tags: Collection[str]) -> str | None:
    names = sorted(CATALOGUE | {t for t in tags if not t.endswith(".*")})
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.8)
    return close[0] if close else None


def tags_in(text: str) -> set[str]:
    """The tag names a template uses (export lists the ones lint does not know)."""
    return {name for name, _ in scan(text, liquid=True).tags}


@dataclass(frozen=True)
class LiquidProblem:
    line: int  # 1-based, in the template
    message: str


def liquid_problem(text: str) -> LiquidProblem | None:
    """Why Liquid cannot parse ``text``, or None."""
    from liquid.exceptions import Error

    try:
        _liquid().parse(text)
    except Error as exc:
        message = str(getattr(exc, "message", None) or exc).split(", on line")[0]
        return LiquidProblem(int(getattr(exc, "linenum", None) or 1), message)
    return None


@cache
def _liquid() -> Environment:
    from liquid import Environment

    return Environment()


_SPANS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def masked(text: str) -> str:
    """``text`` with each placeholder and Liquid tag written as as many plain letters: what an
    SMS measures when a tag's value is as long as the tag, and its braces are never sent."""
    if "{" not in text:
        return text
    return _SPANS.sub(lambda m: "x" * len(m.group()), text)
