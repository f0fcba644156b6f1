"""A ``messageTemplateFile`` is a template of the repository, nothing else (issue 14 item 3).

A pull request could otherwise point one at ``../.git/config`` (whose remote URL carries a
token), at an ignored ``.env``, at a link out of the checkout, at a binary, or at a named pipe
that hangs the run; the content would land in the PR comment and, on apply, in a live
template. Each is a one-line error at the value's position, validate, plan and apply exit 1,
and nothing reaches the API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from tests.support.cli import cli_env, write_config

TOKENS = {
    "remote": "ghp_canaryRemoteToken0123456789abcdef",
    "env": "canary-dotenv-secret-4711",
    "outside": "canary-outside-file-secret-99",
    "bare": "canary-bare-repo-token-55",
    "module": "canary-gitfile-token-66",
}
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _build(repo: Path, tmp_path: Path) -> None:
    """A git checkout with every kind of file a template must not be."""
    _git(repo, "init", "-q")
    _git(
        repo,
        "remote",
        "add",
        "origin",
        f"https://x-access-token:{TOKENS['remote']}@git.example/o/r.git",
    )
    (repo / ".gitignore").write_text(".env\nlocal/\n*.html\n!templates/*.html\n")
    (repo / ".env").write_text(f"API_TOKEN={TOKENS['env']}\n")
    (repo / "local").mkdir()
    (repo / "local" / "notes.txt").write_text(f"{TOKENS['env']}\n")
    templates = repo / "templates"
    templates.mkdir()
    (templates / "ok.html").write_text("Hello {{first_name}}\n")
    (templates / "untracked.txt").write_text("Not committed yet, not ignored: fine\n")
    (repo / "tracked.html").write_text("Ignored by pattern, but tracked: fine\n")
    _git(repo, "add", "-f", "tracked.html")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{TOKENS['outside']}\n")
    (templates / "out.html").symlink_to(outside / "secret.txt")
    (templates / "up.html").symlink_to(repo.parent / "outside" / "secret.txt")
    (templates / "cfg.html").symlink_to(repo / ".git" / "config")
    (templates / "envlink.html").symlink_to(repo / ".env")
    (templates / "logo.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (templates / "latin1.html").write_bytes("caf\xe9\n".encode("latin-1"))
    (templates / "nul.html").write_bytes(b"Hello\x00world\n")
    os.mkfifo(templates / "pipe.html")
    (templates / "dir.html").mkdir()
    (templates / "big.html").write_text("x" * (1024 * 1024 + 1))
    (templates / "loop.html").symlink_to(templates / "loop.html")
    # A git directory under another name (a bare clone kept in the checkout) ...
    subprocess.run(["git", "init", "-q", "--bare", str(repo / "backup.git")], check=True)
    with (repo / "backup.git" / "config").open("a") as config:
        config.write(f'[remote "origin"]\n\turl = https://u:{TOKENS["bare"]}@git.example/x\n')
    # ... and a submodule-style checkout whose .git is a file.
    vendored = repo / "vendor" / "lib"
    vendored.mkdir(parents=True)
    (vendored / ".git").write_text(f"gitdir: ../../.git/modules/lib\n# {TOKENS['module']}\n")
    (vendored / ".env").write_text(f"{TOKENS['env']}\n")  # its .git is no repository
    # A nested checkout registered in the outer index (as a submodule is) answers for its files.
    nested = repo / "nested"
    nested.mkdir()
    _git(nested, "init", "-q")
    (nested / ".gitignore").write_text("*.secret\n")
    (nested / "key.secret").write_text(f"{TOKENS['env']}\n")
    _git(nested, "add", ".gitignore")
    _git(nested, "commit", "-qm", "nested")
    _git(repo, "add", "nested")


# (messageTemplateFile as written, the reason the error gives)
REFUSED = [
    ("../.git/config", "is inside a git directory; a template must be a file of the repository"),
    ("../.GIT/config", "is inside a git directory; a template must be a file of the repository"),
    ("../templates/../.git/config", "is inside a git directory; a template must be a file of the repository"),
    ("../.git/../.git/HEAD", "is inside a git directory; a template must be a file of the repository"),
    ("../.git.", "is inside a git directory; a template must be a file of the repository"),
    ("../vendor/lib/.git", "is inside a git directory; a template must be a file of the repository"),
    ("../backup.git/config", "is inside a git directory; a template must be a file of the repository"),
    ("../templates/cfg.html", "is inside a git directory; a template must be a file of the repository"),
    ("../.env", "is ignored by git (.gitignore:1: .env); a template must be a file of the repository"),
    ("../local/notes.txt", "is ignored by git (.gitignore:2: local/); a template must be a file of the repository"),
    ("../vendor/lib/.env", "is ignored by git (.gitignore:1: .env); a template must be a file of the repository"),
    ("../nested/key.secret", "is ignored by git (.gitignore:1: *.secret); a template must be a file of the repository"),
    ("../templates/envlink.html", "is ignored by git (.gitignore:1: .env); a template must be a file of the repository"),
    ("../templates/out.html", "is a link to a file outside the repository; templates are read only from inside it"),
    ("../templates/up.html", "is a link to a file outside the repository; templates are read only from inside it"),
    ("../../outside/secret.txt", "is outside the repository"),
    ("../templates/logo.html", "is not a text file: not valid UTF-8 at line 1, column 1"),
    ("../templates/latin1.html", "is not a text file: not valid UTF-8 at line 1, column 4"),
    ("../templates/nul.html", "is not a text file: it contains a NUL byte at line 1, column 6"),
    ("../templates/pipe.html", "is not a regular file (a named pipe)"),
    ("../templates/dir.html", "is a directory"),
    ("../templates/big.html", "is 1,048,577 bytes; template files are limited to 1 MiB"),
    ("../templates/loop.html", "cannot be resolved: it is a symbolic link loop"),
]  # fmt: skip
ACCEPTED = ["../templates/ok.html", "../tracked.html", "../templates/untracked.txt"]


def _run(repo: Path, *argv: str, **env: str) -> tuple[int, str, str]:
    """``reconciler ARGV`` as a real process, so a read that blocks (a named pipe) fails the
    test by its timeout instead of hanging it."""
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *argv],
        cwd=repo,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode, done.stdout, done.stderr


def _manifest(files: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """One document per file; returns the text and each value's line and column."""
    lines: list[str] = []
    where: list[tuple[int, int]] = []
    for index, name in enumerate(files):
        if lines:
            lines.append("---")
        lines += [
            "apiVersion: reconciler/v1",
            "kind: TargetCommunications",
            f"metadata: {{name: t-{index}}}",
            f"target: {{targetGroup: 2163, target: {9000 + index}}}",
            "communications:",
            "  - communicationType: START",
            "    channelId: 1",
            "    sender: NWREWARDS",
        ]
        prefix = "    messageTemplateFile: "
        lines.append(prefix + json.dumps(name))
        where.append((len(lines), len(prefix) + 1))
    return "\n".join(lines) + "\n", where


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_a_template_file_must_be_a_text_file_of_the_repository(
    repo: Path, tmp_path: Path, sandbox: SandboxServer, command: str
) -> None:
    _build(repo, tmp_path)
    write_config(repo, sandbox.url)
    text, where = _manifest([name for name, _ in REFUSED] + ACCEPTED)
    (repo / "manifests" / "bad.yaml").write_text(text)
    sandbox.store.clear_request_log()
    argv = ["apply", "--auto-approve"] if command == "apply" else [command]
    code, out, err = _run(repo, *argv)
    assert code == 1
    expected = [
        f"error: manifests/bad.yaml:{line}:{column}: messageTemplateFile '{name}' {reason}"
        for (name, reason), (line, column) in zip(REFUSED, where, strict=False)
    ]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == expected
    assert sandbox.store.request_log() == []  # nothing read, nothing written
    for token in TOKENS.values():
        assert token not in out + err


def test_the_accepted_templates_are_read_and_planned(
    repo: Path, tmp_path: Path, sandbox: SandboxServer
) -> None:
    _build(repo, tmp_path)
    write_config(repo, sandbox.url)
    text, _ = _manifest(["../templates/ok.html"])
    (repo / "manifests" / "ok.yaml").write_text(text.replace("9000", "2317"))
    text, _ = _manifest(ACCEPTED)
    (repo / "manifests" / "more.yaml").write_text(text.replace("t-", "more-"))
    assert _run(repo, "validate", "manifests/more.yaml") == (0, "ok: 3 documents in 1 file\n", "")
    assert _run(repo, "validate") == (0, "ok: 4 documents in 2 files\n", "")
    code, out, err = _run(repo, "plan", "--format", "json", "manifests/ok.yaml")
    assert code == 0, err
    after = [c["after"] for t in json.loads(out)["targets"] for c in t["changes"] if c["after"]]
    assert any(a["messageTemplate"] == "Hello {{first_name}}\n" for a in after)


def test_without_git_the_git_directory_is_still_refused_but_nothing_is_ignored(
    repo: Path, tmp_path: Path
) -> None:
    """No git program (or no repository): no ignore check, by design; the rest still holds."""
    _build(repo, tmp_path)
    text, where = _manifest(["../.git/config", "../backup.git/config", "../.env"])
    (repo / "manifests" / "bad.yaml").write_text(text)
    code, out, err = _run(
        repo, "--env", "sandbox", "validate", PATH=str(tmp_path / "no-programs-here")
    )
    assert code == 1
    reason = "is inside a git directory; a template must be a file of the repository"
    assert err.splitlines() == [
        f"error: manifests/bad.yaml:{where[0][0]}:{where[0][1]}: messageTemplateFile "
        f"'../.git/config' {reason}",
        f"error: manifests/bad.yaml:{where[1][0]}:{where[1][1]}: messageTemplateFile "
        f"'../backup.git/config' {reason}",
        "2 problems found",
    ]
    assert TOKENS["remote"] not in out + err


def test_export_force_never_waits_on_a_named_pipe_named_as_a_template(
    repo: Path, sandbox: SandboxServer
) -> None:
    """``export --force`` reads an existing manifest's template files to keep the ones still
    live; a named pipe there is not a template (and is never opened), so the live template is
    written inline."""
    from ruamel.yaml import YAML

    write_config(repo, sandbox.url)
    assert _run(repo, "export", "--target-group", "2170", "--out-dir", "exported")[0] == 0
    path = next((repo / "exported").rglob("weekly-shopper-*.yaml"))
    yaml = YAML(typ="rt")
    document = yaml.load(path.read_text())
    entry = document["communications"][0]
    live_template = entry.pop("messageTemplate")
    entry["messageTemplateFile"] = "pipe.html"
    os.mkfifo(path.parent / "pipe.html")
    with path.open("w") as stream:
        yaml.dump(document, stream)
    code, _, err = _run(
        repo, "export", "--target-group", "2170", "--out-dir", "exported", "--force"
    )
    assert code == 0, err
    reread = YAML(typ="safe").load(path.read_text())
    assert "messageTemplateFile" not in reread["communications"][0]
    assert reread["communications"][0]["messageTemplate"] == live_template


@pytest.mark.parametrize(
    ("part", "is_git"),
    [
        (".git", True),
        (".GIT", True),
        (".Git", True),
        (".git.", True),  # NTFS drops trailing dots and spaces
        (".git ", True),
        (".git::$INDEX_ALLOCATION", True),  # an NTFS stream of the directory
        ("GIT~1", True),  # its 8.3 short name
        (".g\u200cit", True),  # HFS+ ignores zero-width joiners
        ("\ufeff.git", True),
        (".github", False),
        (".gitignore", False),
        ("git", False),
        ("x.git", False),
        ("templates", False),
    ],
)
def test_every_spelling_of_git_is_a_git_name(part: str, is_git: bool) -> None:
    from reconciler.manifests.templates import is_git_name

    assert is_git_name(part) is is_git
