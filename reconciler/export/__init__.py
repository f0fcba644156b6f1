"""Export (SPEC §5): manifests from live state. ``build`` chooses what to write, ``files`` writes
it (``merge`` updates an existing file in place); ``exact`` holds the text rules both obey.
"""

from __future__ import annotations

from reconciler.export.build import build_export
from reconciler.export.files import ExportedFile, check_not_declared, write_files

__all__ = ["ExportedFile", "build_export", "check_not_declared", "write_files"]
