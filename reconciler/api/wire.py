"""Wire models of the Capillary API; they ignore unknown fields (SPEC §2 assumptions).

Manifest models (reconciler.manifests.schema) forbid unknown fields; keep the families apart.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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


Timestamp = Annotated[datetime, BeforeValidator(_parse_timestamp)]


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
    id: int | None = None
    code: str | None = None
    description: str | None = None
    name: str | None = None
    type: str | None = None


class Attribution(WireModel):
    createdOn: Timestamp | None = None
    lastUpdatedOn: Timestamp | None = None
    createdBy: Actor | None = None
    lastUpdatedBy: Actor | None = None


class Communication(WireModel):
    """A communication as the API stores it."""

    id: int
    targetId: int | None = None
    targetGroupId: int | None = None
    communicationType: TypeName
    channelId: int
    subjectTemplate: str = ""
    messageTemplate: str = ""
    sender: str = ""
    offsetDays: int = 0
    active: bool = True
    attribution: Attribution | None = None


class CommunicationWrite(BaseModel):
    """One element of an upsert body: with ``id`` it updates, without it inserts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int | None = None
    active: bool
    channelId: int
    communicationType: str
    messageTemplate: str
    offsetDays: int
    sender: str
    subjectTemplate: str

    def to_body(self) -> dict[str, Any]:
        """The JSON object sent to the API; ``id`` only when it updates."""
        return self.model_dump(exclude_none=True)


class Target(WireModel):
    id: int
    name: str = ""
    targetGroupId: int | None = None
    active: bool | None = None


class TargetGroup(WireModel):
    id: int
    name: str = ""
    description: str | None = None
    active: bool | None = None
    targets: list[Target] = Field(default_factory=list)


class Channel(WireModel):
    id: int
    name: str


class ApiMessage(WireModel):
    code: int | str | None = None
    message: str | None = None
