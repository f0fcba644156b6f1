"""Pydantic models of a manifest document (SPEC §3); they forbid unknown fields.

Wire models (reconciler.api.wire) ignore unknown fields instead; keep the two families apart.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from reconciler.assumptions import COMMUNICATION_TYPES, COMPARED_FIELDS

API_VERSION = "reconciler/v1"
KIND = "TargetCommunications"
CommunicationType = Literal["START", "FINISH", "CHANGE", "REMINDER"]
assert set(CommunicationType.__args__) == set(COMMUNICATION_TYPES)  # type: ignore[attr-defined]
# The compared fields an ``ignore:`` rule may leave to live edits (docs/manifests.md).
IgnoredField = Literal["messageTemplate", "subjectTemplate", "sender", "offsetDays", "active"]
assert set(IgnoredField.__args__) == set(COMPARED_FIELDS)  # type: ignore[attr-defined]


class ManifestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Metadata(ManifestModel):
    name: str = Field(
        min_length=1,
        max_length=200,
        description="Unique across all manifests; used in messages and --select.",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="For --select k=v.")


class TargetRef(ManifestModel):
    targetGroup: int | str = Field(description="Target group id (int) or exact name (str).")
    target: int | str = Field(description="Target id (int) or exact name within the group.")


class CommunicationSpec(ManifestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {"oneOf": [{"required": ["channel"]}, {"required": ["channelId"]}]},
                {
                    "oneOf": [
                        {"required": ["messageTemplate"]},
                        {"required": ["messageTemplateFile"]},
                    ]
                },
            ]
        }
    )

    communicationType: CommunicationType
    channel: str | None = Field(None, description="Channel name, e.g. EMAIL; or use channelId.")
    channelId: int | None = Field(None, description="Channel id; or use channel.")
    sender: str = Field(description="Sender id: an email address, an SMS sender id, ...")
    subjectTemplate: str = Field("", description="Subject; may be empty (SMS has none).")
    messageTemplate: str | None = Field(None, min_length=1, description="Message body.")
    messageTemplateFile: str | None = Field(
        None, description="Path of the message body, relative to this file, inside the repo."
    )
    offsetDays: int = Field(0, ge=0, description="Delivery offset in days.")
    active: bool = True
    ignore: list[IgnoredField] = Field(
        default_factory=list,
        description="Compared fields of this communication that live edits own: never "
        "written on update, never a change.",
    )


class IgnoreRule(ManifestModel):
    """A document-level rule for one of the document's communications, named by its key."""

    communicationType: CommunicationType
    channel: str | None = Field(None, description="Channel name, as the entry writes it.")
    channelId: int | None = Field(None, description="Channel id, as the entry writes it.")
    fields: list[IgnoredField] = Field(min_length=1)


def _rule_kind(value: object) -> str:
    return "rule" if isinstance(value, dict | IgnoreRule) else "field"


# A document's rule: a field name (every communication) or a rule for one communication.
DocumentRule = Annotated[
    Annotated[IgnoredField, Tag("field")] | Annotated[IgnoreRule, Tag("rule")],
    Discriminator(_rule_kind),
]


class TargetCommunications(ManifestModel):
    """One manifest document: the communications of one target."""

    model_config = ConfigDict(title="TargetCommunications")

    apiVersion: Literal["reconciler/v1"]
    kind: Literal["TargetCommunications"]
    metadata: Metadata
    target: TargetRef
    prune: bool = Field(
        True, description="Deactivate live communications of this target that no entry declares."
    )
    ignore: list[DocumentRule] = Field(
        default_factory=list,
        description="Compared fields that live edits own, for every communication of this "
        "document (a field name) or for one of them ({communicationType, channel, fields}).",
    )
    communications: list[CommunicationSpec]


FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "": tuple(TargetCommunications.model_fields),
    "metadata": tuple(Metadata.model_fields),
    "target": tuple(TargetRef.model_fields),
    "communications": tuple(CommunicationSpec.model_fields),
    "ignore": tuple(IgnoreRule.model_fields),  # the keys of a keyed document rule
}


def json_schema() -> str:
    """The JSON Schema of a manifest document, as ``reconciler schema`` prints it."""
    schema = TargetCommunications.model_json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://reconciler.dev/schema/manifest.schema.json",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
