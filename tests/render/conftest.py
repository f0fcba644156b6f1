"""The golden scenario as fixtures (``tests.support.render`` builds it): one plan covering every
action, a live duplicate, a re-activation, a channel move, a no-change target and an unreadable
target (issue 5, acceptance 2)."""

from __future__ import annotations

import pytest

from reconciler.desired import DesiredTarget
from reconciler.plan import Plan
from reconciler.planner import LiveRead
from tests.support.render import build_plan, scenario


@pytest.fixture
def golden_plan() -> Plan:
    return build_plan()


@pytest.fixture
def golden_inputs() -> tuple[list[DesiredTarget], dict[tuple[int, int], LiveRead]]:
    return scenario()
