"""Reading a saved plan (``plan --out``) back for ``apply --plan``, refusing before any write a
file that is no plan, is too large, or was made for another environment. Prints nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reconciler.errors import ApplyRefused
from reconciler.plan import Plan

# A saved plan of 10,000 targets with long templates is tens of MiB; past this it is not one.
MAX_PLAN_BYTES = 512 * 1024 * 1024


def load_saved(path: Path, environment: str) -> Plan:
    """The plan saved at ``path``, if it was made for ``environment`` and every target was read."""
    plan = Plan.from_json(_read_saved(path))
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
