"""Which process holds a run, so that one killed with SIGKILL (which runs no clean-up) can be told from a live one.

A run records "host pid start-time" when a command opens it. On the same host, a run is dead when that process is
gone or the pid now belongs to a process started at another time (pids are reused). Another host's runs are unknown.
"""

from __future__ import annotations

import os
import socket


def _started(pid: int) -> str | None:
    import psutil

    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        return "?"  # alive, not ours to inspect


def stamp() -> str:
    """This process, as a run records its owner."""
    return f"{socket.gethostname()} {os.getpid()} {_started(os.getpid())}"


def is_dead(recorded: str | None) -> bool | None:
    """True when the recorded owner was on this host and is gone; None when it cannot be told from here."""
    parts = (recorded or "").split(" ")
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return None
    started = _started(int(parts[1]))
    return started is None or started not in ("?", parts[2])
