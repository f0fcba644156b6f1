"""What the suite-wide guards of ``tests/conftest.py`` decide: which addresses are loopback, and
the error a refused connection raises."""

from __future__ import annotations

import ipaddress


class NonLoopbackConnection(RuntimeError):
    """Raised by the socket guard; deliberately not an OSError, so no retry logic absorbs it."""


def is_loopback(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths never leave the machine
    host = str(address[0]).split("%")[0]
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name would need DNS, which is the network
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
