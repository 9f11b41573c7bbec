"""Process, port and local-user helpers shared by the tests and benchmarks (Linux, as root)."""

from __future__ import annotations

import pwd
import secrets
import socket
import subprocess
import time
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


def command_line(pid: int) -> str:
    """The process's arguments joined by spaces, or "" when it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_until(predicate, timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def passwd_names() -> set[str]:
    """The local user names."""
    return {entry.pw_name for entry in pwd.getpwall()}


def add_local_user(prefix: str, homes: Path, *, shell: str = "/bin/sh",
                   comment: str | None = None) -> pwd.struct_passwd:
    """A new local user with an unused random name, its home ``homes/<name>``, and no password
    ("*": not locked, so sshd with UsePAM no still accepts its keys)."""
    for _ in range(20):
        name = f"{prefix}{secrets.token_hex(3)}"
        try:
            pwd.getpwnam(name)
        except KeyError:
            break
    else:
        raise RuntimeError(f"no unused user name with prefix {prefix!r}")
    command = ["useradd", "-m", "-d", str(homes / name), "-s", shell, "-p", "*",
               *(["-c", comment] if comment else []), name]
    for attempt in range(50):  # /etc/passwd may be locked by a concurrent useradd (exit 10)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode == 0:
            return pwd.getpwnam(name)
        if done.returncode != 10 or attempt == 49:
            raise RuntimeError(f"useradd {name} failed ({done.returncode}): {done.stderr}")
        time.sleep(0.2)
    raise AssertionError("unreachable")


def start_token(pid: int) -> str:
    """The process's start time in clock ticks (/proc/PID/stat field 22): with the pid, it
    names one process, as openClaude's run lock records its owner."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
