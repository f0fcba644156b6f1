"""``reconciler sandbox serve``, ``reset``, ``edit`` and ``show``: the emulator's commands,
kept apart from the commands that plan and apply. ``edit`` and ``show`` change and read the
sandbox's state directly, as a user of the Capillary UI would (to demonstrate drift)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.context import RunContext, state
from reconciler.errors import ExitCode, UsageError

sandbox_app = typer.Typer(
    help="Run, reset, edit or show the local Capillary emulator.", no_args_is_help=True
)

# ``--set`` fields: the communication fields a UI user can change, and their keywords.
_EDITABLE = {
    "messageTemplate": "message_template",
    "subjectTemplate": "subject_template",
    "sender": "sender",
    "offsetDays": "offset_days",
    "active": "active",
}


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8080,
    db: Annotated[Path, typer.Option(help="SQLite state file.")] = Path(".reconciler/sandbox.db"),
    latency_ms: Annotated[int, typer.Option("--latency-ms", help="Added delay per request.")] = 0,
    fail_rate: Annotated[
        float, typer.Option("--fail-rate", metavar="P", help="Share answered 500/503.")
    ] = 0.0,
    throttle_rate: Annotated[
        float,
        typer.Option("--throttle-rate", metavar="P", help="Share answered 429 + Retry-After."),
    ] = 0.0,
    ambiguous_rate: Annotated[
        float,
        typer.Option(
            "--ambiguous-rate", metavar="P", help="Share of writes committed, then failed."
        ),
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


DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="SQLite state file.  [default: .reconciler/sandbox.db beside reconciler.yaml]",
        show_default=False,
    ),
]


def _db(run: RunContext, db: Path | None) -> Path:
    """``--db``, else the database ``endpoint: sandbox`` uses (beside reconciler.yaml)."""
    return db if db is not None else run.settings(network=False).sandbox_db


@sandbox_app.command("edit")
def sandbox_edit(
    ctx: typer.Context,
    id: Annotated[int, typer.Option("--id", help="The communication to change.")],
    assignments: Annotated[
        list[str],
        typer.Option(
            "--set",
            metavar="FIELD=VALUE",
            help="A field to change (repeatable): " + ", ".join(_EDITABLE) + ".",
        ),
    ],
    actor: Annotated[
        str, typer.Option("--as", metavar="NAME", help="The UI user who makes the change.")
    ] = "ui.admin",
    db: DbOption = None,
) -> int:
    """Change a communication as a user of the Capillary UI would (now, as --as)."""
    import json

    from reconciler.sandbox.seed import ensure_seeded
    from reconciler.sandbox.tables import ui_actor

    changes = dict(_assignment(a) for a in assignments)
    run = state(ctx)
    store = ensure_seeded(_db(run, db))
    try:
        edited = store.edit_communication(id, actor=ui_actor(actor), **changes)  # type: ignore[arg-type]
    except KeyError:
        raise UsageError(f"communication {id} does not exist in the sandbox") from None
    finally:
        store.close()
    run.out.print(json.dumps(edited, indent=2, ensure_ascii=False))
    return ExitCode.OK


@sandbox_app.command("show")
def sandbox_show(
    ctx: typer.Context,
    id: Annotated[int | None, typer.Option("--id", help="One communication, as JSON.")] = None,
    db: DbOption = None,
) -> int:
    """Show the sandbox's state: every target and its communications, or one as JSON."""
    import json

    from reconciler.sandbox.seed import ensure_seeded

    run = state(ctx)
    store = ensure_seeded(_db(run, db))
    try:
        lines: list[str] = []
        for group in store.groups():
            for target in store.targets(group["id"]):
                rows = store.communications(group["id"], target["id"])
                if id is not None:
                    lines += [
                        json.dumps(c, indent=2, ensure_ascii=False) for c in rows if c["id"] == id
                    ]
                    continue
                ids = ", ".join(f"{c['id']}{'' if c['active'] else ' (inactive)'}" for c in rows)
                lines.append(
                    f"group {group['id']} ({group['name']}), target {target['id']} "
                    f"({target['name']}): {ids or 'no communications'}"
                )
    finally:
        store.close()
    if id is not None and not lines:
        raise UsageError(f"communication {id} does not exist in the sandbox")
    run.out.print("\n".join(lines))
    return ExitCode.OK


def _assignment(text: str) -> tuple[str, str | int | bool]:
    """``FIELD=VALUE`` of ``--set`` as the keyword and typed value ``edit_communication`` takes."""
    import difflib

    name, sep, value = text.partition("=")
    if not sep and name in _EDITABLE:
        raise UsageError(f"--set {name} needs a value: {name}=VALUE")
    if not sep or name not in _EDITABLE:
        close = difflib.get_close_matches(name, list(_EDITABLE), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; one of: {', '.join(_EDITABLE)}"
        raise UsageError(f"--set expects FIELD=VALUE with a field the UI edits, got {text!r}{hint}")
    if name == "offsetDays":
        try:
            return _EDITABLE[name], int(value)
        except ValueError:
            raise UsageError(f"--set offsetDays expects an integer, got {value!r}") from None
    if name == "active":
        if value not in ("true", "false"):
            raise UsageError(f"--set active expects true or false, got {value!r}")
        return _EDITABLE[name], value == "true"
    return _EDITABLE[name], value
