"""reconciler: Capillary target communications as code.

The small library API: validate manifests, plan them against live state, render the plan. The
names load on first use, so ``import reconciler`` (which every submodule import runs first)
loads none of httpx, typer or ruamel; the CLI is a thin layer over the same functions::

    settings = reconciler.load_settings(env_name="sandbox")
    result = reconciler.load_manifests(settings.manifests, variables=settings.env.vars)
    async with reconciler.open_client(settings) as client:
        plan = await reconciler.make_run_plan(
            settings, reconciler.Selection(), client, parallelism=settings.env.parallelism
        )
    print(reconciler.render_text(plan))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from reconciler.config import Settings
    from reconciler.config import select as load_settings
    from reconciler.diagnostics import Diagnostic
    from reconciler.errors import ReconcilerError, ValidationFailed
    from reconciler.live import Selection, make_run_plan
    from reconciler.manifests import LoadResult, load_manifests
    from reconciler.plan import Plan
    from reconciler.render.jsondoc import render_json
    from reconciler.render.markdown import render_markdown
    from reconciler.render.text import render_text
    from reconciler.session import open_client

# name -> (module, attribute) it is imported from on first use
_HOMES = {
    "Diagnostic": ("reconciler.diagnostics", "Diagnostic"),
    "LoadResult": ("reconciler.manifests", "LoadResult"),
    "Plan": ("reconciler.plan", "Plan"),
    "ReconcilerError": ("reconciler.errors", "ReconcilerError"),
    "Selection": ("reconciler.live", "Selection"),
    "Settings": ("reconciler.config", "Settings"),
    "ValidationFailed": ("reconciler.errors", "ValidationFailed"),
    "load_manifests": ("reconciler.manifests", "load_manifests"),
    "load_settings": ("reconciler.config", "select"),
    "make_run_plan": ("reconciler.live", "make_run_plan"),
    "open_client": ("reconciler.session", "open_client"),
    "render_json": ("reconciler.render.jsondoc", "render_json"),
    "render_markdown": ("reconciler.render.markdown", "render_markdown"),
    "render_text": ("reconciler.render.text", "render_text"),
}

__all__ = [
    "Diagnostic",
    "LoadResult",
    "Plan",
    "ReconcilerError",
    "Selection",
    "Settings",
    "ValidationFailed",
    "__version__",
    "load_manifests",
    "load_settings",
    "make_run_plan",
    "open_client",
    "render_json",
    "render_markdown",
    "render_text",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = home
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
