"""Templates filled with sample values: tag by tag, or by Liquid; unknown tags kept, marked."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.preview.fill import CLOSE, OPEN, fill, marked_pieces, spans


def test_tags_are_replaced_and_unknown_ones_marked_never_empty() -> None:
    filled = fill(
        "Hi {{ first_name }}, {{frist_name}} {% if x %}",
        {"first_name": "Ana"},
        liquid=False,
        escape=False,
    )
    assert filled.text == f"Hi Ana, {OPEN}frist_name{CLOSE} {{% if x %}}"
    assert filled.unknown == ("frist_name",)
    text, found = spans(filled.text)
    assert text == "Hi Ana, {{frist_name}} {% if x %}"
    assert [text[a:b] for a, b in found] == ["{{frist_name}}"]
    assert list(marked_pieces(filled.text)) == [
        ("Hi Ana, ", False),
        ("{{frist_name}}", True),
        (" {% if x %}", False),
    ]


def test_values_are_escaped_for_an_html_body_only() -> None:
    values = {"first_name": "<b>&"}
    assert fill("{{first_name}}", values, liquid=False, escape=True).text == "&lt;b&gt;&amp;"
    assert fill("{{first_name}}", values, liquid=False, escape=False).text == "<b>&"


def test_liquid_renders_filters_conditions_and_nested_names() -> None:
    template = (
        "{% if first_name %}Hi {{ first_name | upcase }}{% endif %} "
        "{{ extended_field.store }} {{ missing }}"
    )
    values = {"first_name": "ana", "extended_field.store": "Leeds"}
    filled = fill(template, values, liquid=True, escape=False)
    assert filled.text == f"Hi ANA Leeds {OPEN}missing{CLOSE}"
    assert filled.unknown == ("missing",)
    assert filled.error is None


def test_a_template_liquid_cannot_parse_is_filled_tag_by_tag_with_the_reason() -> None:
    filled = fill("{% if %}Hi {{first_name}}", {"first_name": "Ana"}, liquid=True, escape=False)
    assert filled.text == "{% if %}Hi Ana"
    assert filled.error


def test_a_liquid_template_cannot_grow_without_bound() -> None:
    """Loops, captures and assignments that would take the machine's memory or time stop at a
    limit: the template is then filled tag by tag, with Liquid's reason."""
    doubled = '{% assign a = "xxxxxxxxxx" %}' + "{% assign a = a | append: a %}" * 22 + "{{a}}"
    captured = '{% assign a = "xxxxxxxxxx" %}' + "{% capture a %}{{a}}{{a}}{% endcapture %}" * 22
    looped = "{% for a in (1..1000) %}{% for b in (1..1000) %}x{% endfor %}{% endfor %}"
    for template in (doubled, captured + "{{a}}", looped):
        filled = fill(template, {}, liquid=True, escape=False)
        assert spans(filled.text)[0] == template
        assert filled.error is not None
        assert "limit reached" in filled.error
    ordinary = "{% for p in (1..200) %}<li>{{ p }}</li>{% endfor %}"
    assert fill(ordinary, {}, liquid=True, escape=False).text.count("<li>") == 200


def test_liquid_include_and_render_read_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secret.liquid").write_text("hunter2", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for tag in ("include", "render"):
        for name in ("secret.liquid", str(tmp_path / "secret.liquid")):
            filled = fill(f'{{% {tag} "{name}" %}}', {}, liquid=True, escape=False)
            assert "hunter2" not in filled.text
            assert filled.error is not None
