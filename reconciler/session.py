"""Open the API client for the selected environment: the sandbox (in-process or running) or a
real endpoint with credentials from the environment (SPEC §7, §8)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from reconciler.api.auth import BasicCredentials, OAuthCredentials, credentials_from_env
from reconciler.api.endpoints import CapillaryClient
from reconciler.api.settings import ClientSettings
from reconciler.assumptions import DEFAULT_RATE_LIMIT_PER_MINUTE
from reconciler.config import Settings


def _sandbox_credentials(auth: str) -> BasicCredentials | OAuthCredentials:
    from reconciler.sandbox import auth as demo

    if auth == "basic":
        return BasicCredentials(demo.DEMO_USERNAME, demo.DEMO_PASSWORD)
    return OAuthCredentials(demo.DEMO_CLIENT_KEY, demo.DEMO_CLIENT_SECRET)


def client_settings(
    settings: Settings,
    *,
    base_url: str,
    parallelism: int | None = None,
    environ: Mapping[str, str] | None = None,
    rate_limit: float | None = None,
    shards: int = 1,
) -> ClientSettings:
    """The client's settings for the selected environment.

    ``rate_limit`` (``--rate-limit``) replaces the environment's ``rateLimit``. Without it,
    a run that is one of ``shards`` jobs sharing the API key gets its share of the key's
    budget, ``rateLimit / shards``: the limit is per key, and shards started together would
    otherwise each assume all of it and be throttled N-fold (issue 21).
    """
    env = settings.env
    if settings.is_sandbox:
        credentials = _sandbox_credentials(env.auth)
        # The emulator has no documented limit; a configured rateLimit still applies.
        rate = float(env.rateLimit) if env.rateLimit else None
    else:
        credentials = credentials_from_env(env.auth, os.environ if environ is None else environ)
        rate = float(env.rateLimit or DEFAULT_RATE_LIMIT_PER_MINUTE)
    if rate_limit is not None:
        rate = float(rate_limit)
    elif rate is not None and shards > 1:
        rate /= shards
    return ClientSettings(
        base_url=base_url,
        credentials=credentials,
        parallelism=parallelism or env.parallelism,
        rate_limit_per_minute=rate,
        connect_timeout=float(env.connectTimeout),
        read_timeout=float(env.readTimeout),
        max_response_bytes=env.maxResponseMiB * 1024 * 1024,
    )


@asynccontextmanager
async def open_client(
    settings: Settings,
    *,
    parallelism: int | None = None,
    rate_limit: float | None = None,
    shards: int = 1,
) -> AsyncIterator[CapillaryClient]:
    """A client for ``settings``; for ``endpoint: sandbox`` a running server or the in-process app.

    ``rate_limit`` and ``shards``: as for ``client_settings``."""
    transport = None
    if settings.is_sandbox:
        from reconciler.sandbox.server import (
            IN_PROCESS_URL,
            in_process_transport,
            running_sandbox_url,
        )

        url = running_sandbox_url(settings.sandbox_db)
        if url is None:
            url = IN_PROCESS_URL
            transport = in_process_transport(settings.sandbox_db)
    else:
        url = settings.env.endpoint
    client = CapillaryClient(
        client_settings(
            settings, base_url=url, parallelism=parallelism, rate_limit=rate_limit, shards=shards
        ),
        transport=transport,
    )
    async with client:
        yield client
