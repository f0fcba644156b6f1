"""Issue 10 case 1: hostile manifest input is refused with one located line, before any request.

``tests/manifests/test_yamlstrict.py`` pins the reader on each input; this file pins the end
to end promise: through ``validate``, ``plan`` and ``apply`` against a real sandbox, each input
gives a located one-line error, exit 1, no traceback, and the sandbox sees no request at all.
The runaway inputs (alias bomb, deep nesting, huge file) are also shown to stop early.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from pathlib import Path

import pytest

from reconciler.manifests import load as load_module
from reconciler.manifests import yamlstrict
from reconciler.sandbox import SandboxServer
from reconciler.sandbox.seed import EMAIL
from tests.support.cli import Run, write_config
from tests.support.manifests import communication, manifest

GOOD = manifest("good", 2163, 2317, [communication("START", EMAIL, "Hi {{first_name}}")])
BASE = """apiVersion: reconciler/v1
kind: TargetCommunications
metadata: {name: hostile}
target: {targetGroup: 2163, target: 2318}
communications:
  - communicationType: START
    channelId: 2
    sender: SENDER
    subjectTemplate: "s"
    messageTemplate: "m"
"""


def with_sender(value: str) -> bytes:
    return BASE.replace("SENDER", value).encode()


def alias_bomb() -> bytes:
    """About half a kilobyte that a naive loader expands to 10**9 strings."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for n in range(1, 10):
        prev = f"*a{n - 1}"
        lines.append(f"a{n}: &a{n} [{', '.join([prev] * 10)}]")
    return ("\n".join(lines) + "\n").encode()


DEEP = ("x: " + "[" * 5000 + "]" * 5000 + "\n").encode()
HUGE = BASE.encode() + b"# " + b"padding " * (2 * 1024 * 1024 // 8) + b"\n"

# (id, file content, a fragment of the one error line, the line it must point at or None)
HOSTILE: list[tuple[str, bytes, str, int | None]] = [
    (
        "duplicate-key",
        BASE.replace('    subjectTemplate: "s"\n', "    sender: b@example.com\n").encode(),
        "duplicate key 'sender' (first at line 8)",
        9,
    ),
    ("yaml-1.1-directive", b"%YAML 1.1\n---\n" + BASE.encode(), "%YAML 1.1 is not supported", 1),
    (
        "python-object-tag",
        with_sender('!!python/object/apply:os.system ["touch pwned"]'),
        "YAML tags are not allowed in manifests (found !!python/object/apply:os.system)",
        8,
    ),
    ("python-name-tag", with_sender("!!python/name:os.system"), "YAML tags are not allowed", 8),
    (
        "str-tag",
        with_sender("!!str 0123"),
        "YAML tags are not allowed in manifests (found !!str)",
        8,
    ),
    ("local-tag", with_sender("!include secrets.yaml"), "(found !include)", 8),
    ("verbatim-tag", with_sender("!<tag:yaml.org,2002:str> x"), "YAML tags are not allowed", 8),
    ("unquoted-NO", with_sender("NO"), "quote the value ('NO')", 8),
    ("unquoted-on", with_sender("on"), "quote the value ('on')", 8),
    (
        "unquoted-0123",
        with_sender("0123"),
        "sender must be a string, found integer 123; quote the value ('0123')",
        8,
    ),
    ("unquoted-1e5", with_sender("1e5"), "quote the value ('1e5')", 8),
    ("alias-bomb", alias_bomb(), "anchors and aliases expand to more than 10,000 nodes", None),
    ("5000-levels", DEEP, "nesting is deeper than 32 levels", 1),
    ("2-MiB", HUGE, "manifests are limited to 1 MiB", None),
    ("invalid-utf8", BASE.encode().replace(b'"m"', b'"\xff\xfe m"'), "not valid UTF-8", 10),
    ("nul-byte", BASE.encode().replace(b'"m"', b'"\x00"'), "a NUL byte", 10),
    (
        "tab-indent",
        BASE.replace("    sender", "\tsender").encode(),
        "tabs are not allowed for indentation",
        8,
    ),
    ("empty", b"", "file has no manifest documents (it is empty or only comments)", 1),
    ("comments-only", b"# nothing here\n# target: 2318\n", "file has no manifest documents", 1),
]
ERROR_LINE = re.compile(
    r"^error: manifests/hostile\.yaml(:(?P<line>\d+):(?P<col>\d+))?: (?P<msg>.+)$"
)


@pytest.fixture
def hostile_repo(repo: Path, sandbox: SandboxServer) -> Path:
    """A repository with one good manifest next to the hostile one, on a real sandbox."""
    (repo / "manifests" / "good.yaml").write_text(GOOD)
    write_config(repo, sandbox.url)
    return repo


def check_one_located_line(err: str, fragment: str, line: int | None) -> None:
    errors = [text for text in err.splitlines() if text.startswith("error:")]
    assert len(errors) == 1, err
    match = ERROR_LINE.match(errors[0])
    assert match, errors[0]
    assert fragment in match["msg"]
    if line is not None:
        assert match["line"] is not None, errors[0]
        assert int(match["line"]) == line, errors[0]
    assert "Traceback" not in err
    assert "internal error" not in err


@pytest.mark.parametrize(
    ("content", "fragment", "line"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_hostile_manifest_is_one_located_error_and_nothing_is_sent(
    hostile_repo: Path,
    sandbox: SandboxServer,
    cli: Run,
    content: bytes,
    fragment: str,
    line: int | None,
) -> None:
    """validate, plan and apply: exit 1, one located line, no traceback, zero requests."""
    (hostile_repo / "manifests" / "hostile.yaml").write_bytes(content)
    for argv in (("validate",), ("plan",), ("apply", "--auto-approve")):
        code, out, err = cli(*argv)
        assert code == 1, (argv, out, err)
        check_one_located_line(err, fragment, line)
        assert "No changes" not in out  # never "this target has nothing"
    assert sandbox.store.request_log() == []


def test_a_bom_is_accepted_and_the_manifest_plans(
    hostile_repo: Path, sandbox: SandboxServer, cli: Run
) -> None:
    (hostile_repo / "manifests" / "hostile.yaml").write_bytes(
        b"\xef\xbb\xbf" + with_sender("loyalty@example.com")
    )
    code, out, err = cli("validate")
    assert (code, err) == (0, "")
    assert out == "ok: 2 documents in 2 files\n"
    code, out, err = cli("plan")
    assert code == 0, err
    assert out.endswith("across 2 targets.\n")


def test_the_alias_bomb_stops_building_at_the_node_limit(
    hostile_repo: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """~0.5 KB that would expand to 10**9 nodes: at most 10,001 are ever built."""
    bomb = alias_bomb()
    assert len(bomb) < 600
    built: Counter[int] = Counter()  # per document: reconciler.yaml is built too
    real_build = yamlstrict._Builder.build

    def counting(self: yamlstrict._Builder, node: object, path: yamlstrict.Path_) -> object:
        built[id(self)] += 1
        return real_build(self, node, path)  # type: ignore[arg-type]

    monkeypatch.setattr(yamlstrict._Builder, "build", counting)
    (hostile_repo / "manifests" / "good.yaml").unlink()
    (hostile_repo / "manifests" / "hostile.yaml").write_bytes(bomb)
    code, _, err = cli("validate")
    assert code == 1
    assert "more than 10,000 nodes" in err
    assert max(built.values()) == yamlstrict.MAX_NODES + 1


def test_5000_nesting_levels_stop_reading_at_the_depth_limit(
    hostile_repo: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parser's events are pulled only until level 33; the other 9,967 are never read."""
    pulled = 0
    real_events = yamlstrict._events

    @contextlib.contextmanager
    def counting(text: str):  # type: ignore[no-untyped-def]
        def counted(events):  # type: ignore[no-untyped-def]
            nonlocal pulled
            for event in events:
                pulled += text.startswith("x: [[")  # not the events of reconciler.yaml
                yield event

        with real_events(text) as events:
            yield counted(events)

    monkeypatch.setattr(yamlstrict, "_events", counting)
    (hostile_repo / "manifests" / "good.yaml").unlink()
    (hostile_repo / "manifests" / "hostile.yaml").write_bytes(DEEP)
    code, _, err = cli("validate")
    assert code == 1
    assert "nesting is deeper than 32 levels" in err
    assert pulled <= yamlstrict.MAX_DEPTH + 10


def test_a_2_mib_file_is_refused_without_being_read(
    hostile_repo: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []
    real_decode = load_module.decode

    def recording(data: bytes) -> str:
        decoded.append(len(data))
        return real_decode(data)

    monkeypatch.setattr(load_module, "decode", recording)
    (hostile_repo / "manifests" / "hostile.yaml").write_bytes(HUGE)
    code, _, err = cli("validate")
    assert code == 1
    assert "limited to 1 MiB" in err
    assert decoded == [len(GOOD.encode())]  # only the good file was ever decoded
