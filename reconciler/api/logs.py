"""The ``reconciler.api`` logger; a filter scrubs every record before any handler sees it.

Modules of ``reconciler.api`` log only through ``log`` from here, never headers or bodies.
"""

from __future__ import annotations

import logging

from reconciler.redact import scrub


class ScrubFilter(logging.Filter):
    """Render the message, scrub it, and drop the arguments so nothing unscrubbed survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record or leak its args
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info or record.exc_text:
            # Tracebacks of transport errors can name requests; they are never logged here.
            record.exc_info = None
            record.exc_text = None
        return True


log = logging.getLogger("reconciler.api")
# httpx and httpcore log at DEBUG too (httpcore includes response headers); a filter works per
# logger, not per tree, so each of their loggers gets one. Request headers are never logged.
_GUARDED = (
    "reconciler.api",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
for _name in _GUARDED:
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, ScrubFilter) for f in _logger.filters):
        _logger.addFilter(ScrubFilter())
