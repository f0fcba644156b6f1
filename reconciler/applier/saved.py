"""Reading a saved plan (``plan --out``) back for ``apply --plan``, refusing before any write a
file that is no plan, is too large, or was made for another environment or API contract, and
the re-read that tells whether it is still true (SPEC §6). Prints nothing.
"""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Protocol

from reconciler.api.wire import Communication
from reconciler.contract import Contract
from reconciler.errors import ApiError, ApplyRefused, AuthError, ExitCode, PermissionDenied
from reconciler.plan import Plan, TargetPlan


class _Reader(Protocol):
    async def get_communications(self, group_id: int, target_id: int) -> list[Communication]: ...


# A saved plan of 10,000 targets with long templates is tens of MiB; past this it is not one.
MAX_PLAN_BYTES = 512 * 1024 * 1024


def load_saved(path: Path, environment: str, contract: Contract | None = None) -> Plan:
    """The plan saved at ``path``, if it was made for ``environment`` under ``contract`` (the
    run's; None: the assumptions) and every target was read."""
    plan = Plan.from_json(_read_saved(path))
    made, now = plan.contract or Contract(), contract or Contract()
    if made != now:
        raise ApplyRefused(
            f"stale plan: {str(path)!r} was made under another API contract "
            f"({_described(made)}) than this run honours ({_described(now)}). "
            "Nothing was written; plan again",
            ExitCode.STALE,
        )
    if plan.environment != environment:
        raise ApplyRefused(
            f"saved plan {str(path)!r} was made for environment {plan.environment!r}, "
            f"not {environment!r}"
        )
    if plan.unreadable:
        raise ApplyRefused(
            f"saved plan {str(path)!r} has unreadable targets; plan again when they can be read"
        )
    return plan


def _read_saved(path: Path) -> bytes:
    """The saved plan's bytes, refusing before reading anything a plan cannot be: a file
    over ``MAX_PLAN_BYTES`` (even a sparse one) or an endless device; a pipe is read up to
    the limit (``apply --plan <(reconciler plan ...)``)."""
    shown = str(path)
    too_large = f"saved plan {shown!r} is too large (over {MAX_PLAN_BYTES // 2**20} MiB)"
    try:
        with open(path, "rb") as file:
            info = os.fstat(file.fileno())
            if stat.S_ISREG(info.st_mode):
                if info.st_size > MAX_PLAN_BYTES:
                    raise ApplyRefused(too_large)
            elif stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                raise ApplyRefused(f"saved plan {shown!r} is a device, not a file")
            data = file.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ApplyRefused(f"cannot read saved plan {shown!r}: {reason}") from None
    except ValueError:  # a NUL byte in the path
        raise ApplyRefused(f"cannot read saved plan {shown!r}: not a valid path") from None
    if len(data) > MAX_PLAN_BYTES:
        raise ApplyRefused(too_large)
    return data


def _described(contract: Contract) -> str:
    return ", ".join(contract.differences()) or "the assumptions"


async def stale_targets(
    plan: Plan,
    client: _Reader,
    parallelism: int,
    keep_live: dict[tuple[int, int], list[Communication]] | None = None,
) -> list[str]:
    """Targets whose live state no longer has the plan's fingerprint (SPEC §6 saved plans).

    With ``keep_live``, each re-read is kept there (the state the write then starts from)."""
    gate = asyncio.Semaphore(parallelism)

    async def check(target: TargetPlan) -> str | None:
        async with gate:
            try:
                live = await client.get_communications(*target.ref)
            except (AuthError, PermissionDenied):
                raise
            except ApiError as exc:
                return f"{target.label} (could not be re-read: {exc.message})"
        if keep_live is not None:
            keep_live[target.ref] = live
        return None if target.matches(live) else target.label

    results = await asyncio.gather(*(check(t) for t in plan.changed_targets))
    return [r for r in results if r is not None]
