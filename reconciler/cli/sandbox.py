"""``reconciler sandbox serve`` and ``reconciler sandbox reset`` (SPEC §8): the emulator's
commands, kept apart from the commands that plan and apply."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.context import state
from reconciler.errors import ExitCode, UsageError

sandbox_app = typer.Typer(help="Run or reset the local Capillary emulator.")


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8080,
    db: Annotated[Path, typer.Option(help="SQLite state file.")] = Path(".reconciler/sandbox.db"),
    latency_ms: Annotated[int, typer.Option("--latency-ms", help="Added delay per request.")] = 0,
    fail_rate: Annotated[float, typer.Option("--fail-rate", help="Share answered 500/503.")] = 0.0,
    throttle_rate: Annotated[
        float, typer.Option("--throttle-rate", help="Share answered 429 + Retry-After.")
    ] = 0.0,
    ambiguous_rate: Annotated[
        float, typer.Option("--ambiguous-rate", help="Share of writes committed, then failed.")
    ] = 0.0,
    rate_limit: Annotated[
        int | None, typer.Option("--rate-limit", help="Requests per minute per credential.")
    ] = None,
    token_ttl: Annotated[int, typer.Option("--token-ttl", help="OAuth token lifetime, s.")] = 300,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible fault draws.")] = None,
    dialect: Annotated[
        list[str] | None,
        typer.Option(
            "--dialect",
            metavar="<name>",
            help="Emulate another reading of the API (repeatable): replace-set, key-match, "
            "type-match, hide-inactive, drop-server-fields, string-ids, object-body, "
            "first-element.",
        ),
    ] = None,
) -> int:
    """Run the local Capillary emulator over HTTP until interrupted."""
    from reconciler.sandbox.database import check_db_path
    from reconciler.sandbox.faults import FaultConfig
    from reconciler.sandbox.server import serve

    check_db_path(db, label="--db", create=".reconciler")

    for name, rate in (
        ("--fail-rate", fail_rate),
        ("--throttle-rate", throttle_rate),
        ("--ambiguous-rate", ambiguous_rate),
    ):
        if not 0.0 <= rate <= 1.0:
            raise UsageError(f"{name} must be between 0 and 1, got {rate}")
    faults = FaultConfig(
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        throttle_rate=throttle_rate,
        ambiguous_rate=ambiguous_rate,
        seed=seed,
    )
    serve(host, port, db, faults, token_ttl, rate_limit, dialects=dialect or ())
    return ExitCode.OK


@sandbox_app.command("reset")
def sandbox_reset(
    ctx: typer.Context,
    db: Annotated[Path, typer.Option(help="SQLite state file.")] = Path(".reconciler/sandbox.db"),
) -> int:
    """Recreate the sandbox database with its demo data."""
    from reconciler.sandbox.database import check_db_path
    from reconciler.sandbox.seed import reset

    check_db_path(db, label="--db", create=".reconciler")
    reset(db)
    state(ctx).out.print(f"sandbox database {db} reset with the demo programme")
    return ExitCode.OK
