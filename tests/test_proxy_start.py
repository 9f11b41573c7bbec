"""`openclaude --start` with the real LiteLLM release (installed by deploy.py into a sandbox
HOME): it starts the proxy as a launch would, reuses it, restarts it after a config change, and
leaves the record a later launch reuses. Run as on a Mac: bash 3.2 and the BSD userland
stand-ins first on PATH, and no `claude` anywhere (a start never needs it)."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bash32 import bash32
from tests.fake_launcher import FAKES
from tests.support.processes import alive, command_line, free_port, wait_until
from tests.support.runs import REPO
from tests.support.sandbox import Sandbox, sandbox_env
from tests.test_launcher import health

BSD_USERLAND = REPO / "tests" / "bsd_userland"


@dataclass
class Deployed:
    sandbox: Sandbox
    port: int
    env: dict
    records: Path

    @property
    def launcher(self) -> Path:
        return self.sandbox.path(".local/bin/openclaude")

    @property
    def config(self) -> Path:
        return self.sandbox.path(".litellm/config.yaml")

    def run(self, *args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.launcher), *args], env={**self.env, **env},
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def record(self) -> list[str]:
        return self.sandbox.path(".litellm/proxy.pid").read_text().splitlines()

    def proxy_pid(self) -> int:
        return int(self.record()[0])

    def is_our_proxy(self, pid: int) -> bool:
        return alive(pid) and str(self.config) in command_line(pid)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, uv_cache):
    """deploy.py with group_data's pinned LiteLLM release; the launcher's shell is a Mac's."""
    root = tmp_path_factory.mktemp("start")
    home, shell_bin, records = root / "home", root / "bin", root / "records"
    for directory in (home, shell_bin, records):
        directory.mkdir()
    port = free_port()
    sandbox = Sandbox(home=home, env=sandbox_env(home, uv_cache), sources={},
                      data={"litellm_port": port})
    sandbox.env.update(AWS_ACCESS_KEY_ID="AKIAOPENCLAUDESTART1", AWS_SECRET_ACCESS_KEY="start" * 8,
                       AWS_EC2_METADATA_DISABLED="true")
    result = sandbox.pyinfra("deploy.py")
    assert result.returncode == 0, result.output
    (shell_bin / "bash").symlink_to(bash32() or pytest.skip("bash 3.2 not found"))
    env = {**sandbox.env, "FAKE_RECORD_DIR": str(records),
           "PATH": os.pathsep.join([str(shell_bin), str(BSD_USERLAND), "/usr/bin", "/bin"])}
    world = Deployed(sandbox, port, env, records)
    try:
        yield world
    finally:
        pid = world.proxy_pid() if (home / ".litellm/proxy.pid").exists() else None
        world.run("--stop", timeout=60)
        if pid and world.is_our_proxy(pid):
            os.kill(pid, signal.SIGTERM)


def test_start_brings_the_proxy_up_quietly_without_claude(deployed):
    result = deployed.run("--start")

    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
    pid = deployed.proxy_pid()
    assert deployed.is_our_proxy(pid)
    assert health(deployed.port) == 200
    assert f"--host 127.0.0.1 --port {deployed.port}" in command_line(pid)
    assert not list(deployed.records.glob("claude-*.json"))


def test_a_second_start_reuses_the_running_proxy(deployed):
    deployed.run("--start")
    pid, record = deployed.proxy_pid(), deployed.record()

    again = deployed.run("--start")

    assert again.returncode == 0, again.stderr
    assert (again.stdout, again.stderr) == ("", "")
    assert deployed.record() == record
    assert deployed.is_our_proxy(pid)


def test_start_restarts_the_proxy_after_a_config_change(deployed):
    deployed.run("--start")
    old = deployed.proxy_pid()
    with deployed.config.open("a") as config:
        config.write("# edited after the proxy started\n")

    result = deployed.run("--start")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    new = deployed.proxy_pid()
    assert new != old and deployed.is_our_proxy(new)
    assert wait_until(lambda: not alive(old), 15)
    assert health(deployed.port) == 200


def test_a_launch_after_start_reuses_its_proxy_and_record(deployed):
    deployed.run("--start")
    pid, record = deployed.proxy_pid(), deployed.record()
    env = {"PATH": f"{FAKES}{os.pathsep}{deployed.env['PATH']}"}

    launched = deployed.run("-p", "hello", timeout=60, **env)

    assert launched.returncode == 0, launched.stderr
    assert "fake claude ran" in launched.stdout
    assert "Starting LiteLLM proxy" not in launched.stderr
    assert deployed.proxy_pid() == pid and deployed.record() == record
    [claude] = list(deployed.records.glob("claude-*.json"))
    assert claude.exists()


def test_status_after_start_reports_a_healthy_proxy(deployed):
    deployed.run("--start")

    status = deployed.run("--status", timeout=60)

    assert status.returncode == 0, status.stdout + status.stderr
    assert f"running, pid {deployed.proxy_pid()}" in status.stdout
    assert "healthy (GET /health/liveliness: 200)" in status.stdout
