"""Strict YAML reading (SPEC §3): positions, merge keys, limits, encodings; no server needed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.manifests import yamlstrict
from reconciler.manifests.yamlstrict import (
    MAX_DEPTH,
    YamlProblem,
    decode,
    read_documents,
    resolve_plain,
)


def test_positions_are_one_based_line_and_column() -> None:
    doc = read_documents("a:\n  b: [1, 'x']\n")[0]
    assert doc.value == {"a": {"b": [1, "x"]}}
    assert doc.position(("a", "b", 1)) == (2, 10)
    assert doc.key_position(("a", "b")) == (2, 3)


def test_merge_keys_apply_defaults_and_explicit_keys_win() -> None:
    text = "d: &d {x: 1, y: 2}\ne:\n  <<: *d\n  y: 3\n"
    doc = read_documents(text)[0]
    assert doc.value["e"] == {"x": 1, "y": 3}  # type: ignore[index]
    assert doc.position(("e", "y")) == (4, 6)  # the explicit key, not the anchor's
    assert doc.position(("e", "x")) == (1, 11)  # merged values point where they were written


def test_multi_document_streams_keep_each_document() -> None:
    docs = read_documents("a: 1\n---\nb: 2\n")
    assert [d.value for d in docs] == [{"a": 1}, {"b": 2}]
    assert docs[1].line == 3


def test_duplicate_key_is_located() -> None:
    with pytest.raises(YamlProblem) as info:
        read_documents("a: 1\nb: 2\na: 3\n")
    assert (info.value.line, info.value.col) == (3, 1)
    assert "duplicate key 'a' (first at line 1)" in info.value.message


def test_alias_bomb_stops_at_the_node_limit() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    text = "\n".join(lines) + "\n"
    assert len(text) < 700
    with pytest.raises(YamlProblem, match="expand to more than 10,000 nodes"):
        read_documents(text)


@pytest.mark.parametrize("style", ["block", "flow"])
def test_deep_nesting_is_refused_before_it_is_built(style: str) -> None:
    depth = 5000
    text = (
        "[" * depth + "]" * depth
        if style == "flow"
        else "".join(" " * i + "a:\n" for i in range(depth))
    )
    with pytest.raises(YamlProblem, match=f"deeper than {MAX_DEPTH} levels"):
        read_documents(text)


def test_nesting_up_to_the_limit_is_fine() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert read_documents(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%YAML 1.1\n---\na: 1\n", "%YAML 1.1 is not supported"),
        ("a: !!python/object:os.system x\n", "YAML tags are not allowed"),
        ("a: !custom x\n", "YAML tags are not allowed"),
        ("a: !!str 1\n", "YAML tags are not allowed"),
        ("a: *nope\n", "unknown anchor"),
    ],
)
def test_yaml_1_1_directives_and_tags_are_errors(text: str, expected: str) -> None:
    with pytest.raises(YamlProblem, match=expected):
        read_documents(text)


def test_yaml_1_2_directive_is_accepted() -> None:
    assert read_documents("%YAML 1.2\n---\na: 1\n")[0].value == {"a": 1}


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("False", False),
        ("~", None),
        ("12", 12),
        ("0o17", 15),
        ("0x1F", 31),
        ("1e5", 1e5),
        ("yes", "yes"),
        ("NO", "NO"),
        ("on", "on"),
        ("loyalty@example.com", "loyalty@example.com"),
    ],
)
def test_plain_scalars_follow_the_yaml_1_2_core_schema(raw: str, value: object) -> None:
    assert resolve_plain(raw) == value


def test_yaml_1_1_booleans_are_marked_ambiguous() -> None:
    doc = read_documents("a: NO\nb: 'NO'\nc: no way\n")[0]
    assert doc.ambiguous == {("a",): "NO"}


def test_bom_is_accepted() -> None:
    assert decode(b"\xef\xbb\xbfa: 1\n") == "a: 1\n"


def test_invalid_utf8_is_located() -> None:
    with pytest.raises(YamlProblem) as info:
        decode(b"a: 1\nb: \xff\xfe\n")
    assert (info.value.line, info.value.col) == (2, 4)
    assert "not valid UTF-8" in info.value.message


def test_nul_byte_is_located() -> None:
    with pytest.raises(YamlProblem) as info:
        decode(b"a: 1\nbb: x\x00\n")
    assert (info.value.line, info.value.col) == (2, 6)
    assert "NUL" in info.value.message


def test_tab_indentation_is_a_located_syntax_error() -> None:
    with pytest.raises(YamlProblem) as info:
        read_documents("a:\n\tb: 1\n")
    assert info.value.line == 2
    assert info.value.message == "tabs are not allowed for indentation; indent with spaces"


@given(st.sampled_from(sorted(yamlstrict._WORD_START)), st.text(max_size=12))
def test_the_word_shortcut_only_skips_scalars_that_are_strings_anyway(
    first: str, rest: str
) -> None:
    """resolve_plain returns words at once; no null, boolean or number pattern could match."""
    text = first + rest
    assert text not in yamlstrict._NULL | yamlstrict._TRUE | yamlstrict._FALSE
    for pattern in (
        yamlstrict._INT_RE,
        yamlstrict._OCT_RE,
        yamlstrict._HEX_RE,
        yamlstrict._FLOAT_RE,
    ):
        assert pattern.match(text) is None
    assert resolve_plain(text) == text


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("metadata:\n\tname: x\n", (2, 1)),  # a tab where a key should start
        ("a: 1\nb:\n  - x: 1\n\t  y: 2\n", (4, 1)),  # a tab mixed into the indentation
    ],
)
def test_a_tab_in_the_indentation_says_so(text: str, where: tuple[int, int]) -> None:
    """Issue 20 item 11: the reader's own words for a tab are not the parser's riddle."""
    with pytest.raises(yamlstrict.YamlProblem) as caught:
        yamlstrict.read_documents(text)
    assert (caught.value.line, caught.value.col) == where
    assert caught.value.message == "tabs are not allowed for indentation; indent with spaces"


def test_a_tab_inside_a_value_is_no_problem() -> None:
    (document,) = yamlstrict.read_documents('a: "x\\ty"\nb: c\td\n')
    assert document.value == {"a": "x\ty", "b": "c\td"}
