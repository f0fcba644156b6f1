"""Sample profiles: the environment's, the built-in worst case, and a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import EnvironmentConfig
from reconciler.errors import ConfigError
from reconciler.lint.placeholders import CATALOGUE
from reconciler.preview.samples import WORST_CASE, choose, worst_case


def test_the_worst_case_covers_the_catalogue_and_guesses_the_environment_tags() -> None:
    sample = worst_case(("period_end_date", "target_value", "reward_code", "zzz", "x.*"))
    assert sample.name == WORST_CASE
    assert set(CATALOGUE) <= set(sample.values)
    assert sample.values["period_end_date"] == "31 December 2099"
    assert sample.values["target_value"] == "9,999,999.99"
    assert sample.values["reward_code"].startswith("NWR-")
    assert "zzz" not in sample.values  # nothing to guess from: shown marked


def test_choose_by_name_default_and_file(tmp_path: Path) -> None:
    profiles = {"typical": {"first_name": "Ana"}, "long": {"first_name": "B" * 40}}
    assert choose(None, profiles).name == "typical"
    assert choose(None, {}).name == WORST_CASE
    assert choose("long", profiles).values == {"first_name": "B" * 40}
    assert choose(WORST_CASE, profiles).name == WORST_CASE
    (tmp_path / "s.yaml").write_text("first_name: Zoë\npoints: 12\n", encoding="utf-8")
    sample = choose("s.yaml", profiles, cwd=tmp_path)
    assert (sample.name, dict(sample.values)) == ("s.yaml", {"first_name": "Zoë", "points": "12"})


@pytest.mark.parametrize(
    ("text", "reason"),
    [("- a\n- b\n", "one mapping"), ("a: [1]\n", "text or numbers"), ("a: [\n", "s.yaml:")],
)
def test_a_bad_sample_file_is_one_clear_error(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=reason.replace("[", r"\[")):
        choose("s.yaml", {}, cwd=tmp_path)


def test_an_unknown_profile_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="worst-case, typical"):
        choose("nope", {"typical": {}}, cwd=tmp_path)


def test_the_configuration_refuses_the_built_in_name_and_bad_tags() -> None:
    with pytest.raises(ValueError, match="built-in"):
        EnvironmentConfig(endpoint="sandbox", samples={"worst-case": {}})
    with pytest.raises(ValueError, match="not a tag name"):
        EnvironmentConfig(endpoint="sandbox", samples={"a": {"first name": "x"}})
