"""``selection``: selectors, shards, and the errors of a selection that matches nothing."""

from __future__ import annotations

import pytest

from reconciler.errors import UsageError
from reconciler.selection import (
    no_group_match,
    no_match,
    parse_selectors,
    parse_shard,
    selected,
    shard_of,
)


def test_selectors_all_must_match() -> None:
    pairs = parse_selectors(["team=crm", "name=a"])
    assert selected("a", {"team": "crm"}, pairs)
    assert not selected("b", {"team": "crm"}, pairs)


@pytest.mark.parametrize("bad", ["team", "=x"])
def test_a_selector_needs_a_key_and_a_value(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_selectors([bad])


def test_shards_are_one_based_and_stable() -> None:
    assert parse_shard("2/3") == (2, 3)
    assert shard_of(2163, 2317, 4) == shard_of(2163, 2317, 4)
    with pytest.raises(UsageError):
        parse_shard("4/3")


def test_no_match_names_what_is_in_use_sorted_and_capped() -> None:
    in_use = [(f"n{i:02}", {"team": "crm", "n": str(i)}) for i in range(25)]
    message = no_match(["team=x"], in_use)
    assert message.startswith("--select team=x matches no manifest; the manifests have labels ")
    assert "n=0, n=1, n=10" in message
    assert "and 6 more" in message  # 26 labels, 20 shown
    assert "names name=n00, name=n01" in message


def test_no_match_without_labels() -> None:
    assert no_match(["a=b"], [("x", {})]).endswith("have no labels and names name=x")


def test_no_group_match_names_the_declared_groups() -> None:
    assert no_group_match(7, [2163, "Summer Streak", 2163]) == (
        "--target-group 7 matches no manifest; the selected manifests declare target groups "
        "2163, Summer Streak"
    )
