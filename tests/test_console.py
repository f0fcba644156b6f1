"""The console, the only writer to stdout and stderr: when it colours, how product text and
messages are written (fenced under GitHub Actions, scrubbed, one line), and what a prompt takes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from reconciler import redact
from reconciler.console import Console


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_or_when_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Console(io.StringIO(), io.StringIO()).color is False
    assert Console(Terminal(), io.StringIO()).color is True
    assert Console(Terminal(), io.StringIO(), no_color=True).color is False
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert Console(io.StringIO(), io.StringIO()).color is True


def test_no_color_wins_over_a_terminal_and_force_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "")  # set, even empty, means no colour
    assert Console(Terminal(), io.StringIO()).color is False


def test_product_text_is_written_unchanged_with_one_final_newline() -> None:
    out = io.StringIO()
    console = Console(out, io.StringIO())
    console.print("::add-mask::x\n  line two")
    console.print("ends\n")
    console.write("exact", err=False)
    assert out.getvalue() == "::add-mask::x\n  line two\nends\nexact"


def test_under_github_actions_product_text_is_fenced_from_workflow_commands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out = io.StringIO()
    console = Console(out, io.StringIO())
    console.print("::error::not a command")
    console.raw("::error file=a.yaml::an annotation")
    match = re.fullmatch(
        r"::stop-commands::([0-9a-f]{32})\n::error::not a command\n::\1::\n"
        r"::error file=a.yaml::an annotation\n",
        out.getvalue(),
    )
    assert match, out.getvalue()
    console.print("again")
    tokens = re.findall(r"::stop-commands::([0-9a-f]{32})", out.getvalue())
    assert len(set(tokens)) == 2  # a fresh token each time: a template cannot guess it


def test_under_github_actions_a_file_is_not_fenced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    with (tmp_path / "plan.txt").open("w") as out:
        Console(out, io.StringIO()).print("::error::stays as written")
    assert (tmp_path / "plan.txt").read_text() == "::error::stays as written\n"


def test_messages_are_one_scrubbed_inert_line_on_stderr() -> None:
    redact.register("s3cret-Value-42")
    out, err = io.StringIO(), io.StringIO()
    console = Console(out, err)
    console.error("rejected s3cret-Value-42\n::add-mask::x")
    console.warn("careful ##[error]legacy command")
    console.info("note")
    assert out.getvalue() == ""
    assert err.getvalue().split("\n") == [
        "error: rejected ***\u2424::add-mask::x",  # the line break is shown, never made
        "warning: careful ##\u200b[error]legacy command",  # a command anywhere is broken
        "note",
        "",
    ]


def test_debug_lines_only_when_verbose() -> None:
    quiet, loud = io.StringIO(), io.StringIO()
    Console(io.StringIO(), quiet).debug("GET /v3/targetGroups")
    Console(io.StringIO(), loud, verbose=True).debug("GET /v3/targetGroups")
    assert quiet.getvalue() == ""
    assert loud.getvalue() == "debug: GET /v3/targetGroups\n"


@pytest.mark.parametrize(
    ("answer", "proceeds"),
    [("yes\n", True), ("  yes \n", True), ("y\n", False), ("YES\n", False), ("", False)],
)
def test_only_the_exact_answer_yes_proceeds(answer: str, proceeds: bool) -> None:
    err = io.StringIO()
    console = Console(io.StringIO(), err, stdin=io.StringIO(answer))
    assert console.confirm("Apply 3 changes?") is proceeds
    assert err.getvalue() == "Apply 3 changes? Only 'yes' will be accepted: "


def test_not_interactive_unless_stdin_and_stderr_are_terminals() -> None:
    assert Console(io.StringIO(), Terminal(), stdin=Terminal()).interactive is True
    assert Console(io.StringIO(), io.StringIO(), stdin=Terminal()).interactive is False
    assert Console(io.StringIO(), Terminal(), stdin=io.StringIO()).interactive is False


def test_no_progress_bar_off_a_terminal_or_for_few_items() -> None:
    for err, total in ((io.StringIO(), 500), (Terminal(), 20)):
        console = Console(io.StringIO(), err)
        with console.progress(total, "reading") as progress:
            for _ in range(total):
                progress.advance()
        assert err.getvalue() == ""


# --- progress bars never interleave with lines (issue 20 item 3) ---------------------------

_ANSI = __import__("re").compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _screen_lines(raw: str) -> list[str]:
    """What a terminal shows line by line once cursor moves and erases are taken out: each
    ``\\r`` starts the line again, as the bar redraws itself."""
    lines = []
    for line in _ANSI.sub("", raw).split("\n"):
        lines.append(line.split("\r")[-1])
    return lines


def test_lines_written_while_a_bar_is_shown_go_above_it_whole() -> None:
    screen = Terminal()
    console = Console(Terminal(), screen)
    console.out = screen  # stdout and stderr on one terminal, as in a shell
    with console.progress(30, "applying") as bar:
        for n in range(30):
            console.print(f"✓ target-{n}: updated 1")
            if n == 3:
                console.warn("a warning in the middle")
            bar.advance()
    shown = _screen_lines(screen.getvalue())
    for n in range(30):
        assert f"✓ target-{n}: updated 1" in shown  # a whole line of its own
    assert "warning: a warning in the middle" in shown
    assert not any("applying" in line and "target-" in line for line in shown)


def test_off_a_terminal_stdout_gets_the_lines_and_stderr_only_the_bar() -> None:
    out, err = io.StringIO(), Terminal()
    console = Console(out, err)
    with console.progress(30, "applying") as bar:
        console.print("✓ a line")
        bar.advance()
    assert out.getvalue() == "✓ a line\n"
    assert "✓ a line" not in err.getvalue()


def test_a_read_bar_appears_once_more_than_20_targets_are_found_with_an_eta() -> None:
    err = Terminal()
    console = Console(io.StringIO(), err)
    with console.progress(0, "reading") as bar:
        for found in range(1, 21):
            bar.update(0, found)
        assert err.getvalue() == ""  # 20 targets: no bar
        bar.update(0, 25)
        bar.update(10, 25)
    text = _ANSI.sub("", err.getvalue())
    assert "reading" in text
    assert "/25" in text
    assert "ETA" in text
