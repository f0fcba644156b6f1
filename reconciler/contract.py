"""The API contract a run honours: what the upsert does on this org, proven by ``probe`` or stated.

Owns the ``Contract`` model, the committable file ``.reconciler/contract-<environment>.json`` that
``probe`` writes, and the one function that decides which contract a command runs with. Reads no
network; the defaults are the assumptions in ``assumptions.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.errors import ConfigError

CONTRACT_FILE_VERSION: Literal[1] = 1
MAX_CONTRACT_BYTES = 1 << 20

Origin = Literal["assumed", "file", "config"]


class Contract(BaseModel):
    """How the server treats an upsert body; each default is the assumption we make unproven."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    upsert: Literal["merge", "replace"] = Field(
        "merge", description="rows left out of a body: kept (merge) or deactivated (replace)"
    )
    match: Literal["id", "key", "type"] = Field(
        "id",
        description="what an element updates: the row its id names, the row of its "
        "(communicationType, channelId), or the row of its communicationType alone",
    )
    inactiveRowsVisible: bool = Field(True, description="GET returns rows with active: false")
    keepsServerFields: bool = Field(
        True, description="an update that omits configs (and other server fields) keeps them"
    )
    body: Literal["array", "object"] = Field(
        "array", description="the upsert takes an array of communications, or one object"
    )

    def differences(self) -> list[str]:
        """The settings that differ from the assumptions, as ``name: value`` (empty: as assumed)."""
        assumed = Contract()
        return [
            f"{name}: {json.dumps(getattr(self, name))}"
            for name in type(self).model_fields
            if getattr(self, name) != getattr(assumed, name)
        ]


class ContractSettings(BaseModel):
    """The ``contract:`` block of an environment in reconciler.yaml: any subset of the settings."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    upsert: Literal["merge", "replace"] | None = None
    match: Literal["id", "key", "type"] | None = None
    inactiveRowsVisible: bool | None = None
    keepsServerFields: bool | None = None
    body: Literal["array", "object"] | None = None

    def stated(self) -> dict[str, object]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ContractFile(BaseModel):
    """What ``probe`` writes: the contract it found and the evidence for each answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = CONTRACT_FILE_VERSION
    environment: str
    endpoint: str
    probedAt: str
    targetGroupId: int
    targetId: int
    contract: Contract
    # One entry per question: {"id", "question", "assumed", "answer", "matches", "evidence"}.
    answers: list[dict[str, object]] = Field(default_factory=list)


@dataclass(frozen=True)
class ActiveContract:
    """The contract a run uses, and where it came from (``assumed``: nothing proved or stated,
    so apply runs its canary)."""

    contract: Contract
    origin: Origin
    path: Path | None = None

    @property
    def proven(self) -> bool:
        return self.origin != "assumed"


def contract_path(root: Path, environment: str) -> Path:
    """Where ``probe`` writes (and every command reads) the environment's contract file."""
    return root / ".reconciler" / f"contract-{environment}.json"


def read_contract_file(path: Path) -> ContractFile | None:
    """The file at ``path``, or None when there is none; anything unreadable is a ConfigError."""
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_CONTRACT_BYTES:
            raise ConfigError(f"{path}: contract file is larger than 1 MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the contract file: {exc.strerror}") from None
    try:
        return ContractFile.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise ConfigError(
            f"{path}: not a contract file written by `reconciler probe` ({where}: {first['msg']}); "
            "run `reconciler probe` again or delete it"
        ) from None


def write_contract_file(path: Path, document: ContractFile) -> None:
    """Write atomically (a temporary file renamed over the old one), sorted and indented."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(text, encoding="utf-8")
    scratch.replace(path)


def active_contract(
    root: Path, environment: str, stated: ContractSettings | None = None
) -> ActiveContract:
    """The one decision: the probed file's contract, with any setting reconciler.yaml states on
    top (the user's explicit word wins); neither present means the assumptions, unproven."""
    path = contract_path(root, environment)
    found = read_contract_file(path)
    base = found.contract if found is not None else Contract()
    overrides = stated.stated() if stated is not None else {}
    contract = base.model_copy(update=overrides) if overrides else base
    if found is not None:
        return ActiveContract(contract, "file", path)
    if overrides:
        return ActiveContract(contract, "config", None)
    return ActiveContract(contract, "assumed", None)
