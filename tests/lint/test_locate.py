"""Positions inside templates (issue 17): each character of a string scalar is found where it
was written, through YAML quoting, escapes and folding and through ``${var}`` interpolation."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.manifests.interpolate import interpolate, origins
from reconciler.manifests.scalars import SourceText, map_scalar
from reconciler.manifests.writer import dump
from reconciler.manifests.yamlstrict import read_documents

SOURCE = """a: |
  hi ’ there
  x
b: &x "q\\u2019 \\"z’"
c:   plain ’text
  more’
d: >-
  folded
  text’
e: *x
f: ['x’'' ’', y]
"""


@pytest.mark.parametrize(
    ("path", "style", "written"),
    [
        (("a",), "|", ["’"]),
        (("b",), '"', ["\\u2019", "’"]),
        (("c",), "plain", ["’", "’"]),
        (("d",), ">", ["’"]),
        (("e",), '"', ["\\u2019", "’"]),  # an alias is found at its anchor
        (("f", 0), "'", ["’", "’"]),
    ],
)
def test_each_style_maps_its_characters_to_the_source(
    path: tuple[str | int, ...], style: str, written: list[str]
) -> None:
    document = read_documents(SOURCE)[0]
    value = document.value
    for part in path:
        value = value[part]  # type: ignore[index]
    assert isinstance(value, str)
    source = SourceText(SOURCE)
    scalar = map_scalar(source, document.values[path], value)
    assert scalar is not None
    assert scalar.style == style
    spans = [scalar.chars[i] for i, ch in enumerate(value) if ch == "’"]
    assert [SOURCE[span[0] : span[1]] for span in spans if span is not None] == written


def test_a_mismatch_gives_no_map() -> None:
    source = SourceText('a: "x"\n')
    assert map_scalar(source, (1, 4), "y") is None
    assert map_scalar(source, (1, 4), "x") is not None


_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufeff"),
    max_size=40,
).map(lambda t: t.replace("\r", ""))


@settings(max_examples=300, deadline=None)
@given(st.lists(_text, min_size=1, max_size=3), st.booleans())
def test_every_character_written_by_the_writer_is_found(values: list[str], quote: bool) -> None:
    """Whatever style export's writer picks, each visible character maps to source text that
    reads as it (itself, or its escape)."""
    text = dump({f"k{i}": v for i, v in enumerate(values)}, quote_all=quote)
    document = read_documents(text)[0]
    source = SourceText(text)
    for i, value in enumerate(values):
        scalar = map_scalar(source, document.values[(f"k{i}",)], value)
        assert scalar is not None, (text, value)
        for index, char in enumerate(value):
            span = scalar.chars[index]
            if char in " \t\n":
                continue
            assert span is not None
            written = text[span[0] : span[1]]
            if written != char:
                assert scalar.style == '"'
                assert json.loads(f'"{written}"') == char


@given(
    st.lists(
        st.one_of(_text, st.sampled_from(["${a}", "${b}", "$${c}", "${", "${bad name}"])),
        max_size=6,
    ).map("".join)
)
def test_origins_follow_interpolation_step_by_step(raw: str) -> None:
    variables = {"a": "AA", "b": ""}
    text, _ = interpolate(raw, variables)
    written = origins(raw, variables)
    assert len(written) == len(text)
    for char, (index, variable) in zip(text, written, strict=True):
        if variable is None:
            assert raw[index] == char
        else:
            assert raw.startswith(f"${{{variable}}}", index)
            assert char in variables[variable]
