"""The sandbox: a local emulator of the Capillary v3 target-communications API (SPEC §8).

The client talks to it over HTTP exactly as to Capillary; demo credentials are in ``auth``.
"""

from __future__ import annotations

from reconciler.sandbox.app import create_app
from reconciler.sandbox.auth import (
    DEMO_CLIENT_KEY,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    Client,
    Credentials,
    User,
    basic_header,
)
from reconciler.sandbox.faults import Fault, FaultConfig
from reconciler.sandbox.seed import reset, seed_synthetic
from reconciler.sandbox.server import (
    IN_PROCESS_URL,
    SandboxServer,
    in_process_transport,
    running_sandbox_url,
    serve,
)
from reconciler.sandbox.store import DEFAULT_DB_PATH, RequestRecord, Store, open_store

__all__ = [
    "DEFAULT_DB_PATH",
    "DEMO_CLIENT_KEY",
    "DEMO_CLIENT_SECRET",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "IN_PROCESS_URL",
    "Client",
    "Credentials",
    "Fault",
    "FaultConfig",
    "RequestRecord",
    "SandboxServer",
    "Store",
    "User",
    "basic_header",
    "create_app",
    "in_process_transport",
    "open_store",
    "reset",
    "running_sandbox_url",
    "seed_synthetic",
    "serve",
]
