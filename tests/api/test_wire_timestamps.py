"""Timestamps on the wire: Capillary's shape takes a fast path with the same results (issue 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.api.wire import Attribution, _parse_timestamp, format_timestamp
from reconciler.assumptions import TIMESTAMP_FORMAT


def strptime_or_as_is(text: str) -> object:
    """What ``_parse_timestamp`` did before it had a fast path."""
    try:
        return datetime.strptime(text, TIMESTAMP_FORMAT)
    except ValueError:
        return text


def same(got: object, expected: object) -> bool:
    if isinstance(got, datetime) and isinstance(expected, datetime):
        return (got, got.tzinfo, got.utcoffset()) == (
            expected,
            expected.tzinfo,
            expected.utcoffset(),
        )
    return type(got) is type(expected) and got == expected


# Capillary-shaped strings, including out-of-range parts (month 13, 31 February, hour 24,
# offset +2400 or +0060) that must fall through exactly as before.
capillary_shaped = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}{}{:02d}{:02d}".format,
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 61),
    st.integers(0, 999),
    st.sampled_from("+-"),
    st.integers(0, 25),
    st.sampled_from([0, 30, 45, 59, 60, 99]),
)


@settings(max_examples=500, deadline=None)
@given(text=capillary_shaped)
def test_capillary_timestamps_parse_exactly_as_strptime_does(text: str) -> None:
    assert same(_parse_timestamp(text), strptime_or_as_is(text))


@pytest.mark.parametrize(
    "text",
    [
        "2025-06-24T08:25:55.590+0000",
        "2025-06-24T08:25:55.590-0000",
        "2025-06-24T08:25:55.590+0530",
        "2025-06-24T08:25:55.590-2359",
        "2024-02-29T23:59:59.999+1400",
        "2025-02-29T08:25:55.590+0000",  # no such day: not a datetime on either path
        "2025-06-24t08:25:55.590+0000",  # strptime ignores case: the slow path takes it
        "2025-06-24T08:25:55.5+0000",
        "2025-06-24T08:25:55.590123+0000",
        "2025-06-24T08:25:55.590Z",
        "2025-06-24T08:25:55.590+05:30",
        "٢٠٢٥-06-24T08:25:55.590+0000",  # non-ASCII digits: strptime reads them
        "2025-06-24T08:25:55",
        "not a time",
    ],
)
def test_other_strings_get_the_strptime_answer(text: str) -> None:
    assert same(_parse_timestamp(text), strptime_or_as_is(text))


def test_utc_is_the_utc_singleton_as_before() -> None:
    parsed = _parse_timestamp("2025-06-24T08:25:55.590+0000")
    assert parsed == datetime(2025, 6, 24, 8, 25, 55, 590000, tzinfo=UTC)
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-24T08:25:55.590+0000", datetime(2025, 6, 24, 8, 25, 55, 590000, tzinfo=UTC)),
        ("2025-06-24T08:25:55Z", datetime(2025, 6, 24, 8, 25, 55, tzinfo=UTC)),
        ("2025-06-24T08:25:55+02:00", datetime(2025, 6, 24, 6, 25, 55, tzinfo=UTC)),
        # Without an offset: UTC, never local time (issue 14 item 11).
        ("2025-06-24T08:25:55", datetime(2025, 6, 24, 8, 25, 55, tzinfo=UTC)),
    ],
)
def test_the_wire_model_accepts_capillary_and_iso_8601(text: str, expected: datetime) -> None:
    parsed = Attribution.model_validate({"lastUpdatedOn": text}).lastUpdatedOn
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() is not None


def strftime_rendering(value: datetime) -> str:
    """What ``format_timestamp`` did before it had a fast path."""
    return (
        value.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}"
        + (value.strftime("%z") or "+0000")
    )


offsets = st.one_of(
    st.none(),
    st.just(UTC),
    st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-1439, 1439)),
    st.builds(  # offsets with seconds or microseconds take strftime's own path
        lambda seconds, micro: timezone(timedelta(seconds=seconds, microseconds=micro)),
        st.integers(-86399, 86399),
        st.integers(0, 999999),
    ),
)


@settings(max_examples=500, deadline=None)
@given(moment=st.datetimes(), tz=offsets)
def test_format_timestamp_renders_as_strftime_does(moment: datetime, tz: timezone | None) -> None:
    value = moment.replace(tzinfo=tz)
    assert format_timestamp(value) == strftime_rendering(value)


def test_format_timestamp_examples() -> None:
    assert format_timestamp(datetime(2025, 6, 24, 8, 25, 55, 590999, tzinfo=UTC)) == (
        "2025-06-24T08:25:55.590+0000"
    )
    minus = timezone(-timedelta(hours=5, minutes=30))
    assert format_timestamp(datetime(2025, 1, 2, 3, 4, 5, tzinfo=minus)) == (
        "2025-01-02T03:04:05.000-0530"
    )
    assert format_timestamp(datetime(2025, 1, 2)) == "2025-01-02T00:00:00.000+0000"
