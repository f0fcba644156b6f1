"""``${name}`` interpolation from the selected environment's ``vars`` (SPEC §3, §7).

Never reads the process environment: values come only from the configuration.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

_TOKEN = re.compile(r"\$\$\{|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*$")


def interpolate(text: str, variables: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace ``${name}`` with its value and ``$${`` with a literal ``${``.

    Returns the new text and a list of problems (unknown or malformed references).
    """
    if "$" not in text:
        return text, []
    out: list[str] = []
    problems: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() < pos:
            continue
        out.append(text[pos : match.start()])
        if match.group() == "$${":
            out.append("${")
            pos = match.end()
            continue
        end = text.find("}", match.end())
        if end < 0:
            problems.append("unterminated '${': close it with '}' or write '$${' for a literal")
            out.append(text[match.start() :])
            pos = len(text)
            break
        name = text[match.end() : end]
        pos = end + 1
        if not _NAME.match(name):
            problems.append(f"'${{{name}}}' is not a valid variable reference")
        elif name in variables:
            out.append(variables[name])
            continue
        else:
            problems.append(unknown_variable(name, variables))
        out.append(text[match.start() : pos])
    out.append(text[pos:])
    return "".join(out), problems


def unknown_variable(name: str, variables: Mapping[str, str]) -> str:
    message = f"unknown variable '${{{name}}}'"
    close = difflib.get_close_matches(name, list(variables), n=1)
    if close:
        return f"{message}; did you mean '${{{close[0]}}}'?"
    if variables:
        return f"{message}; this environment's vars are: {', '.join(sorted(variables))}"
    return f"{message}; this environment defines no vars"


def origins(text: str, variables: Mapping[str, str]) -> list[tuple[int, str | None]]:
    """For each character ``interpolate(text, variables)`` returns: the index in ``text`` it
    was written at, and the variable it came from (then the index is that of its ``${``).

    Lets a diagnostic about the interpolated text point at the manifest; it follows
    ``interpolate`` step by step (a test holds the two together).
    """
    out: list[tuple[int, str | None]] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() < pos:
            continue
        out.extend((i, None) for i in range(pos, match.start()))
        if match.group() == "$${":
            out += [(match.start(), None), (match.start() + 2, None)]
            pos = match.end()
            continue
        end = text.find("}", match.end())
        if end < 0:
            out.extend((i, None) for i in range(match.start(), len(text)))
            return out
        name = text[match.end() : end]
        pos = end + 1
        if _NAME.match(name) and name in variables:
            out.extend((match.start(), name) for _ in variables[name])
        else:
            out.extend((i, None) for i in range(match.start(), pos))
    out.extend((i, None) for i in range(pos, len(text)))
    return out
