"""The wire models (pure, no server): what they read tolerantly, and timestamps on the wire.

Issue 14 item 11: what is never diffed is read tolerantly. ``attribution`` (timestamps and
actors) can hold any JSON value without failing its row; identity fields may be numeric strings
but never booleans; ``subjectTemplate: null`` is "". ``tests/reliability/test_tolerant_reads.py``
runs the same over real HTTP through plan, drift and apply.

Issue 9: Capillary's timestamp shape takes a fast path with the same results as ``strptime``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.api.wire import (
    Attribution,
    Communication,
    Target,
    TargetGroup,
    _parse_timestamp,
    format_timestamp,
)
from reconciler.assumptions import TIMESTAMP_FORMAT

ROW: dict[str, object] = {
    "id": 1,
    "communicationType": "START",
    "channelId": 2,
    "subjectTemplate": "s",
    "messageTemplate": "m",
    "sender": "a@example.com",
    "offsetDays": 0,
    "active": True,
}
# Fields whose value decides which row this is and whose it is: never tolerated when garbled.
IDENTITY = {*ROW, "targetId", "targetGroupId"}
MOMENT = datetime(2024, 6, 24, 8, 25, 55, 590000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-24T08:25:55.590+0000", MOMENT),
        ("2024-06-24T08:25:55.590Z", MOMENT),
        ("2024-06-24T08:25:55Z", MOMENT.replace(microsecond=0)),
        ("2024-06-24T08:25:55", MOMENT.replace(microsecond=0)),  # no offset: UTC
        ("2024-06-24 08:25:55.590", MOMENT),
        ("2024-06-24T10:25:55.590+02:00", MOMENT),
        (" 2024-06-24T08:25:55.590+0000 ", MOMENT),
        ("2024-06-24", datetime(2024, 6, 24, tzinfo=UTC)),
        (1719217555590, MOMENT),  # epoch milliseconds
        (1719217555590.0, MOMENT),
        ("1719217555590", MOMENT),
        (1719217555, MOMENT.replace(microsecond=0)),  # epoch seconds
    ],
)
def test_timestamps_in_other_formats_are_read(value: object, expected: datetime) -> None:
    parsed = Attribution.model_validate({"lastUpdatedOn": value}).lastUpdatedOn
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() is not None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "garbage",
        "2025-02-30T00:00:00Z",
        "yesterday",
        True,
        False,
        {},
        {"epoch": 1},
        [2024, 6, 24],
        math.nan,
        math.inf,
        1e300,
        -1e300,
        "9" * 400,
        "0001-01-01T00:00:00.000+1400",  # before year 1 in UTC
    ],
)
def test_what_is_not_a_readable_time_is_unknown_never_an_error(value: object) -> None:
    parsed = Attribution.model_validate({"lastUpdatedOn": value, "createdOn": value})
    if parsed.lastUpdatedOn is not None:  # the one odd value that is a time must be usable
        parsed.lastUpdatedOn.timestamp()
    else:
        assert parsed.createdOn is None


def test_extreme_offsets_stay_usable_for_ordering() -> None:
    for text in ("9999-12-31T23:59:59.999-2359", "0001-01-01T00:00:00.000-2359"):
        parsed = Attribution.model_validate({"lastUpdatedOn": text}).lastUpdatedOn
        assert parsed is None or isinstance(parsed.timestamp(), float)
    plus = timezone(timedelta(hours=5))
    parsed = Attribution.model_validate({"lastUpdatedOn": datetime(2025, 1, 1, tzinfo=plus)})
    assert parsed.lastUpdatedOn == datetime(2024, 12, 31, 19, tzinfo=UTC)


def test_actors_in_other_shapes() -> None:
    attribution = Attribution.model_validate(
        {
            "createdBy": {"id": "abc-123", "code": 77, "name": None, "type": ["x"]},
            "lastUpdatedBy": "jdoe",
        }
    )
    assert attribution.createdBy is not None
    assert (attribution.createdBy.id, attribution.createdBy.code) == ("abc-123", "77")
    assert attribution.createdBy.type is None
    assert attribution.lastUpdatedBy is not None
    assert attribution.lastUpdatedBy.name == "jdoe"
    for odd in (None, 5, True, [], "", {"id": True}, {"id": {"x": 1}}):
        parsed = Attribution.model_validate({"lastUpdatedBy": odd})
        assert parsed.lastUpdatedBy is None or parsed.lastUpdatedBy.id is None


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["2025-06-24T08:25:55.590+0000", "2025-06-24T08:25:55Z", "1719217555590"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
attribution_fields = st.sampled_from(["createdOn", "lastUpdatedOn", "createdBy", "lastUpdatedBy"])
actor_fields = st.sampled_from(["id", "code", "description", "name", "type"])


@settings(max_examples=300, deadline=None)
@given(
    attribution=json_values
    | st.dictionaries(attribution_fields, json_values)
    | st.dictionaries(attribution_fields, st.dictionaries(actor_fields, json_values) | json_values),
    extra=st.dictionaries(st.text(max_size=10).filter(lambda k: k not in IDENTITY), json_values),
)
def test_no_attribution_and_no_unknown_field_ever_fails_a_row(
    attribution: object, extra: dict[str, object]
) -> None:
    row = {**extra, **ROW, "attribution": attribution}
    comm = Communication.model_validate(row)
    assert (comm.id, comm.channelId, comm.messageTemplate) == (1, 2, "m")
    if comm.attribution is not None and comm.attribution.lastUpdatedOn is not None:
        comm.attribution.lastUpdatedOn.timestamp()


def test_missing_attribution_and_null_subject() -> None:
    comm = Communication.model_validate({**ROW, "subjectTemplate": None})
    assert comm.subjectTemplate == ""
    assert comm.attribution is None


def test_ids_and_offset_days_as_numeric_strings() -> None:
    comm = Communication.model_validate(
        {
            **ROW,
            "id": "12",
            "channelId": " 2 ",
            "offsetDays": "3",
            "targetId": "2317",
            "targetGroupId": 2163.0,
        }
    )
    assert (comm.id, comm.channelId, comm.offsetDays, comm.targetId, comm.targetGroupId) == (
        12,
        2,
        3,
        2317,
        2163,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", True),
        ("id", "twelve"),
        ("id", None),
        ("channelId", False),
        ("channelId", "2.5"),
        ("offsetDays", "three"),
        ("targetId", True),
    ],
)
def test_identity_that_cannot_be_read_still_fails_the_row(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Communication.model_validate({**ROW, field: value})


def test_groups_and_targets_tolerate_what_resolution_does_not_need() -> None:
    group = TargetGroup.model_validate(
        {"id": "7", "name": None, "description": 5, "active": "maybe", "targets": None}
    )
    assert (group.id, group.name, group.description, group.active, group.targets) == (
        7,
        "",
        "5",
        None,
        [],
    )
    target = Target.model_validate({"id": 8, "name": "T", "active": "true", "targetGroupId": "7"})
    assert (target.active, target.targetGroupId) == (True, 7)


# --- timestamps on the wire (issue 9) ---------------------------------------------------------


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
