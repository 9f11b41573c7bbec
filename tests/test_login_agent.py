"""The opt-in login agent (proxy_at_login): the LaunchAgent and systemd user unit as generated,
and the deploy placing, loading, unloading and removing them through stand-ins for launchctl and
systemctl (tests/fakes) that record every call; Darwin emulated by a `uname` stand-in."""

from __future__ import annotations

import os
import plistlib
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from operations.model.login_agent import launch_agent_plist, systemd_unit
from tests.fake_launcher import FAKES
from tests.support.runs import REPO, logged_commands, logging_shell
from tests.test_macos import DARWIN
from tests.test_shell import shellcheck

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


def analyze_unit(unit_home, tmp_path, launcher: str) -> subprocess.CompletedProcess:
    """``systemd-analyze verify`` of the unit starting ``launcher`` (home-relative)."""
    unit = tmp_path / "openclaude-proxy.service"
    unit.write_text(systemd_unit(str(unit_home / launcher), str(unit_home / ".litellm/proxy.log")))
    return subprocess.run([systemd_analyze(), "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)


def test_the_systemd_unit_passes_systemd_analyze_verify(unit_home, tmp_path):
    result = analyze_unit(unit_home, tmp_path, ".local/bin/openClaude")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""


def test_systemd_analyze_catches_a_unit_whose_launcher_is_not_there(unit_home, tmp_path):
    """The check above can fail: the same unit naming a missing launcher does not verify."""
    result = analyze_unit(unit_home, tmp_path, "missing/openClaude")

    assert result.returncode != 0
    assert "is not executable" in result.stderr


def test_the_systemd_unit_escapes_specifiers_and_variables_in_paths():
    text = systemd_unit("/home/a%b$c/openClaude", "/home/a%b/proxy.log")

    assert 'ExecStart="/home/a%%b$$c/openClaude" --start' in text
    assert "StandardOutput=append:/home/a%%b/proxy.log" in text


# --- the deploy: placing, loading, unloading, removing, through stand-ins ----------------------

UNIT = ".config/systemd/user/openclaude-proxy.service"
PLIST = "Library/LaunchAgents/dev.openclaude.proxy.plist"
ON = {"proxy_at_login": "true"}
OFF = {"proxy_at_login": "false"}
NO_MANAGER = "no login agent placed"


@dataclass
class ServiceManager:
    """The stand-ins' record: every launchctl / systemctl call, one line each."""

    log: Path

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def changes(self, since: int = 0) -> list[str]:
        """The calls after the first ``since`` that change something (not queries)."""
        queries = ("systemctl --user is-", "launchctl print ")
        return [call for call in self.calls()[since:] if not call.startswith(queries)]


def service_manager(sandbox, tmp_path, **extra: str) -> ServiceManager:
    """launchctl and systemctl stand-ins first on the sandbox's PATH (and ``extra`` scripts,
    such as Darwin's uname)."""
    bin_dir, state = tmp_path / "service-bin", tmp_path / "service-state"
    bin_dir.mkdir()
    state.mkdir()
    for name in ("launchctl", "systemctl"):
        (bin_dir / name).symlink_to(FAKES / name)
    for name, script in extra.items():
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "service-calls"
    sandbox.env.update(PATH=f"{bin_dir}{os.pathsep}{sandbox.env['PATH']}",
                       SERVICE_CALLS=str(log), SERVICE_STATE=str(state))
    settings = sandbox.path(".claude/settings.json")
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("{}")
    return ServiceManager(log)


@pytest.fixture
def linux(sandbox, tmp_path):
    return service_manager(sandbox, tmp_path)


@pytest.fixture
def mac(sandbox, tmp_path):
    return service_manager(sandbox, tmp_path, uname=DARWIN["uname"])


def deploy(sandbox, data: dict, script: str = "deploy.py"):
    result = sandbox.pyinfra(script, data=data)
    assert (result.returncode, result.errors) == (0, 0), result.output
    return result


def test_linux_deploy_places_and_enables_the_unit_and_a_second_deploy_changes_nothing(
        sandbox, linux):
    deploy(sandbox, ON)

    unit = sandbox.path(UNIT)
    assert unit.read_text() == systemd_unit(str(sandbox.path(".local/bin/openClaude")),
                                            str(sandbox.path(".litellm/proxy.log")))
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    assert linux.changes() == ["systemctl --user daemon-reload",
                               "systemctl --user enable --now --no-block openclaude-proxy.service"]
    before, calls = sandbox.snapshot(), len(linux.calls())

    again = deploy(sandbox, ON)

    assert again.changed == 0, again.output
    assert sandbox.snapshot() == before
    assert linux.changes(calls) == []


def test_turning_it_off_disables_and_removes_the_unit_then_asks_nothing(sandbox, linux):
    deploy(sandbox, ON)
    calls = len(linux.calls())

    deploy(sandbox, OFF)

    assert not sandbox.path(UNIT).exists()
    assert linux.changes(calls) == ["systemctl --user disable --now openclaude-proxy.service",
                                    "systemctl --user daemon-reload"]
    calls = len(linux.calls())
    again = deploy(sandbox, OFF)
    assert again.changed == 0, again.output
    assert linux.calls()[calls:] == []  # no agent wanted, no file: the manager is not asked


def test_off_by_default_nothing_is_placed_and_the_manager_is_not_asked(sandbox, linux):
    deploy(sandbox, {})

    assert not sandbox.path(UNIT).exists() and not sandbox.path(PLIST).exists()
    assert linux.calls() == []


def test_an_edited_unit_is_put_back_and_reloaded(sandbox, linux):
    deploy(sandbox, ON)
    sandbox.path(UNIT).write_text("[Service]\nExecStart=/bin/false\n")
    calls = len(linux.calls())

    deploy(sandbox, ON)

    assert "ExecStart=" in sandbox.path(UNIT).read_text() and "--start" in sandbox.path(UNIT).read_text()
    assert linux.changes(calls) == ["systemctl --user daemon-reload"]  # already enabled


def test_on_a_mac_the_deploy_loads_a_launch_agent_and_unloads_it_when_turned_off(sandbox, mac):
    uid = os.getuid()
    deploy(sandbox, ON)

    plist = sandbox.path(PLIST)
    agent = plistlib.loads(plist.read_bytes())
    assert agent["Label"] == "dev.openclaude.proxy"
    assert agent["ProgramArguments"] == [str(sandbox.path(".local/bin/openClaude")), "--start"]
    assert agent["StandardOutPath"] == str(sandbox.path(".litellm/proxy.log"))
    assert mac.changes() == [f"launchctl bootstrap gui/{uid} {plist}"]
    assert not sandbox.path(UNIT).exists()

    calls = len(mac.calls())
    again = deploy(sandbox, ON)
    assert again.changed == 0, again.output
    assert mac.changes(calls) == []

    deploy(sandbox, OFF)
    assert not plist.exists()
    assert mac.changes(calls) == [f"launchctl bootout gui/{uid}/dev.openclaude.proxy"]


@pytest.mark.parametrize("where, env, why", [
    ("linux", {"USER_MANAGER": "offline"},
     "no systemd user manager runs for this user (systemctl --user: offline)"),
    ("mac", {"GUI_SESSION": "no"}, "no graphical login session for this user"),
])
def test_without_a_user_manager_the_deploy_says_so_once_and_places_nothing(
        sandbox, tmp_path, where, env, why):
    extra = {"uname": DARWIN["uname"]} if where == "mac" else {}
    manager = service_manager(sandbox, tmp_path, **extra)
    sandbox.env.update(env)

    result = deploy(sandbox, ON)

    assert result.output.count(NO_MANAGER) == 1, result.output
    assert why in result.output
    assert not sandbox.path(UNIT).exists() and not sandbox.path(PLIST).exists()
    assert manager.changes() == []
    again = deploy(sandbox, ON)
    assert again.changed == 0, again.output


def test_rollback_keeps_the_agent_it_was_asked_for(sandbox, linux):
    deploy(sandbox, ON)
    unit, calls = sandbox.path(UNIT).read_bytes(), len(linux.calls())

    deploy(sandbox, ON, "rollback.py")

    assert sandbox.path(UNIT).read_bytes() == unit
    assert linux.changes(calls) == []


def test_a_converged_run_with_the_agent_is_one_command_on_the_target(sandbox, linux, tmp_path):
    deploy(sandbox, ON)
    shell, log = logging_shell(tmp_path)

    again = sandbox.pyinfra("deploy.py", "--shell-executable", str(shell), data=ON)

    assert (again.returncode, again.changed) == (0, 0), again.output
    assert len(logged_commands(log)) == 1


def test_status_says_whether_a_login_agent_is_installed(sandbox, linux):
    launcher = sandbox.path(".local/bin/openClaude")
    deploy(sandbox, OFF)
    without = subprocess.run([str(launcher), "--status"], env=sandbox.env, capture_output=True,
                             text=True, timeout=60)
    deploy(sandbox, ON)
    with_agent = subprocess.run([str(launcher), "--status"], env=sandbox.env,
                                capture_output=True, text=True, timeout=60)

    assert "  login:   no login agent" in without.stdout, without.stdout + without.stderr
    assert f"  login:   a systemd user unit starts the proxy at login ({sandbox.path(UNIT)})" \
        in with_agent.stdout, with_agent.stdout


def test_the_fact_shell_and_the_stand_ins_are_shellcheck_clean():
    scripts = [REPO / "operations" / "sh" / "login_agent.sh", FAKES / "launchctl",
               FAKES / "systemctl"]

    result = subprocess.run([shellcheck(), "--shell=sh", *map(str, scripts)],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stdout
