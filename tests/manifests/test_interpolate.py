"""${var} interpolation (SPEC §3): values from the configuration only, $${ for a literal."""

from __future__ import annotations

from reconciler.manifests.interpolate import interpolate

VARS = {"sender": "loyalty@example.com", "brand": "Northwind"}


def test_known_variables_are_replaced() -> None:
    assert interpolate("${brand} <${sender}>", VARS) == ("Northwind <loyalty@example.com>", [])


def test_double_dollar_writes_a_literal() -> None:
    assert interpolate("cost: $${price} and ${brand}", VARS) == (
        "cost: ${price} and Northwind",
        [],
    )


def test_capillary_placeholders_pass_through() -> None:
    assert interpolate("Hi {{first_name}}, $5 off", VARS) == ("Hi {{first_name}}, $5 off", [])


def test_unknown_variable_suggests_a_close_name() -> None:
    text, problems = interpolate("${sendr}", VARS)
    assert text == "${sendr}"
    assert problems == ["unknown variable '${sendr}'; did you mean '${sender}'?"]


def test_process_environment_is_never_read(monkeypatch: object) -> None:
    import os

    os.environ["RECONCILER_TEST_SECRET"] = "s3cret"
    try:
        text, problems = interpolate("${RECONCILER_TEST_SECRET}", {})
    finally:
        del os.environ["RECONCILER_TEST_SECRET"]
    assert "s3cret" not in text
    assert problems == [
        "unknown variable '${RECONCILER_TEST_SECRET}'; this environment defines no vars"
    ]


def test_unterminated_reference_is_a_problem() -> None:
    _, problems = interpolate("${sender", VARS)
    assert problems
    assert "unterminated" in problems[0]
