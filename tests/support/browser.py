"""Headless Chromium for the preview page's browser tests: find the binary, load a file with
``--dump-dom`` or ``--screenshot``, and read back what the browser said (console lines) and
what it fetched (the net log's requests that a page started, not the browser's own).

The browser runs with DNS answering nothing (``--host-resolver-rules``) and background
networking off, so a request the page makes can reach only a loopback server of the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SKIP_REASON = (
    "no Chromium binary: the preview page's browser tests were skipped (apt-get install chromium)"
)
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]? ?\"(.*)\", source: (\S*)")


def chromium() -> str | None:
    """The browser binary: $RECONCILER_CHROMIUM, or the first of ``CANDIDATES`` on PATH."""
    named = os.environ.get("RECONCILER_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Visit:
    dom: str
    console: list[str]  # every console message, with its source
    requests: list[str]  # URLs the page (not the browser itself) asked for


def _flags(workdir: Path, net_log: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",  # the test may run as root in a container
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-sync",
        f"--user-data-dir={workdir / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--enable-logging=stderr",
        "--v=0",
        f"--log-net-log={net_log}",
    ]


def visit(binary: str, page: Path, workdir: Path, *, screenshot: Path | None = None) -> Visit:
    """Load ``page`` (a file) and return its DOM after load (or write ``screenshot``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    net_log = workdir / f"net-{page.stem}-{'shot' if screenshot else 'dom'}.json"
    action = (
        [f"--screenshot={screenshot}", "--window-size=1400,2000"] if screenshot else ["--dump-dom"]
    )
    completed = subprocess.run(
        [binary, *_flags(workdir, net_log), *action, page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    console = [f"{m.group(1)} ({m.group(2)})" for m in _CONSOLE.finditer(completed.stderr)]
    return Visit(completed.stdout, console, page_requests(net_log))


def page_requests(net_log: Path) -> list[str]:
    """URLs of the requests a document started: the net log's URL_REQUEST_START_JOB events
    whose initiator is an origin (the browser's own requests say 'not an origin')."""
    text = net_log.read_text(encoding="utf-8", errors="replace").rstrip()
    if not text.endswith("}"):  # a log cut short at exit: close it
        text = text.rstrip(",\n") + "]}"
    log = json.loads(text)
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log.get("events", []):
        params = event.get("params") or {}
        if event.get("type") != start or "url" not in params:
            continue
        if params.get("initiator") != "not an origin":
            urls.append(str(params["url"]))
    return urls


@dataclass
class Counter:
    """A loopback HTTP server that counts the requests it is sent."""

    url: str
    hits: list[str] = field(default_factory=list)


@contextmanager
def counting_server() -> Iterator[Counter]:
    counter = Counter("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            counter.hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    counter.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield counter
    finally:
        server.shutdown()
        server.server_close()
