"""Capillary v3 API: the async client, authentication, retries and wire models (SPEC §2)."""

from __future__ import annotations

import sys

# httpx imports its optional command-line client whenever click, pygments and rich are
# installed, and with typer and rich they are: 45 ms, a sixth of a plan's start-up. Nothing
# here runs httpx's CLI, so that import is declined before httpx is first imported (issue 9).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from reconciler.api.auth import (  # noqa: E402
    BasicCredentials,
    Credentials,
    OAuthCredentials,
    credentials_from_env,
)
from reconciler.api.client import CapillaryClient  # noqa: E402
from reconciler.api.retry import CircuitOpenError  # noqa: E402
from reconciler.api.settings import ClientSettings, check_endpoint  # noqa: E402
from reconciler.api.stats import ClientStats  # noqa: E402

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
