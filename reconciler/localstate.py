"""The small JSON files the tool keeps under ``.reconciler/`` (contract, probe journal, canary
record): read with a size cap and one clear error, written atomically. No network, no policy."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from reconciler.errors import ConfigError

MAX_STATE_BYTES = 1 << 20

M = TypeVar("M", bound=BaseModel)


def read_state(path: Path, model: type[M], what: str) -> tuple[M | None, str | None]:
    """``(document, None)``; ``(None, None)`` when there is no file; ``(None, why)`` when the
    file is not a valid ``model`` (the caller words what to do). Unreadable: ConfigError."""
    try:
        if not path.is_file():
            return None, None
        if path.stat().st_size > MAX_STATE_BYTES:
            raise ConfigError(f"{path}: {what} is larger than 1 MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    try:
        return model.model_validate_json(raw), None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        return None, f"{where}: {first['msg']}"


def write_state(path: Path, document: BaseModel) -> None:
    """Write atomically (a temporary file renamed over the old one), sorted and indented."""
    write_atomically(path, json.dumps(document.model_dump(mode="json"), indent=2, sort_keys=True))


def write_atomically(path: Path, text: str) -> None:
    """``text`` (and a final newline) written to a temporary file renamed over ``path``: a
    reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = text if text.endswith("\n") else text + "\n"
    # A fresh, exclusively created name: a link planted at a fixed scratch name is never
    # written through.
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    scratch = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        scratch.replace(path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
