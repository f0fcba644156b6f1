"""Issue 10 case 11 (SPEC §7): text from manifests and the API is printed inert.

Real ``reconciler`` processes run under ``GITHUB_ACTIONS=true`` with stdout and stderr as pipes,
on manifests whose names and templates carry workflow commands (``::add-mask::``, ``::error::``,
``::stop-commands::``, legacy ``##[error]``), ANSI and OSC escape sequences, a carriage return,
and markdown that would mention, render HTML or close a code fence. A small emulation of the
runner's command parsing finds no command outside the product's own stop-commands fences, and
no escape sequence reaches the log; the markdown (stdout and step summary) shows the hostile
text only inside code. ``tests/render/test_render_inert.py`` pins the renderers themselves.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from reconciler.sandbox.seed import EMAIL, SMS
from tests.support.cli import Run, cli_env, spawn_cli, write_config
from tests.support.manifests import communication, manifest

HOSTILE_LINES = [
    "::add-mask::x",
    "::error::x",
    "  ::warning file=a.yaml,line=1::indented",
    "::stop-commands::pwned",
    "::pwned::",
    "##[error]legacy command",
    "\x1b[31mred\x1b[0m and \x1b]0;window title\x07 and \x9b2J",
    "before\r::error::after a carriage return",
    "@team please look",
    '<img src=x onerror="alert(1)">',
    "```",
    "@team after the backticks <img src=y onerror=alert(2)>",
    "</details><script>alert(3)</script>",
]
TEMPLATE = "\n".join(HOSTILE_LINES) + "\n"
NAME = "::error::name \x1b[2J"
WORKFLOW_COMMAND = re.compile(r"^::[A-Za-z-]+( [^:]*)?::")


def runner_commands(text: str) -> list[str]:
    """Lines the GitHub runner would act on: ``::cmd::`` after leading whitespace outside a
    ``::stop-commands::TOKEN`` ... ``::TOKEN::`` fence, and ``##[`` anywhere (legacy)."""
    acted: list[str] = []
    resume: str | None = None
    for line in re.split(r"\r\n|\r|\n", text):
        body = line.lstrip()
        if resume is not None:
            if body == resume:
                resume = None
            continue
        if body.startswith("::stop-commands::"):
            resume = f"::{body.removeprefix('::stop-commands::')}::"
            continue
        if WORKFLOW_COMMAND.match(body) or "##[" in line:
            acted.append(line)
    return acted


def outside_code(markdown: str) -> str:
    """The markdown outside fenced code blocks (CommonMark: a fence closes with a run of the
    same character at least as long, and nothing else on the line)."""
    kept: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        stripped = line.strip()
        if fence is not None:
            if re.fullmatch(f"{re.escape(fence[0])}{{{len(fence)},}}", stripped):
                fence = None
            continue
        opened = re.match(r"(`{3,}|~{3,})", stripped)
        if opened:
            fence = opened.group(1)
            continue
        kept.append(line)
    return "\n".join(kept)


def assert_terminal_safe(text: str) -> None:
    assert runner_commands(text) == []
    for control in ("\x1b", "\x07", "\x9b", "\r"):
        assert control not in text, repr(control)


def assert_markdown_inert(markdown: str) -> None:
    visible = outside_code(markdown)
    for marker in ("@team", "<img", "onerror", "<script", "::error::x"):
        assert marker not in visible, marker
    assert "Plan:" in markdown or "No changes" in markdown or "drift" in markdown


@pytest.fixture
def hostile_repo(repo: Path, sandbox: SandboxServer) -> Path:
    documents = [
        manifest(
            NAME, 2163, 2319, [communication("START", EMAIL, TEMPLATE, subject=HOSTILE_LINES[0])]
        ),
        manifest(
            "@team <img src=z> `x` *bold*",
            2163,
            2317,
            [communication("REMINDER", SMS, TEMPLATE, sender="NWREWARDS", offset=3)],
        ),
    ]
    (repo / "manifests" / "hostile.yaml").write_text("---\n".join(documents))
    write_config(repo, sandbox.url)
    return repo


def run_all(
    repo: Path, commands: list[list[str]], env: dict[str, str]
) -> list[tuple[int, str, str]]:
    """Run read-only commands side by side (each a real process, stdout and stderr pipes)."""
    processes = [spawn_cli(argv, repo, env) for argv in commands]
    results = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        results.append((process.returncode, out, err))
    return results


def test_hostile_templates_print_inert_under_github_actions(hostile_repo: Path) -> None:
    summary = hostile_repo / "summary.md"
    env = cli_env(GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary))
    read_only = [
        ["validate"],
        ["plan"],
        ["plan", "--format", "markdown"],
        ["plan", "--format", "json"],
        ["drift"],
        ["drift", "--format", "markdown"],
    ]
    results = run_all(hostile_repo, read_only, env)
    results += run_all(hostile_repo, [["apply", "--auto-approve"]], env)
    results += run_all(hostile_repo, [["drift"]], env)  # the templates now come from the API

    for argv, (code, out, err) in zip([*read_only, ["apply"], ["drift"]], results, strict=True):
        assert code in (0, 2), (argv, err)
        assert_terminal_safe(out)
        assert_terminal_safe(err)
        if "markdown" in argv:
            assert_markdown_inert(out)
    assert "::add-mask::x" in results[3][1]  # inert is not lossy: the JSON keeps the data
    assert "Plan:" in results[1][1]
    assert_markdown_inert(summary.read_text())


def test_a_field_name_with_a_line_break_stays_on_its_error_line(repo: Path, cli: Run) -> None:
    """Found by this suite: the name was printed as is, so its second line began a command."""
    (repo / "manifests" / "bad.yaml").write_text(
        manifest("bad", 2163, 2317, [communication("START", EMAIL, "m")]).replace(
            "prune: true", 'prune: true\n"x\\n::error::injected \\u001b[2J": 1'
        )
    )
    code, out, err = cli("validate")
    assert code == 1
    assert_terminal_safe(out)
    assert_terminal_safe(err)
    assert [line[:7] for line in err.splitlines()] == ["error: ", "1 probl"]
