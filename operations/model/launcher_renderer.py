"""Render the openClaude launcher (``files/openClaude``) with one host's values.

The launcher is a bash template holding one line ``# @OPENCLAUDE_VALUES@``; rendering
replaces that line with shell assignments, one per variable in ``LAUNCHER_VARIABLES``
order, each value quoted with ``shlex.quote`` so any path or JSON survives the shell, then
``LAUNCHER_VARIABLES`` itself, the names the launcher checks.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from operations.model.layout import BESIDE_CONFIG

TEMPLATE = Path(__file__).resolve().parents[2] / "files" / "openClaude"
MARKER = "# @OPENCLAUDE_VALUES@"

LAUNCHER_VARIABLES = (
    "OPENCLAUDE_MODE",
    "LITELLM_BIN",
    "LAUNCHER_PYTHON",
    "SETTINGS_TIERS",
    "CLAUDE_SETTINGS",
    "OPENCLAUDE_DIR",
    "LITELLM_CONFIG",
    # The proxy's environment (NAME=value lines), and the variables that carry the master key
    # and the AWS identity's problem.
    "PROXY_ENV",
    "MASTER_KEY_ENV",
    "AWS_PROBLEM_ENV",
    "LITELLM_PORT",
    "MASTER_KEY_FILE",
    "PROXY_LOG",
    "PROXY_PID_FILE",
    "HEALTH_TIMEOUT",
    "CLAUDE_BIN",
    "CLAUDE_DIRS",
    # Where Claude Code reads managed settings on the target's system.
    "MANAGED_SETTINGS_DIR",
    # The credentials set aside in the OAuth state (files/openclaude_settings.py's DISPLACING_ENV).
    "DISPLACING_ENV",
    # The login agent's file on macOS and on Linux, for --status.
    "LAUNCH_AGENT",
    "SYSTEMD_UNIT",
    # The files beside the config the launcher runs or reads, from the one table of them.
    *(entry.launcher for entry in BESIDE_CONFIG if entry.launcher),
)


def values_block(values: dict[str, str]) -> str:
    """The assignments that replace the marker, after checking the names are exactly ours."""
    missing = [name for name in LAUNCHER_VARIABLES if name not in values]
    unknown = sorted(name for name in values if name not in LAUNCHER_VARIABLES)
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing))
    if unknown:
        problems.append("unknown " + ", ".join(unknown))
    if problems:
        raise ValueError(f"launcher variables: {'; '.join(problems)}")
    for name in LAUNCHER_VARIABLES:
        if not isinstance(values[name], str):
            raise ValueError(
                f"launcher variable {name} must be a string, got {type(values[name]).__name__}"
            )
        if "\0" in values[name]:
            raise ValueError(f"launcher variable {name} contains a NUL byte")
    assignments = [f"{name}={shlex.quote(values[name])}\n" for name in LAUNCHER_VARIABLES]
    # The launcher checks each of these is assigned without writing their names again.
    return "".join(assignments) + f"LAUNCHER_VARIABLES={shlex.quote(' '.join(LAUNCHER_VARIABLES))}\n"


def render_launcher(values: dict[str, str]) -> str:
    """The launcher's text with ``values`` assigned at the marker line."""
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines(keepends=True)
    positions = [index for index, line in enumerate(lines) if line.rstrip("\n") == MARKER]
    if len(positions) != 1:
        raise ValueError(f"{TEMPLATE}: expected one line {MARKER!r}, found {len(positions)}")
    lines[positions[0]] = values_block(values)
    return "".join(lines)
