"""``reconciler init [DIR]``: scaffold a repository that holds only manifests, with the
workflows, the pre-commit hook and the schema pinned to this version. It never overwrites a
file; on a terminal it asks for what the flags did not say.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.context import state
from reconciler.errors import ExitCode

HELP = (
    "Scaffold a repository of manifests: configuration, an example manifest, the plan, apply "
    "and drift workflows, pre-commit and next steps. Never overwrites a file."
)


def init(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="Where to create the repository.", show_default=True)
    ] = Path("."),
    environment: Annotated[
        str | None,
        typer.Option("--environment", help="Name of the live environment [default: prod-eu]."),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help="Its API URL [default: https://eu.api.capillarytech.com].",
        ),
    ] = None,
    auth: Annotated[
        str | None, typer.Option("--auth", help="oauth | basic [default: oauth].", metavar="AUTH")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Bring the generated files (workflows, hook, schema) up to this version; "
            "reconciler.yaml, manifests, README and .gitignore are never replaced.",
        ),
    ] = False,
) -> int:
    from reconciler.scaffold.create import write
    from reconciler.scaffold.layout import Answers, render

    console = state(ctx).out
    defaults = Answers()
    asked = console.interactive
    if asked and environment is None:
        environment = console.ask("Name of your live environment", defaults.environment)
    if asked and endpoint is None:
        endpoint = console.ask("Its Capillary API URL", defaults.endpoint)
    if asked and auth is None:
        auth = console.ask("Authentication (oauth or basic)", defaults.auth)
    answers = Answers(
        environment or defaults.environment,
        endpoint or defaults.endpoint,
        auth or defaults.auth,
    ).checked()
    outcome = write(directory, render(answers), force=force)
    for path in outcome.created:
        console.print(f"created {path}")
    for path in outcome.replaced:
        console.print(f"replaced {path} (--force: brought up to this version)")
    for path in outcome.unchanged:
        console.print(f"unchanged {path}")
    for path in outcome.skipped:
        hint = " (--force replaces it)" if path in outcome.forceable else ""
        console.warn(f"skipped {path}: it exists and was left as it is{hint}")
    shown = str(directory)
    console.print(
        f"next: cd {shlex.quote(shown)} && reconciler validate && reconciler --env sandbox plan; "
        "README.md lists the steps to your live programme"
        if shown != "."
        else "next: reconciler validate && reconciler --env sandbox plan; "
        "README.md lists the steps to your live programme"
    )
    return ExitCode.OK
