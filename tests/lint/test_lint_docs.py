"""docs/lint.md documents every lint rule with its default severity, its reason and its fix;
the rule registry and the manual cannot drift apart."""

from __future__ import annotations

import re

import pytest

from reconciler.lint.rules import RULES
from tests.lint.conftest import ROOT

PAGE = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_has_a_row_with_its_severity_and_a_section(rule: str) -> None:
    row = re.search(
        rf"^\| `{re.escape(rule)}` \| (error|warning) \| [^|]+ \| [^|]+ \|$", PAGE, re.M
    )
    assert row is not None, rule
    assert row.group(1) == RULES[rule].severity
    assert re.search(rf"^### .*\b{re.escape(rule)}\b", PAGE, re.M), rule


def test_the_table_lists_no_rule_that_does_not_exist() -> None:
    listed = re.findall(r"^\| `([a-z0-9-]+)` \| (?:error|warning) \|", PAGE, re.M)
    assert sorted(listed) == sorted(RULES)


def test_the_page_says_what_happens_to_an_unmapped_channel_id() -> None:
    assert "A `channelId` the environment does not map gets no channel rule" in PAGE
