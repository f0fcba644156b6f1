"""Capillary v3 API: the async client, authentication, retries and wire models (SPEC §2)."""

from __future__ import annotations

from reconciler.api.auth import (
    BasicCredentials,
    Credentials,
    OAuthCredentials,
    credentials_from_env,
)
from reconciler.api.client import CapillaryClient
from reconciler.api.retry import CircuitOpenError
from reconciler.api.settings import ClientSettings, check_endpoint
from reconciler.api.stats import ClientStats

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
