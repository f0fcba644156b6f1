"""Wire models of the Capillary API; they ignore unknown fields (SPEC §2 assumptions).

Reading is tolerant (SPEC §9, issue 14 item 11): what is never diffed (``attribution``: its
timestamps and actors) can never fail a row; an unreadable value becomes ``None``, shown as
unknown. Ids and ``offsetDays`` may come as numeric strings and ``subjectTemplate`` as null.
Only identity (``id``, ``channelId``, ``communicationType``, ``targetId``, ``targetGroupId``)
and the compared fields can make a row, and so its target, unreadable.

Manifest models (reconciler.manifests.schema) forbid unknown fields; keep the families apart.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from reconciler.assumptions import TIMESTAMP_FORMAT

# Capillary's own shape, ``2025-06-24T08:25:55.590+0000``, within the ranges that strptime
# accepts for TIMESTAMP_FORMAT. For these, datetime.fromisoformat gives the same datetime,
# offset included, ~10 times faster (issue 9); any other string takes the strptime path.
_CAPILLARY_TIMESTAMP = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}"
    r"[+-](?:[01][0-9]|2[0-3])[0-5][0-9]"
)


def _parse_timestamp(value: Any) -> Any:
    """Accept Capillary's ``2025-06-24T08:25:55.590+0000`` as well as ISO 8601."""
    if isinstance(value, str):
        if _CAPILLARY_TIMESTAMP.fullmatch(value):
            try:
                return datetime.fromisoformat(value)
            except ValueError:  # e.g. 31 February: strptime decides, as for any other string
                pass
        try:
            return datetime.strptime(value, TIMESTAMP_FORMAT)
        except ValueError:
            return value  # let pydantic try ISO 8601
    return value


_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


def _tolerant_timestamp(value: Any) -> datetime | None:
    """A timestamp in any form a deployment may send, or ``None`` for what is not one.

    Capillary's ``2025-06-24T08:25:55.590+0000``, ISO 8601 (``Z``, with or without
    milliseconds, or a date alone), epoch seconds or milliseconds as a number or a numeric
    string. A time without an offset is UTC, never local time. Empty, null, ``true``,
    objects, garbage and times outside what a datetime can hold are ``None``.
    """
    if value is None or isinstance(value, bool):
        return None
    parsed: object = value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        parsed = _parse_timestamp(text)
    elif not isinstance(value, int | float | datetime):
        return None
    if not isinstance(parsed, datetime):
        try:
            parsed = _DATETIME.validate_python(parsed)
        except ValidationError:
            return None
    assert isinstance(parsed, datetime)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed.timestamp()  # what planning orders duplicates by: it must work
    except (OverflowError, ValueError, OSError):
        return None
    return parsed


Timestamp = Annotated[datetime | None, BeforeValidator(_tolerant_timestamp)]

_INTEGER = re.compile(r"[+-]?[0-9]+")


def _whole_number(value: Any) -> Any:
    """Ids and ``offsetDays``: a number, or a numeric string (SPEC §9); never a boolean."""
    if isinstance(value, bool):
        raise ValueError("expected a whole number, not a boolean")
    if isinstance(value, str) and value.strip().isascii() and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return value  # int passes; pydantic rejects anything that is not a whole number


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


def _text_or_none(value: Any) -> str | None:
    """A display text (names, codes): strings as they are, numbers as text, else ``None``."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


def _actor_id(value: Any) -> int | str | None:
    if isinstance(value, bool):
        return None
    return value if isinstance(value, int | str) else None


def _actor(value: Any) -> Any:
    """An actor object; a bare string names the actor; anything else is no actor."""
    if isinstance(value, dict | BaseModel):
        return value
    if isinstance(value, str) and value.strip():
        return {"name": value}
    return None


def _object_or_none(value: Any) -> Any:
    return value if isinstance(value, dict | BaseModel) else None


def _flag_or_none(value: Any) -> Any:
    """``active`` of groups and targets (not compared): unreadable is unknown."""
    try:
        return _BOOL.validate_python(value) if value is not None else None
    except ValidationError:
        return None


_BOOL: TypeAdapter[bool] = TypeAdapter(bool)
Text = Annotated[str | None, BeforeValidator(_text_or_none)]


def _type_name(value: Any) -> Any:
    """A communicationType the schema does not know is still read (issue 14 item 8: such a
    row is "not managed", never a reason to call the whole target unreadable): an integer
    code becomes its text, a missing one the empty name."""
    if value is None:
        return ""
    if type(value) is int:
        return str(value)
    return value


TypeName = Annotated[str, BeforeValidator(_type_name)]


def format_timestamp(value: datetime) -> str:
    """Render a timestamp the way Capillary does (milliseconds, ``+0000`` offset)."""
    offset = value.utcoffset()
    seconds = 0 if offset is None else offset.days * 86400 + offset.seconds
    if value.year < 1000 or seconds % 60 or (offset is not None and offset.microseconds):
        return _strftime_timestamp(value)  # strftime's own renderings of these
    # The same text as strftime, without its two calls (issue 9: a plan formats one per change).
    hours, minutes = divmod(abs(seconds) // 60, 60)
    sign = "-" if seconds < 0 else "+"
    return f"{value.isoformat(timespec='milliseconds')[:23]}{sign}{hours:02d}{minutes:02d}"


def _strftime_timestamp(value: datetime) -> str:
    return (
        value.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}"
        + (value.strftime("%z") or "+0000")
    )


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Actor(WireModel):
    """Who made a change; every field is optional and read tolerantly (never diffed)."""

    id: Annotated[int | str | None, BeforeValidator(_actor_id)] = None
    code: Text = None
    description: Text = None
    name: Text = None
    type: Text = None


ActorField = Annotated[Actor | None, BeforeValidator(_actor)]


class Attribution(WireModel):
    """Server-owned and never diffed: no value here can make a row unreadable."""

    createdOn: Timestamp = None
    lastUpdatedOn: Timestamp = None
    createdBy: ActorField = None
    lastUpdatedBy: ActorField = None


class Communication(WireModel):
    """A communication as the API stores it.

    Fields we do not know (``configs``, ``supportedCommChannels``, ...) are never validated,
    compared or fingerprinted, but kept (``server_fields``): under a contract whose server
    does not keep them, an update has to send them back (SPEC §9).
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    id: WholeNumber
    targetId: WholeNumber | None = None
    targetGroupId: WholeNumber | None = None
    communicationType: TypeName
    channelId: WholeNumber
    subjectTemplate: Annotated[str, BeforeValidator(_none_as_empty)] = ""
    messageTemplate: str = ""
    sender: str = ""
    offsetDays: WholeNumber = 0
    active: bool = True
    attribution: Annotated[Attribution | None, BeforeValidator(_object_or_none)] = None

    @property
    def server_fields(self) -> dict[str, Any]:
        """The fields of the answer that this model does not know, as they came."""
        return dict(self.__pydantic_extra__ or {})


class CommunicationWrite(BaseModel):
    """One element of an upsert body: with ``id`` it updates, without it inserts.

    ``echo``: a live row's server fields sent back with it (never one of the fields above).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int | None = None
    active: bool
    channelId: int
    communicationType: str
    messageTemplate: str
    offsetDays: int
    sender: str
    subjectTemplate: str
    echo: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)

    def to_body(self) -> dict[str, Any]:
        """The JSON object sent to the API; ``id`` only when it updates."""
        body = self.model_dump(exclude_none=True)
        if self.echo:
            body = {**{k: v for k, v in self.echo.items() if k not in _WRITE_FIELDS}, **body}
        return body


class Target(WireModel):
    id: WholeNumber
    name: Annotated[str, BeforeValidator(_none_as_empty)] = ""
    targetGroupId: WholeNumber | None = None
    active: Annotated[bool | None, BeforeValidator(_flag_or_none)] = None


class TargetGroup(WireModel):
    id: WholeNumber
    name: Annotated[str, BeforeValidator(_none_as_empty)] = ""
    description: Text = None
    active: Annotated[bool | None, BeforeValidator(_flag_or_none)] = None
    targets: Annotated[list[Target], BeforeValidator(lambda v: [] if v is None else v)] = Field(
        default_factory=list
    )


class Channel(WireModel):
    id: WholeNumber
    name: str


_WRITE_FIELDS = frozenset(CommunicationWrite.model_fields)
