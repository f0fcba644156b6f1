"""Shapes of the sandbox's JSON: strict request models and the response documents of SPEC §2.

Responses are TypedDicts so the store builds them as plain dicts and OpenAPI still describes them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, NotRequired

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

# pydantic needs typing_extensions' TypedDict before Python 3.12.
from typing_extensions import TypedDict

CommunicationType = Literal["START", "FINISH", "CHANGE", "REMINDER"]

# SQLite stores 64-bit integers; Capillary's ids are Java longs and offsets Java ints.
MAX_ID = 2**63 - 1
MAX_INT = 2**31 - 1
# Column sizes are not documented; these are generous and keep a runaway client in check.
MAX_SENDER = 255
MAX_SUBJECT = 2_000
MAX_MESSAGE = 100_000
MAX_ELEMENTS = 1_000
MAX_CONFIGS = 100
MAX_CONFIG_TEXT = 10_000
_DIGITS = re.compile(r"-?[0-9]{1,19}")


def _utf8(value: str) -> str:
    """JSON can carry lone surrogates; no database column can."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def _whole(value: object) -> object:
    """JSON has one number type: ``3.0`` is the integer 3 (JSON Schema and Jackson agree).

    Strings (``"3"``), booleans and fractions stay what they are and fail the strict check.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _digits(value: object) -> object:
    """The ``string-ids`` dialect: ``"5101"`` is the integer 5101 (an optional leading ``-``)."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return _whole(value)


Text = Annotated[str, AfterValidator(_utf8)]
# The validator comes last, so the bounds stay on the integer and show in the JSON Schema.
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole)]
ChannelId = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID), BeforeValidator(_whole)]
Days = Annotated[int, Field(ge=0, le=MAX_INT), BeforeValidator(_whole)]
# What the string-ids dialect accepts in a body: the integer or its digits as a JSON string.
DigitsId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_digits)]
DigitsChannelId = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID), BeforeValidator(_digits)]


class UpsertElement(BaseModel):
    """One element of an upsert body: with ``id`` it updates, without it inserts (SPEC §2)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    id: Id | None = None
    active: bool
    channelId: ChannelId
    communicationType: CommunicationType
    messageTemplate: Annotated[Text, Field(max_length=MAX_MESSAGE)]
    offsetDays: Days
    sender: Annotated[Text, Field(max_length=MAX_SENDER)]
    subjectTemplate: Annotated[Text, Field(max_length=MAX_SUBJECT)]


class Config(BaseModel):
    """One server-side setting of a communication (``configs: [{name, value}]``)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    name: Annotated[Text, Field(max_length=MAX_SENDER)]
    value: Annotated[Text, Field(max_length=MAX_CONFIG_TEXT)]


class ServerFieldsElement(UpsertElement):
    """An upsert element of the ``drop-server-fields`` dialect: it may carry the server-side
    fields back; an update that leaves one out empties it."""

    configs: Annotated[list[Config], Field(max_length=MAX_CONFIGS)] | None = None
    supportedCommChannels: (
        Annotated[
            list[Annotated[Text, Field(max_length=MAX_SENDER)]], Field(max_length=MAX_CONFIGS)
        ]
        | None
    ) = None


class TokenRequest(BaseModel):
    """Body of ``POST /v3/oauth/token/generate``."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    key: Annotated[Text, Field(max_length=1_000)]
    secret: Annotated[Text, Field(max_length=1_000)]


class ActorJSON(TypedDict):
    """Who created or last updated an object."""

    id: int
    code: str
    description: str
    name: str
    type: str


class AttributionJSON(TypedDict):
    createdOn: str
    lastUpdatedOn: str
    lastUpdatedBy: ActorJSON
    createdBy: ActorJSON


class ConfigJSON(TypedDict):
    name: str
    value: str


class ServerFieldsJSON(TypedDict):
    """What the server keeps on a communication that the upsert body does not carry."""

    configs: list[ConfigJSON]
    supportedCommChannels: list[str]


class CommunicationJSON(TypedDict):
    """A communication as stored; the GET adds ``configs`` (and, when the row has them,
    ``supportedCommChannels``), the upsert answer neither."""

    id: int
    attribution: AttributionJSON
    targetId: int
    targetGroupId: int
    communicationType: str
    channelId: int
    subjectTemplate: str
    messageTemplate: str
    sender: str
    offsetDays: int
    active: bool
    configs: NotRequired[list[ConfigJSON]]
    supportedCommChannels: NotRequired[list[str]]


class DatedAttributionJSON(TypedDict):
    createdOn: str
    createdOnISO: str
    lastUpdatedOn: str
    lastUpdatedOnISO: str
    createdBy: ActorJSON
    lastUpdatedBy: ActorJSON


class TargetGroupJSON(TypedDict):
    id: int
    attribution: DatedAttributionJSON
    name: str
    description: str
    fromDate: str
    toDate: str
    active: bool
    preferredTillId: int
    totalPeriods: int
    targetEvaluationType: str
    trackingType: str
    frequencyType: str
    frequency: int
    recurringCycles: int


class TargetJSON(TypedDict):
    id: int
    attribution: DatedAttributionJSON
    name: str
    targetGroupId: int
    description: str
    active: bool
    targetType: str
    targetEntity: str
    eventName: str
    enrolmentMethod: str
    expression: str


class ChannelJSON(TypedDict):
    id: int
    name: str


class TokenJSON(TypedDict):
    accessToken: str
    ttlSeconds: int


class ErrorJSON(TypedDict):
    code: int
    message: str


class CommunicationsEnvelope(TypedDict):
    data: list[CommunicationJSON]
    errors: None
    warnings: None


class CommunicationEnvelope(TypedDict):
    """The upsert answer of the object-body dialect: the one communication as stored."""

    data: CommunicationJSON
    errors: None
    warnings: None


class TargetGroupEnvelope(TypedDict):
    data: TargetGroupJSON
    errors: None
    warnings: None


class TargetGroupsEnvelope(TypedDict):
    data: list[TargetGroupJSON]
    errors: None
    warnings: None


class TargetsEnvelope(TypedDict):
    data: list[TargetJSON]
    errors: None
    warnings: None


class ChannelsEnvelope(TypedDict):
    data: list[ChannelJSON]
    errors: None
    warnings: None


class TokenEnvelope(TypedDict):
    data: TokenJSON
    errors: None
    warnings: None


class ErrorEnvelope(TypedDict):
    """Every failure the API itself answers; a CDN in front may answer HTML instead."""

    data: None
    errors: Annotated[list[ErrorJSON], Field(min_length=1)]
    warnings: None
