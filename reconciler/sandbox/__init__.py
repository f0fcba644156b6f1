"""The sandbox: a local emulator of the Capillary v3 target-communications API (SPEC §8).

The client talks to it over HTTP exactly as to Capillary; demo credentials are in ``auth``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

# Names are imported on first use: a client that only looks for a running sandbox must not pay
# for the web framework (0.3 s) it never runs (issue 9).
_HOMES = {
    "create_app": "app",
    **dict.fromkeys(
        (
            "DEMO_CLIENT_KEY",
            "DEMO_CLIENT_SECRET",
            "DEMO_PASSWORD",
            "DEMO_USERNAME",
            "Client",
            "Credentials",
            "User",
            "basic_header",
        ),
        "auth",
    ),
    "Fault": "faults",
    "FaultConfig": "faults",
    "reset": "seed",
    "seed_synthetic": "seed",
    **dict.fromkeys(
        ("IN_PROCESS_URL", "SandboxServer", "in_process_transport", "running_sandbox_url", "serve"),
        "server",
    ),
    **dict.fromkeys(("DEFAULT_DB_PATH", "RequestRecord", "Store", "open_store"), "store"),
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


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
