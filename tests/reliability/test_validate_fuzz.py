"""Issue 10 case 2: whatever bytes or YAML a manifest holds, validation only ever raises the
product's own error, and ``reconciler validate`` answers 0 or 1 without a traceback.

Bounded fuzzing (hypothesis, 200 examples per strategy, no deadline): arbitrary bytes, JSON-ish
trees, manifest-shaped documents with arbitrary values, and YAML assembled from its own tokens
(anchors, aliases, merge keys, tags, directives, flow and block styles).
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconciler.cli import main
from reconciler.errors import ReconcilerError
from reconciler.manifests import load_manifests

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["NO", "on", "0123", "1e5", "${sender}", "${nope}", "$${x}", "~", "0x1F"]),
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(max_size=12), children, max_size=5),
    ),
    max_leaves=30,
)
FIELDS = [
    "apiVersion",
    "kind",
    "metadata",
    "target",
    "prune",
    "communications",
    "communicationType",
    "channel",
    "channelId",
    "sender",
    "subjectTemplate",
    "messageTemplate",
    "messageTemplateFile",
    "offsetDays",
    "active",
    "name",
    "labels",
    "targetGroup",
]
VALID_ENTRY: dict[str, object] = {
    "communicationType": "START",
    "channel": "EMAIL",
    "sender": "a@example.com",
    "messageTemplate": "m",
}
VALID: dict[str, object] = {
    "apiVersion": "reconciler/v1",
    "kind": "TargetCommunications",
    "metadata": {"name": "n", "labels": {"team": "crm"}},
    "target": {"targetGroup": 2163, "target": 2317},
    "communications": [VALID_ENTRY],
}


@st.composite
def manifest_shaped(draw: st.DrawFn) -> object:
    """A valid manifest with a few values (or keys) replaced by arbitrary trees."""
    document = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        where = draw(st.sampled_from(["top", "metadata", "target", "entry"]))
        name = draw(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)))
        value = draw(trees)
        entries = document.get("communications")
        if where == "top":
            document[name] = value
        elif where == "entry":
            if isinstance(entries, list) and entries and isinstance(entries[0], dict):
                entries[0][name] = value
        elif isinstance(document.get(where), dict):
            document[where][name] = value
    return document


TOKENS = [
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "%YAML 1.1\n",
    "%TAG !e! tag:example.com,2000:\n",
    "apiVersion: reconciler/v1\n",
    "kind: TargetCommunications\n",
    "metadata: {name: x}\n",
    "target: {targetGroup: 2163, target: 2317}\n",
    "communications:\n",
    "  - communicationType: START\n",
    "    channel: EMAIL\n",
    "    sender: a@example.com\n",
    "    messageTemplate: |\n      hi\n",
    "    messageTemplateFile: ../../etc/passwd\n",
    "    <<: *d\n",
    "  - &d {channelId: 1}\n",
    "  - *d\n",
    "  - *undefined\n",
    "&a [*a]\n",
    "x: &a\n",
    "y: *a\n",
    "<<: [*a, *a]\n",
    "? [complex, key]\n: v\n",
    "!!python/object:os.system x\n",
    "!custom {a: 1}\n",
    "key: 'single\n",
    'key: "double\\q"\n',
    "  \t- tab\n",
    "[\n",
    "]\n",
    "{\n",
    "}\n",
    "- \n",
    ": \n",
    "# comment\n",
    "\ufeff",
    "\x85",
    "\u2028",
    "offsetDays: 1e400\n",
    "offsetDays: -0\n",
    "offsetDays: 99999999999999999999999\n",
    "active: yes\n",
    "sender: ${\n",
    "sender: $${x}\n",
    "n: .nan\n",
    "n: -.inf\n",
    "n: 0o17\n",
    "n: 0x_1\n",
]


@contextlib.contextmanager
def manifest_file(content: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.yaml"
        path.write_bytes(content)
        yield path


def check_library(content: bytes) -> None:
    """load_manifests returns diagnostics; anything it raises is a ReconcilerError."""
    with manifest_file(content) as path:
        try:
            result = load_manifests([str(path)], variables={"sender": "a@example.com"})
        except ReconcilerError:
            return
        assert result.ok or result.diagnostics


def check_cli(content: bytes) -> None:
    """``reconciler validate FILE`` exits 0 or 1, with one ``error:`` line per problem (whatever
    the manifest quotes) and the count; never a traceback or an internal error."""
    out, err = io.StringIO(), io.StringIO()
    with (
        manifest_file(content) as path,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(["validate", str(path)])
    lines = err.getvalue().splitlines()
    assert code in (0, 1), err.getvalue()
    if code == 0:
        assert lines == []
        return
    *problems, count = lines
    assert problems, err.getvalue()
    assert all(line.startswith("error: ") for line in problems), err.getvalue()
    assert count == f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found"
    assert "Traceback" not in err.getvalue()
    assert "internal error" not in err.getvalue()


@pytest.fixture(autouse=True)
def _outside_any_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No reconciler.yaml around: validate runs with the defaults."""
    monkeypatch.chdir(tmp_path)


@FUZZ
@given(st.binary(max_size=2048))
def test_validating_arbitrary_bytes_never_raises_a_foreign_error(content: bytes) -> None:
    check_library(content)
    check_cli(content)


@FUZZ
@given(trees)
@example({"\n::error::x": None})
@example({"ok": {"\r\u2028\x1b[31m": 1}})
def test_validating_arbitrary_yaml_trees_never_raises_a_foreign_error(tree: object) -> None:
    content = json.dumps(tree, allow_nan=True).encode()  # JSON is YAML 1.2
    check_library(content)
    check_cli(content)


@FUZZ
@given(manifest_shaped())
def test_validating_manifests_with_arbitrary_values_never_raises_a_foreign_error(
    document: object,
) -> None:
    content = json.dumps(document, allow_nan=True).encode()
    check_library(content)
    check_cli(content)


# Found by this test: a field name with a line break printed as two lines; an alias inside
# its own anchor, and aliases stacking shallow trees into
# one deeper than Python's recursion limit, raised RecursionError ("internal error").
ALIAS_CHAIN = [
    f"a{i}: &a{i} " + "[" * 30 + (f"*a{i - 1}" if i else "x") + "]" * 30 + "\n" for i in range(40)
]


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
@example(["&a [*a]\n"])
@example(["a: &a {b: *a}\n"])
@example(["x: &a\n", "  <<: *a\n"])
@example(ALIAS_CHAIN)
def test_validating_yaml_assembled_from_its_tokens_never_raises_a_foreign_error(
    parts: list[str],
) -> None:
    content = "".join(parts).encode("utf-8", errors="surrogatepass")
    check_library(content)
    check_cli(content)
