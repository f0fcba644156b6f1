"""GitHub Actions helpers: annotation escaping (validate --format github) and stop-commands."""

from __future__ import annotations

import pytest

from reconciler.diagnostics import Diagnostic
from reconciler.render.github import (
    annotation,
    annotation_for,
    escape_controls,
    one_line,
    stop_commands,
)


def test_annotation_escapes_data_and_properties_as_the_toolkit_does() -> None:
    line = annotation("bad: 50%\r\nnext", file="a,b:c.yaml", line=3, col=5)
    assert line == "::error file=a%2Cb%3Ac.yaml,line=3,col=5::bad: 50%25%0D%0Anext"
    assert "\n" not in line


def test_annotation_for_a_diagnostic() -> None:
    diagnostic = Diagnostic(
        "manifests/x.yaml", 12, 7, "unknown field 'sendr' (did you mean 'sender'?)"
    )
    assert annotation_for(diagnostic) == (
        "::error file=manifests/x.yaml,line=12,col=7::unknown field 'sendr' (did you mean 'sender'?)"
    )
    assert annotation_for(Diagnostic("x.yaml", 0, 0, "m"), "warning") == "::warning file=x.yaml::m"


def test_annotation_shows_ansi_escapes_instead_of_passing_them() -> None:
    assert annotation("\x1b[31mred", title="t\x07") == "::error title=t␇::␛[31mred"
    with pytest.raises(ValueError, match="level"):
        annotation("m", level="add-mask")


def test_escape_controls_keeps_tabs_newlines_and_text() -> None:
    assert escape_controls("a\tb\nc é 🎉") == "a\tb\nc é 🎉"
    assert escape_controls("\x00\x1b\x7f\x9b\u202e") == "␀␛␡<U+009B><U+202E>"
    assert one_line("a\nb\rc") == "a␤b␍c"


def test_stop_commands_wraps_text_with_an_unguessable_token() -> None:
    token = "0123456789abcdef0123"
    wrapped = stop_commands("::error::x\n", token)
    assert wrapped == f"::stop-commands::{token}\n::error::x\n::{token}::\n"
    with pytest.raises(ValueError, match="16"):
        stop_commands("x", "short")
    with pytest.raises(ValueError, match="occurs"):
        stop_commands(f"::{token}::", token)
