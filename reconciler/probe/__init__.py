"""``reconciler probe``: prove on one scratch target what the upsert really does (docs/probe.md).

``run_probe`` runs the fixed sequence of ``steps`` and writes the contract file; ``questions``
holds the questions, answers and report (pure, for the renderer). Importing this package loads
no HTTP library: ``run_probe`` imports the sequence when called.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from reconciler.probe.questions import ProbeReport, ProbeRequest

if TYPE_CHECKING:
    from reconciler.api.endpoints import CapillaryClient
    from reconciler.config import Settings

__all__ = ["ProbeReport", "ProbeRequest", "run_probe"]


async def run_probe(
    settings: Settings,
    client: CapillaryClient,
    request: ProbeRequest,
    *,
    now: datetime | None = None,
) -> ProbeReport:
    """Probe ``request``'s scratch target and write ``.reconciler/contract-<environment>.json``.

    Raises ``ProbeRefused`` before anything is written, or ``ProbeError`` once writing began
    (its lines say what the clean-up did); exit code 2 is the caller's, from
    ``ProbeReport.differs``."""
    from reconciler.probe.run import run_probe as run

    return await run(settings, client, request, now=now)
