"""Make text from manifests and the API inert in terminals and GitHub Actions logs (SPEC §7).

Pure string functions, no environment lookups and no printing: the renderers apply them to
everything they emit, and the CLI uses ``annotation`` and ``stop_commands`` under Actions.
"""

from __future__ import annotations

import re

from reconciler.diagnostics import Diagnostic

# C0 controls except tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), line and
# paragraph separators, and the bidi controls that can make text read differently ("Trojan
# source"). Escape sequences start with ESC (0x1b), so escaping these makes ANSI inert.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# Inserted where a workflow command would start; invisible, and not whitespace to the runner.
ZERO_WIDTH_SPACE = "\u200b"


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode control pictures: ESC shows as ␛, CR as ␍
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def escape_controls(text: str) -> str:
    """Show control characters (ANSI escapes included) as visible symbols; keep tab and newline."""
    return _CONTROLS.sub(_picture, text)


def one_line(text: str) -> str:
    """``escape_controls`` plus newlines shown as ␤, for text that must stay on one line."""
    return escape_controls(text).replace("\n", "\u2424")


def neutralize_commands(text: str) -> str:
    """Stop any line of ``text`` from being read as a GitHub Actions workflow command.

    The runner acts on ``::command::`` at the start of a line after leading whitespace, and on
    the legacy ``##[command]`` anywhere in a line. A zero-width space breaks both without
    changing what a reader sees.
    """
    lines = text.split("\n")
    for index, line in enumerate(lines):
        line = line.replace("##[", f"##{ZERO_WIDTH_SPACE}[")
        body = line.lstrip()  # str.isspace covers more than .NET's TrimStart: errs safe
        if body.startswith("::"):
            indent = line[: len(line) - len(body)]
            line = f"{indent}:{ZERO_WIDTH_SPACE}:{body[2:]}"
        lines[index] = line
    return "\n".join(lines)


def inert(text: str) -> str:
    """Escape controls and neutralise workflow commands: safe to print anywhere."""
    return neutralize_commands(escape_controls(text))


def stop_commands(text: str, token: str) -> str:
    """Wrap ``text`` in ``::stop-commands::`` so the runner ignores every command inside it.

    ``token`` must be unguessable (e.g. ``secrets.token_hex(16)``): text that contains it could
    otherwise resume command processing.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,}", token):  # also rules out "pause-logging"
        raise ValueError("stop-commands token must be 16+ letters, digits, '-' or '_'")
    if token in text:
        raise ValueError("stop-commands token occurs in the text it would protect")
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"::stop-commands::{token}\n{body}::{token}::\n"


def escape_data(value: str) -> str:
    """Escape a workflow command's message (GitHub toolkit ``escapeData``)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow command's property value (GitHub toolkit ``escapeProperty``)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(
    message: str,
    *,
    level: str = "error",
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    """One ``::error file=…,line=…,col=…::message`` line (no trailing newline)."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"unknown annotation level {level!r}")
    props = [
        (name, str(value))
        for name, value in (("file", file), ("line", line), ("col", col), ("title", title))
        if value not in (None, "", 0)
    ]
    # Toolkit escaping first (it owns \r and \n), then any other control made visible.
    head = ",".join(f"{name}={escape_controls(escape_property(value))}" for name, value in props)
    return f"::{level}{' ' + head if head else ''}::{escape_controls(escape_data(message))}"


def annotation_for(diagnostic: Diagnostic, level: str | None = None) -> str:
    """The annotation for a diagnostic (``validate``/``lint --format github``): at its
    severity, titled with its lint rule, the fix after the message."""
    return annotation(
        diagnostic.text,
        level=level or diagnostic.severity,
        file=diagnostic.path,
        line=diagnostic.line or None,
        col=diagnostic.column or None,
        title=diagnostic.rule or None,
    )
