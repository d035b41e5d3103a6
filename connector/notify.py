"""sd_notify in-house: one AF_UNIX datagram to `$NOTIFY_SOCKET` (RELIABILITY.md §B3, `man sd_notify`).

Outside systemd there is no socket and every call returns False. A failed send also returns False: the
daemon's work must never depend on the service manager hearing it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

SEND_TIMEOUT_SECONDS = 1.0  # a stalled service manager must not stall the scheduler loop


def notify(state: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send `state` (e.g. "READY=1"); True when the datagram went out."""
    address = environ.get("NOTIFY_SOCKET", "")
    if not address.startswith(("/", "@")):
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(SEND_TIMEOUT_SECONDS)
            sock.sendto(state.encode("utf-8", "replace"), address)
    except OSError:
        return False
    return True


def ready(environ: Mapping[str, str] = os.environ) -> bool:
    return notify("READY=1", environ)


def reloading(environ: Mapping[str, str] = os.environ) -> bool:
    """Send on SIGHUP before re-reading config; send `ready()` when done (kept old or swapped in new)."""
    return notify("RELOADING=1", environ)


def watchdog(environ: Mapping[str, str] = os.environ) -> bool:
    return notify("WATCHDOG=1", environ)


def stopping(environ: Mapping[str, str] = os.environ) -> bool:
    return notify("STOPPING=1", environ)


def status(text: str, environ: Mapping[str, str] = os.environ) -> bool:
    """One line shown by `systemctl status`; a newline would start a new assignment, so it becomes a space."""
    return notify("STATUS=" + " ".join(text.splitlines()), environ)


def watchdog_interval(environ: Mapping[str, str] = os.environ) -> float | None:
    """Seconds systemd waits for WATCHDOG=1 before killing the service; None when no watchdog is meant for us.

    Ping at half this interval, from the scheduler loop after a real tick.
    """
    try:
        if "WATCHDOG_PID" in environ and int(environ["WATCHDOG_PID"]) != os.getpid():
            return None
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None
