"""Process and port helpers shared by the tests and benchmarks (Linux: reads /proc)."""

from __future__ import annotations

import socket
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A currently unused TCP port on ``host`` (nothing listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def alive(pid: int) -> bool:
    """Running and not a zombie (orphans may stay unreaped where PID 1 does not reap them)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"
