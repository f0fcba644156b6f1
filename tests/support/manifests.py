"""Manifest documents written by a test. Every scalar is written in JSON form (strings quoted),
so a test's data can never be misread the way the hostile inputs of the suites are meant to be.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from reconciler.sandbox.seed import EMAIL, SMS
from tests.support.cli import SENDER


def communication(
    kind: str,
    channel_id: int,
    message: str,
    *,
    sender: str = SENDER,
    subject: str = "",
    offset: int = 0,
    active: bool = True,
) -> dict[str, object]:
    return {
        "communicationType": kind,
        "channelId": channel_id,
        "sender": sender,
        "subjectTemplate": subject,
        "messageTemplate": message,
        "offsetDays": offset,
        "active": active,
    }


_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def yaml_scalar(value: object) -> str:
    """A JSON scalar as YAML 1.2 reads it back: YAML's ``\\u`` has no surrogate pairs, so
    characters beyond U+FFFF are written as ``\\UXXXXXXXX``."""

    def astral(match: re.Match[str]) -> str:
        high, low = int(match[1], 16) - 0xD800, int(match[2], 16) - 0xDC00
        return f"\\U{0x10000 + (high << 10) + low:08x}"

    return _SURROGATE_PAIR.sub(astral, json.dumps(value))


def manifest(
    name: str,
    group: int,
    target: int,
    communications: Sequence[Mapping[str, object]],
    *,
    prune: bool = True,
) -> str:
    """One manifest document; every scalar is written in JSON form (strings double-quoted)."""
    lines = [
        "apiVersion: reconciler/v1",
        "kind: TargetCommunications",
        f"metadata: {{name: {yaml_scalar(name)}}}",
        f"target: {{targetGroup: {group}, target: {target}}}",
        f"prune: {json.dumps(prune)}",
        "communications:" + ("" if communications else " []"),
    ]
    for entry in communications:
        body = ", ".join(f"{key}: {yaml_scalar(value)}" for key, value in entry.items())
        lines.append(f"  - {{{body}}}")
    return "\n".join(lines) + "\n"


def synthetic_manifests(
    directory: Path, targets: Mapping[int, Sequence[int]], *, version: str = "v2"
) -> dict[tuple[int, int], list[dict[str, object]]]:
    """One manifest file per group for ``seed_synthetic`` targets; each target needs one update
    (START/EMAIL gets a new message) and one create (CHANGE/SMS). Returns the desired entries."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted: dict[tuple[int, int], list[dict[str, object]]] = {}
    for group, ids in targets.items():
        documents = []
        for target in ids:
            entries = [
                communication(
                    "START",
                    EMAIL,
                    f"Hi {{{{first_name}}}}, {version} for {target}.",
                    subject=f"Start for target {target}",
                ),
                communication("CHANGE", SMS, f"Halfway to {target}.", sender="NWREWARDS"),
            ]
            wanted[(group, target)] = entries
            documents.append(manifest(f"t-{target}", group, target, entries, prune=False))
        (directory / f"group-{group}.yaml").write_text("---\n".join(documents))
    return wanted
