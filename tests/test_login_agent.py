"""The opt-in login agent (proxy_at_login): the LaunchAgent and systemd user unit as generated,
and the deploy placing, loading, unloading and removing them through stand-ins for launchctl and
systemctl (tests/fakes) that record every call; Darwin emulated by a `uname` stand-in."""

from __future__ import annotations

import plistlib
import shutil
import subprocess

import pytest

from operations.login_agent_files import launch_agent_plist, systemd_unit

LAUNCHER = "/Users/dev/.local/bin/openClaude"
LOG = "/Users/dev/.litellm/proxy.log"


def test_the_launch_agent_runs_start_once_at_login_with_output_to_the_proxy_log():
    agent = plistlib.loads(launch_agent_plist("dev.openclaude.proxy", LAUNCHER, LOG).encode())

    assert agent == {
        "Label": "dev.openclaude.proxy",
        "ProgramArguments": [LAUNCHER, "--start"],
        "RunAtLoad": True,
        "AbandonProcessGroup": True,
        "StandardOutPath": LOG,
        "StandardErrorPath": LOG,
        "Umask": 0o077,
    }
    assert "KeepAlive" not in agent  # a start at login, not a supervisor


def test_the_launch_agent_keeps_paths_with_markup_characters_intact():
    odd = "/Users/d&v <x>/.local/bin/openClaude"

    agent = plistlib.loads(launch_agent_plist("x", odd, LOG).encode())

    assert agent["ProgramArguments"][0] == odd


@pytest.fixture
def unit_home(tmp_path):
    """A home with a space in it and an executable launcher, as systemd-analyze checks both."""
    home = tmp_path / "dev home"
    launcher = home / ".local/bin/openClaude"
    launcher.parent.mkdir(parents=True)
    launcher.write_text("#!/bin/sh\n")
    launcher.chmod(0o755)
    (home / ".litellm").mkdir()
    return home


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd; .ci/run installs it)")
    return found


def test_the_systemd_unit_passes_systemd_analyze_verify(unit_home, tmp_path):
    unit = tmp_path / "openclaude-proxy.service"
    unit.write_text(systemd_unit(str(unit_home / ".local/bin/openClaude"),
                                 str(unit_home / ".litellm/proxy.log")))

    result = subprocess.run([systemd_analyze(), "verify", str(unit)], capture_output=True,
                            text=True, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""


def test_systemd_analyze_catches_a_unit_whose_launcher_is_not_there(unit_home, tmp_path):
    """The check above can fail: the same unit naming a missing launcher does not verify."""
    unit = tmp_path / "openclaude-proxy.service"
    unit.write_text(systemd_unit(str(unit_home / "missing/openClaude"),
                                 str(unit_home / ".litellm/proxy.log")))

    result = subprocess.run([systemd_analyze(), "verify", str(unit)], capture_output=True,
                            text=True, timeout=60)

    assert result.returncode != 0
    assert "is not executable" in result.stderr


def test_the_systemd_unit_escapes_specifiers_and_variables_in_paths():
    text = systemd_unit("/home/a%b$c/openClaude", "/home/a%b/proxy.log")

    assert 'ExecStart="/home/a%%b$$c/openClaude" --start' in text
    assert "StandardOutput=append:/home/a%%b/proxy.log" in text
