"""The pure rule functions (issue 17): sender formats, HTML balance, placeholder scanning and
the push payload, each on the cases that decide it."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.lint.email import html_problem
from reconciler.lint.placeholders import masked, scan, tags_in, unknown_tags
from reconciler.lint.push import payload_bytes
from reconciler.lint.senders import email_sender_problem, plain_address, sms_sender_problem


@pytest.mark.parametrize(
    ("sender", "ok"),
    [
        ("NWREWARDS", True),
        ("NW Rewards", True),
        ("A", True),
        ("ABCDEFGHIJK", True),  # 11
        ("ABCDEFGHIJKL", False),  # 12
        ("NW-REWARDS", False),
        ("NWRÉWARDS", False),
        ("12345", True),  # a short code
        ("+447700900123", True),
        ("123456789012345", True),  # 15 digits
        ("1234567890123456", False),
        ("123 456", False),  # no letter, not a number
        ("", False),
    ],
)
def test_sms_sender_ids(sender: str, ok: bool) -> None:
    assert (sms_sender_problem(sender) is None) is ok


@pytest.mark.parametrize(
    ("sender", "ok"),
    [
        ("loyalty@northwind.example", True),
        ("first.last+tag@mail.northwind.co.uk", True),
        ('"quoted local"@northwind.example', False),  # not plain: the library decides
        ("Northwind <loyalty@northwind.example>", False),
        ("a@b.com, c@d.com", False),
        ("loyalty@northwind", False),
        ("loyalty@@northwind.example", False),
        ("loyalty@northwind.local", False),
    ],
)
def test_email_senders(sender: str, ok: bool) -> None:
    assert (email_sender_problem(sender) is None) is ok


_atom = st.text("abcXYZ019!#$%&'*+/=?^_`{|}~-.", min_size=1, max_size=70)
_label = st.text("abz09-", min_size=1, max_size=70)


@settings(max_examples=2000)
@given(_atom, st.lists(_label, min_size=1, max_size=4), st.text("abcQ9", min_size=1, max_size=8))
def test_the_fast_path_accepts_only_addresses_email_validator_accepts(
    local: str, labels: list[str], tld: str
) -> None:
    address = f"{local}@{'.'.join([*labels, tld])}"
    if plain_address(address):
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError as exc:  # pragma: no cover - the failure this test looks for
            pytest.fail(f"{address!r}: fast path accepted, email-validator refused: {exc}")


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        ("plain text, no tags", None),
        ("<p>one<p>two<br><img src=x></p>", None),
        ("<ul><li>a<li>b</ul>", None),
        ('<p>See <a href="x">here</p>', (7, "HTML <a> (line 1) is not closed before </p>")),
        ("<div>\n  <b>bold</div>", (8, "HTML <b> (line 2) is not closed before </div>")),
        ("text</span>", (4, "HTML end tag </span> closes no open <span>")),
        ("<table><tr><td>x</table>\n<div>", (25, "HTML <div> is never closed")),
    ],
)
def test_html_balance(html: str, problem: tuple[int, str] | None) -> None:
    assert html_problem(html) == problem


@pytest.mark.parametrize(
    ("text", "tags", "problems"),
    [
        ("Hi {{first_name}} and {{ last_name }}", [("first_name", 3), ("last_name", 22)], []),
        ("Hi {{first_name", [], [("syntax", 3)]),
        ("Hi first_name}}", [], [("syntax", 13)]),
        ("Hi {{}} there", [], [("syntax", 3)]),
        ("Hi {{first name}}", [], [("syntax", 3)]),
        ("Hi {{a {{b}}", [("b", 7)], [("syntax", 3)]),
        ("Cost: ${price}", [], [("variable", 6)]),
        ("{% if x %}y{% endif %}", [], []),
        ("{{{x}}}", [], [("syntax", 0)]),
    ],
)
def test_placeholder_scanning(
    text: str, tags: list[tuple[str, int]], problems: list[tuple[str, int]]
) -> None:
    found = scan(text)
    assert list(found.tags) == tags
    assert [(p.kind, p.index) for p in found.problems] == problems


def test_liquid_allows_filters_and_counts_its_tags() -> None:
    found = scan("{% if a %}{{ first_name | upcase }}{% endif %}", liquid=True)
    assert found.tags == (("first_name", 10),)
    assert found.liquid_tags == (0, 35)
    assert scan("{{ first_name | upcase }}").problems[0].kind == "syntax"  # not without Liquid


def test_unknown_tags_are_reported_once_with_a_suggestion_and_prefixes_cover_names() -> None:
    found = scan("{{frist_name}} {{frist_name}} {{extended_field.tier}} {{club.level}} {{x}}")
    problems = list(unknown_tags(found.tags, ["club.*"]))
    assert [(p.index, p.message) for p in problems] == [
        (0, "unknown tag '{{frist_name}}' (2 uses); did you mean 'first_name'?"),
        (69, "unknown tag '{{x}}'"),
    ]
    assert tags_in("a {{one}} b {{ two | x }}") == {"one", "two"}


def test_masking_keeps_every_index() -> None:
    text = "Hi {{first_name}}, {% if x %}’"
    assert len(masked(text)) == len(text)
    assert masked(text)[-1] == "’"
    assert "{" not in masked(text)


def test_the_push_payload_is_the_utf8_json_of_title_and_body() -> None:
    assert payload_bytes("", "") == len('{"aps":{"alert":{"title":"","body":""}}}')
    assert payload_bytes("é", "😀") == payload_bytes("", "") + 2 + 4
