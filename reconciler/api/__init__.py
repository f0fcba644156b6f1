"""Capillary v3 API: the async client, authentication, retries and wire models.

Importing this package loads nothing else: the names below are imported on first use, so the
pure layers (the plan model, the planner, the renderers) can use ``api.wire`` without loading
httpx, httpcore and aiolimiter.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

# httpx imports its optional command-line client whenever click, pygments and rich are
# installed, and with typer and rich they are: 45 ms, a sixth of a plan's start-up. Nothing
# here runs httpx's CLI, so that import is declined before httpx is first imported (issue 9).
# Every module of this package runs this file first, so this line precedes any httpx import;
# that is why it sits here and not in ``transport`` with the other import trick.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    from reconciler.api.auth import (
        BasicCredentials,
        Credentials,
        OAuthCredentials,
        credentials_from_env,
    )
    from reconciler.api.endpoints import CapillaryClient
    from reconciler.api.settings import ClientSettings, check_endpoint
    from reconciler.api.stats import ClientStats
    from reconciler.errors import CircuitOpenError

_HOMES = {
    "BasicCredentials": "auth",
    "Credentials": "auth",
    "OAuthCredentials": "auth",
    "credentials_from_env": "auth",
    "CapillaryClient": "endpoints",
    "CircuitOpenError": "retry",  # defined in reconciler.errors; raised by the breaker
    "ClientSettings": "settings",
    "check_endpoint": "settings",
    "ClientStats": "stats",
}

__all__ = [
    "BasicCredentials",
    "CapillaryClient",
    "CircuitOpenError",
    "ClientSettings",
    "ClientStats",
    "Credentials",
    "OAuthCredentials",
    "check_endpoint",
    "credentials_from_env",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
