"""The openClaude launcher (files/openClaude), rendered by operations/model/launcher_renderer.py and run
against the stand-ins in tests/fakes: `litellm` serves /health/liveliness on loopback,
`claude` records its argv and environment. Every fake proxy a test starts is stopped by
pid when the test ends."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from operations.model.launcher_renderer import LAUNCHER_VARIABLES, TEMPLATE, render_launcher
from tests.bash32 import launcher_bash  # noqa: F401  (fixture)
from tests.fake_launcher import FAKES, TIERS, fake_home
from tests.support.processes import alive, command_line, wait_until

MASTER_KEY = "sk-openclaude-test-2f9c1d7e"
CONFIG = (
    "model_list:\n"
    "  - model_name: claude-opus-4-6\n"
    "    litellm_params: {model: anthropic/claude-opus-4-6}\n"
)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def health(port: int) -> int | None:
    try:
        url = f"http://127.0.0.1:{port}/health/liveliness"
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def stop_fake(pid: int) -> None:
    """Stop a fake proxy by pid, after checking the pid is still one of our fakes."""
    if not alive(pid) or str(FAKES / "litellm") not in command_line(pid):
        return
    os.kill(pid, signal.SIGTERM)
    if not wait_until(lambda: not alive(pid), 5):
        os.kill(pid, signal.SIGKILL)


def value_path(name: str, *more: str) -> property:
    """A property: the launcher's value ``name`` as a path (``more`` joined below it)."""
    return property(lambda launcher: Path(launcher.values[name], *more))


@dataclass
class Launcher:
    """A rendered launcher in a temporary home, with its records and files."""

    root: Path
    home: Path
    port: int
    values: dict
    env: dict

    config = value_path("LITELLM_CONFIG")
    log = value_path("PROXY_LOG")
    pid_file = value_path("PROXY_PID_FILE")
    user_settings = value_path("CLAUDE_SETTINGS")
    derived_settings = value_path("OPENCLAUDE_DIR", "settings.json")

    @property
    def path(self) -> Path:
        return self.root / "openClaude"

    @property
    def records(self) -> Path:
        return self.root / "records"

    def render(self, **overrides: str) -> None:
        self.values.update(overrides)
        self.path.write_text(render_launcher(self.values), encoding="utf-8")
        self.path.chmod(0o755)

    def run(self, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.path), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def refused(self, *needles: str, **env: str) -> subprocess.CompletedProcess:
        """A launch that stops, each of ``needles`` in its message, without starting claude;
        its result."""
        result = self.run(**env)
        assert result.returncode != 0, result.stderr
        for needle in needles:
            assert needle in result.stderr, result.stderr
        assert self.recorded("claude") == []
        return result

    def recorded(self, name: str) -> list[dict]:
        found = [json.loads(path.read_text()) for path in self.records.glob(f"{name}-*.json")]
        return sorted(found, key=lambda record: record["time"])

    def proxy_pid(self) -> int | None:
        if not self.pid_file.exists():
            return None
        return int(self.pid_file.read_text().splitlines()[0])


@pytest.fixture
def launcher(tmp_path, launcher_bash):
    """Run by this machine's bash and by macOS's bash 3.2 (tests/bash32.py)."""
    # A quote and a space in every path: the rendered values must survive the shell.
    home = tmp_path / "o'claude home"
    values, env = fake_home(home, tmp_path / "records", config=CONFIG, master_key=MASTER_KEY,
                            health_timeout=20)
    env["PATH"] = f"{launcher_bash}{os.pathsep}{env['PATH']}"
    # Both would move the proxy off 127.0.0.1:PORT if the launcher passed them on.
    env.update(HOST="0.0.0.0", PORT="9")
    instance = Launcher(tmp_path, home, int(values["LITELLM_PORT"]), values, env)
    instance.render()
    yield instance
    pids = {record["pid"] for record in instance.recorded("litellm")}
    if instance.proxy_pid():
        pids.add(instance.proxy_pid())
    for pid in pids:
        stop_fake(pid)


@pytest.fixture
def foreign_server(launcher):
    """Another program listening on the launcher's port: a plain http.server."""
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(launcher.port)],
        cwd=launcher.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert wait_until(lambda: port_open(launcher.port)), "the foreign server did not start"
    yield server
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def bystander():
    """A process that is not our proxy although its command line mentions litellm."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "litellm"])
    yield process
    process.kill()
    process.wait(timeout=10)


# --- proxy lifecycle -------------------------------------------------------------------------


def test_first_launch_starts_the_proxy_on_loopback_and_hands_over_to_claude(launcher):
    result = launcher.run("-p", "hello")

    assert result.returncode == 0, result.stderr
    assert "fake claude ran" in result.stdout
    assert f"Starting LiteLLM proxy on 127.0.0.1:{launcher.port}" in result.stderr
    [proxy] = launcher.recorded("litellm")
    assert proxy["argv"][1:] == [
        "--config", str(launcher.config), "--host", "127.0.0.1", "--port", str(launcher.port)
    ]
    assert proxy["env"]["LITELLM_MASTER_KEY"] == MASTER_KEY
    # The modules beside the config import each other from its directory, and find the usage
    # record and the plan's standing from these, whatever their names.
    assert proxy["env"]["PYTHONPATH"] == str(launcher.config.parent)
    assert proxy["env"]["OPENCLAUDE_USAGE_RECORD"] == launcher.values["USAGE_RECORD"]
    assert proxy["env"]["OPENCLAUDE_PLAN_STANDING"] == launcher.values["PLAN_STANDING"]
    assert proxy["env"]["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert proxy["env"]["LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS"] == "True"
    assert proxy["env"]["LITELLM_MODE"] == "PRODUCTION"  # no ~/.env read into the proxy
    assert "HOST" not in proxy["env"] and "PORT" not in proxy["env"]
    assert launcher.proxy_pid() == proxy["pid"]
    assert health(launcher.port) == 200
    assert len(launcher.recorded("claude")) == 1


def test_proxy_runs_detached_in_its_own_process_group(launcher):
    assert launcher.run().returncode == 0
    pid = launcher.proxy_pid()

    assert os.getpgid(pid) == pid
    assert os.getpgid(pid) != os.getpgid(0)


def test_second_launch_reuses_the_running_proxy(launcher):
    first = launcher.run()
    second = launcher.run()

    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert len(launcher.recorded("litellm")) == 1
    assert launcher.proxy_pid() == launcher.recorded("litellm")[0]["pid"]
    assert "Starting LiteLLM proxy" not in second.stderr
    assert len(launcher.recorded("claude")) == 2


def test_config_change_replaces_the_proxy(launcher):
    assert launcher.run().returncode == 0
    old_pid = launcher.proxy_pid()
    launcher.config.write_text(CONFIG + "# changed\n")

    result = launcher.run()

    assert result.returncode == 0, result.stderr
    assert "config changed" in result.stderr
    new_pid = launcher.proxy_pid()
    assert new_pid != old_pid
    assert wait_until(lambda: not alive(old_pid))
    assert health(launcher.port) == 200
    assert [record["pid"] for record in launcher.recorded("litellm")] == [old_pid, new_pid]


def test_new_python_module_beside_the_config_restarts_the_proxy(launcher):
    assert launcher.run().returncode == 0
    old_pid = launcher.proxy_pid()
    (launcher.config.parent / "openclaude_callbacks.py").write_text("output_limit = None\n")

    assert launcher.run().returncode == 0

    assert launcher.proxy_pid() != old_pid
    assert wait_until(lambda: not alive(old_pid))


def test_concurrent_launches_start_one_proxy(launcher):
    results = []

    def launch():
        results.append(launcher.run(FAKE_LITELLM_BOOT_DELAY="1"))

    threads = [threading.Thread(target=launch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [result.returncode for result in results] == [0, 0, 0], [r.stderr for r in results]
    assert len(launcher.recorded("litellm")) == 1
    assert len(launcher.recorded("claude")) == 3


def test_lock_left_by_a_killed_launch_is_taken_over(launcher):
    finished = subprocess.Popen(["true"])
    finished.wait()
    lock = Path(f"{launcher.pid_file}.lock")
    lock.mkdir()
    (lock / "pid").write_text(f"{finished.pid}\n")

    result = launcher.run(timeout=20)

    assert result.returncode == 0, result.stderr
    assert not lock.exists()


# --- failures --------------------------------------------------------------------------------


def test_port_answered_by_another_program_fails_clearly_and_leaves_it_running(
    launcher, foreign_server
):
    result = launcher.refused(f"port {launcher.port}", "--data litellm_port=")

    assert result.stderr.startswith("openClaude: ")
    assert foreign_server.poll() is None
    assert launcher.recorded("litellm") == []


def test_port_bound_without_listening_fails_clearly(launcher):
    holder = socket.socket()
    holder.bind(("127.0.0.1", launcher.port))
    try:
        result = launcher.run()
    finally:
        holder.close()

    assert result.returncode != 0
    assert f"port {launcher.port}" in result.stderr
    assert "--data litellm_port=" in result.stderr
    assert launcher.recorded("claude") == []


def test_proxy_exiting_early_is_reported_with_its_log_tail(launcher):
    launcher.refused("exited while starting", "re-running the openClaude deploy",
                     "pretend start-up failure, line 5", str(launcher.log), FAKE_LITELLM_EXIT_EARLY="1")

    assert not launcher.pid_file.exists()


def test_proxy_never_healthy_times_out_with_its_log_tail_and_is_stopped(launcher):
    launcher.render(HEALTH_TIMEOUT="2")
    started = time.monotonic()

    launcher.refused("did not become healthy within 2s", "answered 503",
                     '"GET /health/liveliness HTTP/1.0" 503', FAKE_LITELLM_NEVER_HEALTHY="1")

    assert time.monotonic() - started < 10
    [proxy] = launcher.recorded("litellm")
    assert wait_until(lambda: not alive(proxy["pid"]))


def test_missing_litellm_says_to_rerun_the_deploy(launcher):
    launcher.render(LITELLM_BIN=str(launcher.root / "no-such" / "litellm"))

    launcher.refused("openClaude: LiteLLM is not installed", "Re-run the openClaude deploy")


def test_missing_claude_says_how_to_install_it(launcher):
    launcher.render(CLAUDE_BIN="claude-not-installed-here")

    launcher.refused("claude-not-installed-here", "npm install -g @anthropic-ai/claude-code")

    assert launcher.recorded("litellm") == []


def test_claude_off_path_is_found_where_installers_put_it(launcher):
    """Claude Code's native installer (~/.local/bin), Homebrew: not on an SSH shell's PATH."""
    native = launcher.home / ".local" / "bin"
    native.mkdir(parents=True)
    (native / "claude").symlink_to(FAKES / "claude")
    launcher.render(CLAUDE_BIN="claude", CLAUDE_DIRS=f"{launcher.root / 'nowhere'}:{native}")

    result = launcher.run("-p", "hi")

    assert result.returncode == 0, result.stderr
    [claude] = launcher.recorded("claude")
    assert claude["argv"][3:] == ["-p", "hi"]


def test_missing_master_key_says_to_rerun_the_deploy(launcher):
    Path(launcher.values["MASTER_KEY_FILE"]).unlink()

    launcher.refused(launcher.values["MASTER_KEY_FILE"], "Re-run the openClaude deploy")

    assert launcher.recorded("litellm") == []


# --- hand-over to claude ---------------------------------------------------------------------


def test_oauth_hand_over_sends_the_proxy_key_as_a_header_and_no_api_key(launcher):
    result = launcher.run(
        ANTHROPIC_API_KEY="sk-ant-inherited",
        ANTHROPIC_AUTH_TOKEN="user-token",
        ANTHROPIC_CUSTOM_HEADERS="X-Team: blue\nx-litellm-api-key: Bearer stale\n",
        LITELLM_MASTER_KEY="sk-from-the-shell",
        CLAUDE_CODE_USE_BEDROCK="1",
    )

    assert result.returncode == 0, result.stderr
    [claude] = launcher.recorded("claude")
    env = claude["env"]  # with the --settings layer applied, as Claude Code applies it
    assert not env.get("ANTHROPIC_API_KEY") and not env.get("ANTHROPIC_AUTH_TOKEN")
    assert env["ANTHROPIC_CUSTOM_HEADERS"] == f"X-Team: blue\nx-litellm-api-key: Bearer {MASTER_KEY}"
    assert env["CLAUDE_CONFIG_DIR"] == launcher.values["OPENCLAUDE_DIR"]
    assert env["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{launcher.port}"
    assert "LITELLM_MASTER_KEY" not in env
    assert not env.get("CLAUDE_CODE_USE_BEDROCK")
    assert MASTER_KEY not in " ".join(claude["argv"]), "the key is in a 0600 file, not on the command line"
    layer = Path(claude["argv"][2])
    assert claude["argv"][1] == "--settings" and layer.stat().st_mode & 0o777 == 0o600


DISPLACING_SHELL = {"ANTHROPIC_AUTH_TOKEN": "gw-token-value", "ANTHROPIC_API_KEY": "sk-ant-api-value",
                    "CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_USE_VERTEX": "1",
                    "CLAUDE_CODE_USE_FOUNDRY": "1"}


def test_oauth_launch_sets_aside_every_displacing_credential_and_names_it_once(launcher):
    launcher.user_settings.write_text(json.dumps({
        "apiKeyHelper": "echo helper-secret",
        "env": {"FOO": "bar", "ANTHROPIC_AUTH_TOKEN": "settings-token-value",
                "CLAUDE_CODE_USE_VERTEX": "1"},
    }))

    result = launcher.run(**DISPLACING_SHELL)

    assert result.returncode == 0, result.stderr
    env = launcher.recorded("claude")[0]["env"]
    assert not [name for name in DISPLACING_SHELL if env.get(name)]
    derived = json.loads(launcher.derived_settings.read_text())
    assert "apiKeyHelper" not in derived
    assert set(derived["env"]) & {"ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_USE_VERTEX"} == set()
    [line] = [line for line in result.stderr.splitlines() if "set aside" in line]
    assert line == (
        "openClaude: set aside so Claude Code uses your subscription sign-in: apiKeyHelper "
        f"env.ANTHROPIC_AUTH_TOKEN env.CLAUDE_CODE_USE_VERTEX (from {launcher.user_settings}); "
        "ANTHROPIC_AUTH_TOKEN ANTHROPIC_API_KEY CLAUDE_CODE_USE_BEDROCK CLAUDE_CODE_USE_VERTEX "
        "CLAUDE_CODE_USE_FOUNDRY (from the shell)."
    )
    for value in ("helper-secret", "settings-token-value", *DISPLACING_SHELL.values()):
        assert value == "1" or value not in result.stderr + result.stdout


def test_oauth_launch_without_displacing_credentials_says_nothing_about_them(launcher):
    result = launcher.run()

    assert result.returncode == 0, result.stderr
    assert "set aside" not in result.stderr


def test_bedrock_launch_leaves_the_other_credentials_as_they_were(launcher):
    launcher.render(OPENCLAUDE_MODE="bedrock")
    launcher.user_settings.write_text(json.dumps({"apiKeyHelper": "echo helper"}))

    result = launcher.run(ANTHROPIC_AUTH_TOKEN="gw-token", CLAUDE_CODE_USE_VERTEX="1")

    assert result.returncode == 0, result.stderr
    [claude] = launcher.recorded("claude")
    assert claude["env"]["ANTHROPIC_AUTH_TOKEN"] == "gw-token"
    assert json.loads(launcher.derived_settings.read_text())["apiKeyHelper"] == "echo helper"
    # Only what would take Claude Code off the proxy or replace its key is overridden.
    assert claude["env"]["CLAUDE_CODE_USE_VERTEX"] == "" and claude["settings"]["apiKeyHelper"] == ""
    assert "set aside" not in result.stderr


def test_usage_reads_the_record_beside_the_config_without_starting_the_proxy(launcher):
    record = "\t".join([str(time.time()), "claude-opus-4-6", "anthropic/claude-opus-4-6", "200", "",
                        "12", "3", "40", "", ""])
    (launcher.config.parent / "usage.tsv").write_text(record + "\n")
    Path(launcher.values["PLAN_STANDING"]).write_text(json.dumps({"time": time.time(), "headers": {
        "anthropic-ratelimit-unified-5h-utilization": "0.5"}}))

    result = launcher.run("--usage", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tiers"]["opus"]["input_tokens"] == 12
    assert json.loads(result.stdout)["plan"]["five_hour"]["utilization"] == 0.5
    assert launcher.recorded("litellm") == [] and launcher.recorded("claude") == []


def test_oauth_without_user_headers_sends_only_the_proxy_key_header(launcher):
    assert launcher.run().returncode == 0

    [claude] = launcher.recorded("claude")
    assert claude["env"]["ANTHROPIC_CUSTOM_HEADERS"] == f"x-litellm-api-key: Bearer {MASTER_KEY}"
    assert not claude["env"].get("ANTHROPIC_AUTH_TOKEN")


def test_bedrock_hand_over_uses_the_master_key_as_api_key_and_keeps_user_headers(launcher):
    launcher.render(OPENCLAUDE_MODE="bedrock")

    result = launcher.run(
        ANTHROPIC_API_KEY="sk-ant-inherited", ANTHROPIC_CUSTOM_HEADERS="X-Team: blue"
    )

    assert result.returncode == 0, result.stderr
    env = launcher.recorded("claude")[0]["env"]
    assert env["ANTHROPIC_API_KEY"] == MASTER_KEY
    assert env["ANTHROPIC_CUSTOM_HEADERS"] == "X-Team: blue"
    assert env["CLAUDE_CONFIG_DIR"] == launcher.values["OPENCLAUDE_DIR"]
    assert env["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{launcher.port}"
    assert "LITELLM_MASTER_KEY" not in env


def test_bedrock_hand_over_adds_no_custom_headers(launcher):
    launcher.render(OPENCLAUDE_MODE="bedrock")

    assert launcher.run().returncode == 0

    assert "ANTHROPIC_CUSTOM_HEADERS" not in launcher.recorded("claude")[0]["env"]


def test_arguments_pass_to_claude_unchanged(launcher):
    arguments = ["-p", "two words", "", "*", "it's \"quoted\" $HOME", "line\nbreak", "--status"]

    assert launcher.run(*arguments).returncode == 0

    [claude] = launcher.recorded("claude")
    assert claude["argv"][1:] == ["--settings", claude["argv"][2], *arguments]


def test_claude_exit_status_is_the_launchers(launcher):
    assert launcher.run(FAKE_CLAUDE_EXIT="7").returncode == 7


# --- settings --------------------------------------------------------------------------------


def test_settings_are_derived_from_the_users_file_at_every_launch(launcher):
    assert launcher.run().returncode == 0
    derived = json.loads(launcher.derived_settings.read_text())
    assert derived["model"] == TIERS["model"]
    assert derived["env"]["FOO"] == "bar"
    assert derived["env"]["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == TIERS["haiku"]

    launcher.user_settings.write_text(json.dumps({"env": {"FOO": "baz"}, "theme": "dark"}))
    assert launcher.run().returncode == 0

    derived = json.loads(launcher.derived_settings.read_text())
    assert derived["env"]["FOO"] == "baz"
    assert derived["theme"] == "dark"


def test_malformed_user_settings_stop_the_launch_and_change_nothing(launcher):
    assert launcher.run().returncode == 0
    assert launcher.run("--stop").returncode == 0
    launcher.user_settings.write_text('{"env": {"FOO": "bar",}}')
    derived_before = launcher.derived_settings.read_text()

    result = launcher.run()

    assert result.returncode != 0
    assert f"openClaude: {launcher.user_settings}: invalid JSON" in result.stderr
    assert launcher.user_settings.read_text() == '{"env": {"FOO": "bar",}}'
    assert launcher.derived_settings.read_text() == derived_before
    assert len(launcher.recorded("litellm")) == 1
    assert len(launcher.recorded("claude")) == 1


def test_proxy_log_and_pid_file_are_private(launcher):
    assert launcher.run().returncode == 0

    assert stat.S_IMODE(launcher.log.stat().st_mode) == 0o600
    assert stat.S_IMODE(launcher.pid_file.stat().st_mode) == 0o600


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_claude_keeps_the_users_umask(launcher):
    reporter = launcher.root / "umask-claude"
    reporter.write_text("#!/bin/sh\numask\n")
    reporter.chmod(0o755)
    launcher.render(CLAUDE_BIN=str(reporter))

    result = launcher.run()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "%04o" % current_umask()


# --- small commands --------------------------------------------------------------------------


def test_stop_stops_the_proxy_openclaude_started(launcher):
    assert launcher.run().returncode == 0
    pid = launcher.proxy_pid()

    result = launcher.run("--stop")

    assert result.returncode == 0
    assert f"stopped the LiteLLM proxy (pid {pid})" in result.stderr
    assert wait_until(lambda: not alive(pid))
    assert not launcher.pid_file.exists()
    assert "no proxy started by openClaude is running" in launcher.run("--stop").stderr


def test_stop_leaves_a_foreign_process_named_in_the_pid_file_alone(launcher, foreign_server):
    launcher.pid_file.write_text(f"{foreign_server.pid}\n0-0\n")

    result = launcher.run("--stop")

    assert result.returncode == 0
    assert f"pid {foreign_server.pid}" in result.stderr and "left alone" in result.stderr
    time.sleep(0.3)
    assert foreign_server.poll() is None


def test_stop_leaves_a_litellm_process_with_another_config_alone(launcher, bystander):
    launcher.pid_file.write_text(f"{bystander.pid}\n0-0\n")

    assert launcher.run("--stop").returncode == 0

    time.sleep(0.3)
    assert bystander.poll() is None


def test_launch_with_a_stale_pid_file_starts_a_new_proxy_and_leaves_that_process_alone(
    launcher, bystander
):
    launcher.pid_file.write_text(f"{bystander.pid}\n0-0\n")

    result = launcher.run()

    assert result.returncode == 0, result.stderr
    assert launcher.proxy_pid() == launcher.recorded("litellm")[0]["pid"]
    assert bystander.poll() is None


def test_status_reports_pid_port_health_config_and_log(launcher):
    before = launcher.run("--status")
    assert before.returncode == 1
    assert "proxy:   not running" in before.stdout

    assert launcher.run().returncode == 0
    running = launcher.run("--status")

    assert running.returncode == 0, running.stdout
    assert f"running, pid {launcher.proxy_pid()}" in running.stdout
    assert f"127.0.0.1:{launcher.port}" in running.stdout
    assert "healthy (GET /health/liveliness: 200)" in running.stdout
    assert f"{launcher.config} (matches the current config)" in running.stdout
    assert str(launcher.log) in running.stdout

    launcher.config.write_text(CONFIG + "# changed\n")
    changed = launcher.run("--status")
    assert changed.returncode == 0
    assert "changed since the proxy started" in changed.stdout


def test_status_fails_when_another_program_answers_the_port(launcher, foreign_server):
    result = launcher.run("--status")

    assert result.returncode == 1
    assert "another program" in result.stdout


def test_logs_prints_the_end_of_the_proxy_log(launcher):
    assert launcher.run().returncode == 0

    result = launcher.run("--logs")

    assert result.returncode == 0
    assert f"listening on 127.0.0.1:{launcher.port}" in result.stdout


def test_logs_follow_streams_new_lines(launcher):
    assert launcher.run().returncode == 0
    follower = subprocess.Popen(
        [str(launcher.path), "--logs", "-f"], env=launcher.env, stdout=subprocess.PIPE, text=True
    )
    try:
        time.sleep(0.5)
        with launcher.log.open("a") as log:
            log.write("a line written later\n")
        lines = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "a line written later\n" not in lines:
            lines.append(follower.stdout.readline())
        assert "a line written later\n" in lines
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_help_explains_the_commands_and_that_other_arguments_go_to_claude(launcher):
    result = launcher.run("--help")

    assert result.returncode == 0
    for command in ("--status", "--stop", "--logs", "--help"):
        assert command in result.stdout
    assert "All other arguments go to claude unchanged" in result.stdout
    assert launcher.recorded("litellm") == []


# --- the script itself and its rendering -----------------------------------------------------


def test_launcher_runs_under_the_bash_under_test(launcher, launcher_bash):
    def version(command: list) -> str:
        return subprocess.run([*command, "-c", 'printf %s "$BASH_VERSION"'], env=launcher.env,
                              capture_output=True, text=True, check=True).stdout

    assert version(["/usr/bin/env", "bash"]) == version([str(launcher_bash / "bash")])


def test_launcher_is_valid_bash(launcher, launcher_bash):
    for path in (TEMPLATE, launcher.path):
        result = subprocess.run([str(launcher_bash / "bash"), "-n", str(path)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_render_assigns_every_variable_in_order_with_shell_quoting(launcher_bash):
    values = {name: f"value of {name}" for name in LAUNCHER_VARIABLES}
    values["SETTINGS_TIERS"] = json.dumps(TIERS)
    values["CLAUDE_SETTINGS"] = "/home/o'neil/$HOME/`date`/\"x\"\n.json"

    text = render_launcher(values)

    assert "@OPENCLAUDE_VALUES@" not in text
    assignments = [line for line in text.splitlines() if re.match(r"^[A-Z_]+=", line)]
    assert [line.split("=", 1)[0] for line in assignments[: len(LAUNCHER_VARIABLES)]] == list(
        LAUNCHER_VARIABLES
    )
    last = f"{LAUNCHER_VARIABLES[-1]}="
    block = text[text.index("OPENCLAUDE_MODE=") : text.index(last)]
    block += text[text.index(last) :].split("\n", 1)[0]
    echo = "; ".join(f'printf "%s\\0" "${name}"' for name in LAUNCHER_VARIABLES)
    shown = subprocess.run(
        [str(launcher_bash / "bash"), "-c", f"{block}\n{echo}"], capture_output=True, text=True,
        check=True
    ).stdout
    assert shown.split("\0")[:-1] == [values[name] for name in LAUNCHER_VARIABLES]


def test_render_rejects_missing_and_unknown_variables():
    values = {name: "x" for name in LAUNCHER_VARIABLES}
    del values["LITELLM_PORT"]
    values["LITELLM_PROT"] = "4000"

    with pytest.raises(ValueError, match=r"missing LITELLM_PORT.*unknown LITELLM_PROT"):
        render_launcher(values)


def test_render_rejects_values_that_are_not_strings():
    values = {name: "x" for name in LAUNCHER_VARIABLES}
    values["LITELLM_PORT"] = 4000

    with pytest.raises(ValueError, match="LITELLM_PORT"):
        render_launcher(values)
