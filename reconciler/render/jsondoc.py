"""The JSON rendering of a plan (SPEC §5): exactly the saved-plan document, byte-stable.

The document itself is defined by ``Plan.to_json``; this module is the renderer-shaped seam.
"""

from __future__ import annotations

from reconciler.plan import Plan


def render_json(plan: Plan) -> str:
    """SPEC §5's document, canonical and ending in a newline; ``--out`` writes the same bytes."""
    return plan.to_json()
