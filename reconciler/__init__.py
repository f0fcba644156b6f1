"""reconciler: Capillary target communications as code.

The package's small library API lives here; the CLI is a thin layer over it.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
