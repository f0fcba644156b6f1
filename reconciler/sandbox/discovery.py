"""The discovery file (``<db dir>/sandbox.json``) that tells clients where ``sandbox serve``
listens, and the checks that decide whether a file found there can be trusted (issue 14).
Sockets and the server itself belong to ``server``.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import stat
from pathlib import Path

from reconciler.sandbox.store import DEFAULT_DB_PATH

DISCOVERY_FILE = "sandbox.json"


def discover(db_path: Path | str = DEFAULT_DB_PATH) -> tuple[str | None, str | None]:
    """(url, None) for a trustworthy discovery file, (None, why not) for one that is not, and
    (None, None) when there is none.

    Trusted means: a regular file (not a symlink) of this user, not world-writable, naming
    this database, a URL exactly as ``sandbox serve`` writes it (``http://`` to a loopback IP
    literal, 127.0.0.0/8 or ::1, with a port and nothing else) and a live process of this
    user. A name such as ``localhost`` is not accepted: what it resolves to is not ours to
    know. Otherwise anyone who can write ``.reconciler/`` could send the demo credentials,
    and every plan and apply, wherever they liked.
    """
    path = Path(db_path)
    target = path.parent / DISCOVERY_FILE
    try:
        document, problem = read_discovery(target)
    except FileNotFoundError:
        return None, None
    if problem is not None:
        return None, problem
    if not isinstance(document, dict):
        return None, "it is not a JSON object"
    url, pid, db = document.get("url"), document.get("pid"), document.get("db")
    if not isinstance(db, str):
        return None, "it names no database"
    try:
        same_db = Path(db) == path.resolve()
    except (OSError, ValueError, RuntimeError):
        same_db = False
    if not same_db:
        return None, "it is for another database"
    canonical = loopback_url(url)
    if canonical is None:
        return None, "its url is not http:// to a loopback IP address (127.0.0.0/8, ::1) and port"
    problem = _process_problem(pid)
    if problem is not None:
        return None, problem
    return canonical, None


_MAX_DISCOVERY_BYTES = 64 * 1024


def read_discovery(target: Path) -> tuple[object, str | None]:
    """The parsed file, or why it is not to be read. FileNotFoundError when there is none."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(target, flags | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "it is a symbolic link"
        return None, f"it cannot be read ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "it is not a regular file"
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            return None, f"it belongs to another user (uid {info.st_uid})"
        if info.st_mode & stat.S_IWOTH:
            return None, "it is writable by every user"
        data = os.read(fd, _MAX_DISCOVERY_BYTES + 1)
    except OSError as exc:
        return None, f"it cannot be read ({exc.strerror})"
    finally:
        os.close(fd)
    if len(data) > _MAX_DISCOVERY_BYTES:
        return None, "it is too large"
    try:
        return json.loads(data), None
    except (ValueError, RecursionError):
        return None, "it is not valid JSON"


def loopback_url(url: object) -> str | None:
    """``url`` if it is ``http://<loopback IP literal>:<port>`` as ``_url`` writes it (an
    optional trailing ``/``), else None. Pure; no DNS."""
    if not isinstance(url, str) or not url.isprintable() or url != url.strip():
        return None
    import httpx

    try:
        parsed = httpx.URL(url)
        host, port = parsed.host, parsed.port
    except (httpx.InvalidURL, TypeError, ValueError, UnicodeError):
        return None
    if parsed.scheme != "http" or parsed.userinfo or parsed.query or parsed.fragment:
        return None
    if "?" in url or "#" in url or parsed.path not in ("", "/"):
        return None
    if port is None or not 1 <= port <= 65535:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: "localhost" too
    if isinstance(address, ipaddress.IPv6Address):
        if address != ipaddress.IPv6Address("::1"):
            return None
        return f"http://[::1]:{port}"
    if not address.is_loopback:
        return None
    return f"http://{address}:{port}"


def _process_problem(pid: object) -> str | None:
    """None if ``pid`` is a running process of this user; otherwise why not."""
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 2**31:
        return "its pid is not a process id"
    proc = Path("/proc")
    if proc.is_dir():  # Linux: /proc/<pid> is owned by the process's user
        try:
            owner = os.stat(proc / str(pid)).st_uid
            state = (proc / str(pid) / "stat").read_text(errors="replace").rpartition(")")[2]
        except FileNotFoundError:
            return f"its process {pid} is not running"
        except OSError as exc:
            return f"its process {pid} cannot be checked ({exc.strerror})"
        if state.split()[:1] in (["Z"], ["X"]):
            return f"its process {pid} is not running (a zombie)"
        if owner != os.geteuid():
            return f"its process {pid} belongs to another user (uid {owner})"
        return None
    # Elsewhere, signal 0 says whether the process exists and may be signalled by us: for
    # anyone but root, that means it is ours. Root may signal anything, so cannot tell.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"its process {pid} is not running"
    except PermissionError:
        return f"its process {pid} belongs to another user"
    except (OSError, OverflowError, ValueError):
        return "its pid is not a process id"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return f"its process {pid} cannot be shown to be this user's (running as root)"
    return None


def write_discovery(db_path: Path, url: str) -> None:
    target = db_path.parent / DISCOVERY_FILE
    document = {"url": url, "pid": os.getpid(), "db": str(db_path.resolve())}
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o644)  # whatever the umask: clients refuse world-writable
        file.write(json.dumps(document) + "\n")
    partial.replace(target)


def remove_discovery(db_path: Path) -> None:
    """Remove the discovery file if it is still ours (another server may have replaced it)."""
    target = db_path.parent / DISCOVERY_FILE
    try:
        document, problem = read_discovery(target)  # never blocks on a FIFO put there
        if problem is None and isinstance(document, dict) and document.get("pid") == os.getpid():
            target.unlink()
    except OSError:
        pass
