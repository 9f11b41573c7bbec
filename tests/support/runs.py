"""The pyinfra command line, the environment it runs in, and its ``--json`` totals."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PYINFRA = BIN / "pyinfra"
# Environment a user's shell would not pass to a deploy; removed so tests see only their sandbox.
SCRUBBED = ("UV_TOOL_DIR", "UV_TOOL_BIN_DIR", "XDG_DATA_HOME", "XDG_BIN_HOME", "XDG_CONFIG_HOME",
            "VIRTUAL_ENV", "PYINFRA_YES", "ANTHROPIC_API_KEY", "CLAUDE_CONFIG_DIR")


def pyinfra_command(inventory: str | Path, *arguments: str, data: dict | None = None,
                    yes: bool = True, json_output: bool = True, options: tuple = (),
                    program: tuple = (str(PYINFRA),)) -> list[str]:
    """``pyinfra [-y] [--json] [--data KEY=VALUE]... OPTIONS INVENTORY ARGUMENTS``. The options
    come first so that an ``exec -- command`` in ``arguments`` stays last."""
    command = [*program, *(["-y"] if yes else []), *(["--json"] if json_output else [])]
    for key, value in (data or {}).items():
        command += ["--data", f"{key}={value}"]
    return [*command, *options, str(inventory), *arguments]


def logging_shell(directory: Path) -> tuple[Path, Path]:
    """A shell for pyinfra's ``--shell-executable`` that appends each command it is given (the
    text after ``-c``) to a log, NUL-separated, then runs it with /bin/sh: every command a run
    sends to the target, printed or not. Returns the shell and the log (``logged_commands``)."""
    shell, log = directory / "logging-sh", directory / "commands.log"
    shell.write_text(f'#!/bin/sh\nprintf "%s\\0" "$2" >> {shlex.quote(str(log))}\nexec /bin/sh "$@"\n')
    shell.chmod(0o755)
    return shell, log


def logged_commands(log: Path) -> list[str]:
    """The commands a ``logging_shell`` ran, in order."""
    return log.read_text().split("\0")[:-1] if log.exists() else []


def scrubbed_environment() -> dict:
    """This process's environment without ``SCRUBBED``."""
    return {key: value for key, value in os.environ.items() if key not in SCRUBBED}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    changed: int | None = None
    unchanged: int | None = None
    errors: int | None = None
    per_host: dict = field(default_factory=dict)

    @classmethod
    def of(cls, completed: subprocess.CompletedProcess, **extra) -> "Result":
        """A finished ``pyinfra --json`` run with its totals."""
        return cls(completed.returncode, completed.stdout, completed.stderr, **extra,
                   **grand_total(completed.stdout))

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def grand_total(stdout: str) -> dict:
    """Totals over operations and hosts from ``pyinfra --json`` results."""
    try:
        operations = json.loads(stdout)["results"]["operations"]
    except (ValueError, KeyError, TypeError):
        return {}
    return {
        "changed": sum(len(op["success"]) for op in operations),
        "unchanged": sum(len(op["no_change"]) for op in operations),
        "errors": sum(len(op["error"]) for op in operations),
        "per_host": per_host(operations),
    }


def per_host(operations: list) -> dict:
    """``{host: {"changed": n, "unchanged": n, "errors": n}}`` from ``--json`` results."""
    hosts: dict = {}
    for op in operations:
        for key, column in (("changed", "success"), ("unchanged", "no_change"), ("errors", "error")):
            for name in op[column]:
                hosts.setdefault(name, {"changed": 0, "unchanged": 0, "errors": 0})[key] += 1
    return hosts
