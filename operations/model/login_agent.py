"""The login agent (``proxy_at_login``): a LaunchAgent (macOS) or a systemd user unit (Linux)
that runs ``openclaude --start`` at login. Pure functions, no I/O on targets."""

from __future__ import annotations

import plistlib
import posixpath
from dataclasses import dataclass

START_ARGUMENT = "--start"
DESCRIPTION = "openClaude: start the LiteLLM proxy at login (openclaude --start)"


def launch_agent_label(path: str) -> str:
    """launchd's label for the agent: its file name without ``.plist`` (launchd's convention)."""
    name = posixpath.basename(path)
    return name[: -len(".plist")] if name.endswith(".plist") else name


def launch_agent_plist(label: str, launcher: str, log: str) -> str:
    """The LaunchAgent: runs the launcher with --start once at load (login), output to the log.

    The proxy outlives the job: the launcher starts it in its own process group, and
    AbandonProcessGroup keeps launchd from killing what the job leaves running when it exits."""
    return plistlib.dumps({
        "Label": label,
        "ProgramArguments": [launcher, START_ARGUMENT],
        "RunAtLoad": True,
        "AbandonProcessGroup": True,
        "StandardOutPath": log,
        "StandardErrorPath": log,
        "Umask": 0o077,
    }).decode("utf-8")


def _exec_word(text: str) -> str:
    """``text`` as one word of a systemd Exec line (quoted; specifiers and variables escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def systemd_unit(launcher: str, log: str) -> str:
    """The systemd user unit: a oneshot running the launcher with --start when the user's
    manager starts (login), output appended to the log.

    RemainAfterExit and KillMode=process leave the proxy the launcher started running when the
    oneshot exits and when the unit is stopped (disabling the agent does not stop the proxy;
    ``openclaude --stop`` does)."""
    if any("\n" in path or "\r" in path for path in (launcher, log)):
        raise ValueError("a systemd unit cannot name a path with a line break in it")
    log_path = log.replace("%", "%%")
    sections = {
        "Unit": {"Description": DESCRIPTION},
        "Service": {
            "Type": "oneshot",
            "RemainAfterExit": "yes",
            "KillMode": "process",
            "UMask": "0077",
            "ExecStart": f"{_exec_word(launcher)} {START_ARGUMENT}",
            "StandardOutput": f"append:{log_path}",
            "StandardError": f"append:{log_path}",
        },
        "Install": {"WantedBy": "default.target"},
    }
    return "\n".join(
        f"[{section}]\n" + "".join(f"{key}={value}\n" for key, value in settings.items())
        for section, settings in sections.items()
    )


@dataclass(frozen=True)
class LoginAgent:
    """The agent for one target: its service manager, file (absolute path), content and name
    (launchd's label or the systemd unit's name)."""

    manager: str
    path: str
    content: str
    name: str


def login_agent(os_name: str | None, home: str, paths: dict) -> LoginAgent:
    """The agent for a target whose ``uname -s`` is ``os_name``; ``paths`` are home-relative."""
    launcher, log = f"{home}/{paths['launcher']}", f"{home}/{paths['proxy_log']}"
    if os_name == "Darwin":
        path = f"{home}/{paths['launch_agent']}"
        label = launch_agent_label(path)
        return LoginAgent("launchd", path, launch_agent_plist(label, launcher, log), label)
    path = f"{home}/{paths['systemd_unit']}"
    return LoginAgent("systemd", path, systemd_unit(launcher, log), posixpath.basename(path))
