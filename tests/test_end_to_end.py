"""End to end: the real LiteLLM release from PyPI (installed by deploy.py), the real Claude Code
CLI, the deployed launcher, and stand-ins for the Anthropic API and Bedrock on loopback.

One sandbox HOME and one proxy serve the whole module, in two phases:

* ``oauth``: deploy.py, then ``openclaude -p ... --model <tier>`` per tier with a (fake) Claude
  plan OAuth token, tool round trips on the Bedrock and Anthropic tiers, ``verify.py`` live.
* ``bedrock``: rollback.py (same data), the same runs without the OAuth token, ``verify.py`` live.

Between Claude Code and the proxy sits a byte-for-byte TCP tap (a ``claude`` shim first on PATH
points ``ANTHROPIC_BASE_URL`` at it and records the environment the launcher handed over), so
the tests can see what Claude Code sent *to the proxy* as well as what reached each upstream.
The proxy the launcher started is stopped at the end, by ``openClaude --stop`` and then by pid.
The world itself (stand-ins, tap, shim, deploy) is tests/support/end_to_end.py's.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from operations.deploys.openclaude import DEFAULTS
from tests.claude_cli import claude_cli  # noqa: F401  (fixture of e2e)
from tests.support.end_to_end import (  # noqa: F401  (e2e is the module's world fixture)
    ANTHROPIC_REPLY,
    AWS_ACCESS_KEY,
    BEDROCK_REPLY,
    BEDROCK_UPSTREAM,
    OAUTH_TOKEN,
    OAUTH_UPSTREAM,
    QWEN,
    converse_posts,
    e2e,
    messages_posts,
)
from tests.support.processes import alive, command_line, wait_until

TOOL_COMMAND = "echo standin-tool-ok"
TOOL_OUTPUT = "standin-tool-ok"
HAIKU_LIMIT = 8000  # the haiku tier's model's output limit (OUTPUT_LIMITS of the Bedrock stand-in)


@dataclass
class Phase:
    runs: dict  # label -> Run
    verify: object  # the verify.py --data live=true Result
    verify_upstream: tuple  # (Anthropic requests, Bedrock requests) during that verify run
    pids_before: set  # the proxy pid(s) running before the phase


@pytest.fixture(scope="module")
def oauth(e2e):
    """The mixed OAuth/Bedrock state: one run per tier, two tool round trips, verify live."""
    runs = {}
    for tier in ("opus", "sonnet", "haiku"):
        runs[tier] = e2e.claude(tier, "-p", "say hi", "--model", tier, oauth=True)
    tool = {"name": "Bash", "input": {"command": TOOL_COMMAND, "description": "Print a marker"}}
    for tier in ("haiku", "opus"):
        e2e.api.tool_call = tool
        e2e.bedrock.tool_call = tool
        try:
            runs[f"{tier} tool"] = e2e.claude(
                f"{tier} tool", "-p", "Run the marker command.", "--model", tier,
                "--allowedTools", "Bash(echo:*)", oauth=True)
        finally:
            e2e.api.tool_call = None
            e2e.bedrock.tool_call = None
    verify, verify_upstream = e2e.verify_live(oauth=True)
    return Phase(runs, verify, verify_upstream, set())  # no proxy ran before the first launch


@pytest.fixture(scope="module")
def bedrock_phase(e2e, oauth):
    """rollback.py with the same data, then the same runs without the OAuth token."""
    pid_before = e2e.proxy_pid()
    rolled = e2e.pyinfra("rollback.py", oauth=False)
    assert rolled.returncode == 0, rolled.output
    runs = {}
    for tier in ("opus", "sonnet", "haiku"):
        runs[tier] = e2e.claude(f"bedrock {tier}", "-p", "say hi", "--model", tier, oauth=False)
    verify, verify_upstream = e2e.verify_live(oauth=False)
    return Phase(runs, verify, verify_upstream, {pid_before} if pid_before else set())


# --- an interactive session in tmux -------------------------------------------------------------

INTERACTIVE_TIMEOUT = 90


@dataclass
class Session:
    screens: dict  # step -> the pane's text after it
    exchanges: list  # (method, target, status) between Claude Code and the proxy
    requests: list  # the request heads Claude Code sent the proxy
    anthropic: list
    bedrock: list
    ended: bool  # the session closed after /exit


class Tmux:
    """One tmux server of our own (private socket), running one command in a sized pane."""

    def __init__(self, socket_path: Path, env: dict) -> None:
        binary = shutil.which("tmux")
        if binary is None:
            pytest.fail("tmux is needed for the interactive session (Debian: apt-get install tmux; .ci/run does)")
        self.base = [binary, "-S", str(socket_path)]
        self.env = env
        self.server_pid = None

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.base, *args], env=self.env, capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)

    def start(self, command: str, cwd: Path) -> None:
        started = self.run("new-session", "-d", "-s", "openclaude", "-x", "200", "-y", "60",
                           "-c", str(cwd), command)
        assert started.returncode == 0, started.stderr
        pid = self.run("display-message", "-p", "-t", "openclaude", "#{pid}").stdout.strip()
        self.server_pid = int(pid) if pid.isdigit() else None

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-J", "-t", "openclaude").stdout

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "openclaude", "-l", text)
        time.sleep(0.3)  # let the input box take the text before Enter (not part of it)
        self.run("send-keys", "-t", "openclaude", "Enter")

    def wait_for(self, predicate, timeout: float = INTERACTIVE_TIMEOUT) -> str:
        wait_until(lambda: predicate(self.screen()), timeout)
        return self.screen()

    def alive(self) -> bool:
        return self.run("has-session", "-t", "openclaude").returncode == 0

    def stop(self) -> None:
        """Stops our tmux server only: by its pid, once it is checked to be tmux."""
        pid = self.server_pid
        if pid and alive(pid) and "tmux" in command_line(pid):
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not alive(pid), 10)


def onboarded(e2e) -> None:
    """Claude Code's own state in ~/.openClaude as after a user's first run: onboarding done (its
    first step checks Anthropic's host, unreachable here) and the project folder trusted."""
    state_path = e2e.home / ".openClaude/.claude.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    state.update(hasCompletedOnboarding=True, theme=state.get("theme", "dark"))
    project = state.setdefault("projects", {}).setdefault(str(e2e.root / "project"), {})
    project["hasTrustDialogAccepted"] = True
    state_path.write_text(json.dumps(state, indent=2))
    state_path.chmod(0o600)


@pytest.fixture(scope="module")
def interactive(e2e, oauth):
    """``openclaude --model haiku`` in tmux (OAuth state): one prompt, ``/context``, ``/exit``."""
    onboarded(e2e)
    env = {**e2e.env(oauth=True), "TERM": "xterm-256color"}
    tmux = Tmux(e2e.root / "tmux.sock", env)
    marks = (e2e.upstream_mark(), e2e.tap.mark())
    screens = {}
    try:
        tmux.start(shlex.join([str(e2e.alias), "--model", "haiku"]), e2e.root / "project")
        screens["start"] = tmux.wait_for(lambda text: "❯" in text)
        tmux.type("say hi")
        screens["prompt"] = tmux.wait_for(lambda text: BEDROCK_REPLY in text)
        tmux.type("/context")
        screens["context"] = tmux.wait_for(lambda text: "context usage" in text.lower() and "tokens (" in text)
        tmux.type("/exit")
        ended = wait_until(lambda: not tmux.alive(), 30)
    finally:
        tmux.stop()
    time.sleep(0.2)
    anthropic, bedrock = e2e.upstream_since(marks[0])
    return Session(screens, e2e.tap.exchanges_since(marks[1]), e2e.tap.requests_since(marks[1]),
                   anthropic, bedrock, ended)


def count_tokens_request(session: Session) -> dict:
    """A count_tokens request real Claude Code sent during /context (2.1.332 does); from a version
    that counts on its own (2.1.197), its last Messages request cut to what count_tokens takes."""
    posts = [r for r in session.requests if r["method"] == "POST" and isinstance(r["json"], dict)]
    counts = [r for r in posts if r["target"].startswith("/v1/messages/count_tokens")]
    if counts:
        return counts[-1]
    messages = [r for r in posts if r["target"].split("?")[0] == "/v1/messages"]
    assert messages, [r["target"] for r in session.requests]
    body = {key: value for key, value in messages[-1]["json"].items()
            if key in ("model", "messages", "system", "tools")}
    return {**messages[-1], "target": "/v1/messages/count_tokens?beta=true", "json": body}


def replay_count_tokens(e2e, template: dict, headers: dict) -> dict:
    """``{tier: (status, answer, Anthropic requests, Bedrock requests)}``: Claude Code's count_tokens
    request sent to the proxy once per tier, with ``headers`` as the client's credentials."""
    results = {}
    for tier, name in (("opus", "claude-opus-4-6"), ("sonnet", "claude-sonnet-4-6"), ("haiku", "qwen-3-coder")):
        body = json.dumps({**template["json"], "model": name}).encode()
        mark = e2e.upstream_mark()
        connection = http.client.HTTPConnection("127.0.0.1", e2e.port, timeout=60)
        try:
            connection.request("POST", template["target"], body=body, headers={
                "content-type": "application/json",
                "anthropic-version": template["headers"].get("anthropic-version", "2023-06-01"),
                "anthropic-beta": template["headers"].get("anthropic-beta", ""),
                **headers})
            response = connection.getresponse()
            status, text = response.status, response.read().decode(errors="replace")
        finally:
            connection.close()
        try:
            answer = json.loads(text)
        except ValueError:
            answer = text
        results[tier] = (status, answer, *e2e.upstream_since(mark))
    return results


def all_runs(e2e) -> list:
    return list(e2e.runs)


def headers_and_body(record: dict) -> bytes:
    return b"\n".join(f"{name}: {value}".encode() for name, value in record["raw_headers"]) + b"\n" + record["body"]


def test_the_deployed_litellm_ships_its_proxy_server_compiled(e2e):
    """Compiled at install, so no boot recompiles it (even with PYTHONDONTWRITEBYTECODE set)."""
    site = e2e.home / ".local/share/uv/tools/litellm/lib"
    assert list(site.glob("python3*/site-packages/litellm/proxy/__pycache__/proxy_server.*.pyc"))


# --- the mixed OAuth/Bedrock state --------------------------------------------------------------


def test_every_tier_answers_with_the_standins_reply(oauth):
    for tier, (provider, _) in OAUTH_UPSTREAM.items():
        run = oauth.runs[tier]
        assert run.returncode == 0, run.output
        reply = ANTHROPIC_REPLY if provider == "anthropic" else BEDROCK_REPLY
        assert reply in run.stdout, run.output


def test_opus_and_sonnet_reach_anthropic_with_the_users_oauth_token(oauth):
    for tier in ("opus", "sonnet"):
        run = oauth.runs[tier]
        posts = messages_posts(run)
        assert posts, run.output
        main = [r for r in posts if b"say hi" in r["body"]]
        assert main, [r["json"] for r in posts]
        for record in posts:
            assert record["headers"].get("authorization") == f"Bearer {OAUTH_TOKEN}"
            assert "x-api-key" not in record["headers"], record["headers"]
        assert {r["json"]["model"] for r in main} == {OAUTH_UPSTREAM[tier][1]}
        assert not converse_posts(run), [r["target"] for r in run.bedrock]


def test_haiku_reaches_bedrock_signed_with_the_environments_aws_credentials(oauth):
    run = oauth.runs["haiku"]
    posts = converse_posts(run)
    assert posts, run.output
    assert not messages_posts(run), [r["json"].get("model") for r in messages_posts(run)]
    for record in run.bedrock:
        assert record["path"] in (f"/model/{QWEN}/converse", f"/model/{QWEN}/converse-stream")
        assert record["sigv4_valid"], record["sigv4_error"]
        assert f"Credential={AWS_ACCESS_KEY}/" in record["headers"]["authorization"]
        assert b"sk-ant-" not in headers_and_body(record)
    assert any(b"say hi" in r["body"] for r in posts)


def test_no_oauth_token_reaches_bedrock_in_any_run(oauth, e2e):
    records = [(run.label, record) for run in all_runs(e2e) for record in run.bedrock]
    assert records, "no Bedrock request was recorded: nothing to check"
    for label, record in records:
        assert b"sk-ant-" not in headers_and_body(record), label
        assert OAUTH_TOKEN.encode() not in headers_and_body(record), label


def test_the_proxys_master_key_reaches_no_upstream(oauth, e2e):
    key = e2e.master_key().encode()
    assert key.startswith(b"sk-")
    records = [r for run in all_runs(e2e) for r in run.upstream()]
    assert records
    for record in records:
        assert key not in headers_and_body(record), (record["target"], record["headers"])
        assert "x-litellm-api-key" not in record["headers"]


def test_claude_code_sends_the_token_and_the_proxy_key_header_to_the_proxy(oauth, e2e):
    key = e2e.master_key()
    for tier in ("opus", "sonnet", "haiku"):
        run = oauth.runs[tier]
        assert run.claude_env.get("ANTHROPIC_BASE_URL") == f"http://127.0.0.1:{e2e.port}"
        assert not run.claude_env.get("ANTHROPIC_API_KEY")
        assert run.claude_env.get("CLAUDE_CONFIG_DIR") == str(e2e.home / ".openClaude")
        posts = [h for h in run.to_proxy if h["method"] == "POST" and h["target"].startswith("/v1/messages")]
        assert posts, run.to_proxy
        for head in posts:
            assert head["headers"].get("authorization") == f"Bearer {OAUTH_TOKEN}"
            assert head["headers"].get("x-litellm-api-key") == f"Bearer {key}"
            assert "x-api-key" not in head["headers"]


def listeners(port: int) -> list:
    """Local addresses (as /proc/net shows them) of the sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, local_port = fields[1].rsplit(":", 1)
            if int(local_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append(address)
    return found


LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


def test_proxy_listens_on_loopback_only(oauth, e2e):
    found = listeners(e2e.port)
    assert found, f"nothing listens on port {e2e.port}"
    assert set(found) <= LOOPBACK, found


def files_holding(home: Path, secret: bytes) -> list:
    """Files under ``home`` (but uv's tools) that contain ``secret``."""
    hits = []
    for directory, subdirectories, files in os.walk(home):
        if Path(directory) == home / ".local/share":
            subdirectories[:] = [name for name in subdirectories if name != "uv"]
        for name in files:
            path = Path(directory, name)
            if not path.is_symlink() and secret in path.read_bytes():
                hits.append(path.relative_to(home).as_posix())
    return sorted(hits)


def test_the_proxy_does_not_hold_the_oauth_token(oauth, e2e):
    pid = e2e.proxy_pid()
    assert pid is not None
    assert OAUTH_TOKEN.encode() not in Path(f"/proc/{pid}/environ").read_bytes()


def test_oauth_token_is_written_to_no_file_under_home(oauth, e2e):
    assert (e2e.home / ".litellm/proxy.log").stat().st_size > 0
    assert files_holding(e2e.home, OAUTH_TOKEN.encode()) == []


def test_master_key_is_stored_in_its_key_file_and_the_private_settings_layer_only(oauth, e2e):
    """The launcher hands the key to Claude Code in a 0600 --settings file (never on the command
    line, where ps shows it)."""
    holding = files_holding(e2e.home, e2e.master_key().encode())
    layers = [path for path in holding if path.startswith(".litellm/claude-layers/launch-")]
    assert layers and holding == sorted([".litellm/master.key", *layers]), holding
    for path in layers:
        assert (e2e.home / path).stat().st_mode & 0o777 == 0o600


def test_haiku_output_is_capped_for_bedrock_while_opus_keeps_the_clients_value(oauth):
    haiku = [r for r in converse_posts(oauth.runs["haiku"]) if b"say hi" in r["body"]]
    assert haiku
    for record in haiku:
        assert record["json"]["inferenceConfig"]["maxTokens"] <= HAIKU_LIMIT
        assert record["reply"] != "error"
    opus = [r for r in messages_posts(oauth.runs["opus"]) if b"say hi" in r["body"]]
    assert {r["json"]["max_tokens"] for r in opus} == {64000}
    # What Claude Code asked the proxy for: the callback, not the client, made it <= 8000.
    asked = [h["json"]["max_tokens"] for h in oauth.runs["haiku"].to_proxy
             if h["json"] and b"say hi" in h["body"]]
    assert asked and min(asked) > HAIKU_LIMIT, asked


def test_claude_codes_headers_reach_anthropic_but_not_bedrock(oauth, e2e):
    anthropic = [r for tier in ("opus", "sonnet") for r in messages_posts(oauth.runs[tier])]
    assert anthropic, "no Anthropic request was recorded: nothing to check"
    for record in anthropic:
        assert record["headers"].get("x-app") == "cli", record["headers"]
        assert record["headers"].get("x-claude-code-session-id"), record["headers"]
        assert "oauth-2025-04-20" in record["headers"].get("anthropic-beta", "")
    bedrock = [r for run in all_runs(e2e) for r in run.bedrock]
    assert bedrock
    for record in bedrock:
        assert "x-app" not in record["headers"] and "x-claude-code-session-id" not in record["headers"]
        assert "oauth" not in record["headers"].get("anthropic-beta", "")
    upstream = [record for run in all_runs(e2e) for record in run.upstream()]
    assert upstream
    for record in upstream:
        assert "x-litellm-api-key" not in record["headers"]


def test_bash_tool_round_trip_on_the_bedrock_tier(oauth):
    run = oauth.runs["haiku tool"]
    assert run.returncode == 0, run.output
    posts = converse_posts(run)
    asked = [r for r in posts if r.get("reply") == "tool_use"]
    assert len(asked) == 1, [(r.get("reply"), r["target"]) for r in posts]
    answered = [r for r in posts if any(t["tool_use_id"] == asked[0]["tool_use_id"] for t in r["tool_results"])]
    assert answered, run.output
    [result] = [t for t in answered[0]["tool_results"] if t["tool_use_id"] == asked[0]["tool_use_id"]]
    assert TOOL_OUTPUT in result["content"] and result["status"] != "error", result
    assert all(r["json"]["inferenceConfig"]["maxTokens"] <= HAIKU_LIMIT for r in posts)
    assert not [r for r in posts if r["reply"] == "error"]
    assert not messages_posts(run)
    assert BEDROCK_REPLY in run.stdout, run.output


def test_bash_tool_round_trip_on_the_opus_tier(oauth):
    run = oauth.runs["opus tool"]
    assert run.returncode == 0, run.output
    posts = messages_posts(run)
    asked = [r for r in posts if r.get("reply") == "tool_use"]
    assert len(asked) == 1, [(r.get("reply"), r["json"].get("model")) for r in posts]
    answered = [r for r in posts if any(t["tool_use_id"] == asked[0]["tool_use_id"] for t in r["tool_results"])]
    assert answered, run.output
    [result] = [t for t in answered[0]["tool_results"] if t["tool_use_id"] == asked[0]["tool_use_id"]]
    assert TOOL_OUTPUT in result["content"] and not result["is_error"], result
    assert {r["json"]["model"] for r in asked + answered} == {"claude-opus-4-6"}
    assert all(r["headers"].get("authorization") == f"Bearer {OAUTH_TOKEN}" for r in posts)
    assert ANTHROPIC_REPLY in run.stdout, run.output


def test_claude_code_keeps_the_haiku_tier_within_its_models_window(oauth, e2e):
    """Claude Code 2.1.332 assumes 1M tokens for a model name it does not know, and says so; the
    derived settings give it the haiku upstream's window from LiteLLM's map instead."""
    settings = json.loads((e2e.home / ".openClaude/settings.json").read_text())
    assert settings["env"]["CLAUDE_CODE_MAX_CONTEXT_TOKENS"] == "256000"
    for run in oauth.runs.values():
        assert "doesn't recognize the model" not in run.stdout + run.stderr, run.output
    assert re.search(r"PASS\s+context windows fit the models\s+opus 1000000, sonnet 1000000, "
                     r"haiku 256000", oauth.verify.output), oauth.verify.output


def test_interactive_session_through_the_launcher_ends_with_no_failed_request(interactive):
    assert BEDROCK_REPLY in interactive.screens["prompt"], interactive.screens
    assert "context usage" in interactive.screens["context"].lower(), interactive.screens
    assert interactive.ended, interactive.screens
    targets = [target for _, target, _ in interactive.exchanges]
    assert any(t.startswith("/v1/messages?") or t == "/v1/messages" for t in targets), targets
    unanswered_or_failed = [e for e in interactive.exchanges if e[2] is None or e[2] >= 400]
    assert unanswered_or_failed == [], unanswered_or_failed
    assert not [r for r in interactive.bedrock if r.get("reply") == "error"]


def test_context_shows_the_haiku_models_window(interactive):
    """Real Claude Code's own account of the window it keeps the haiku tier within."""
    screen = interactive.screens["context"]
    assert re.search(r"/256k tokens \(", screen), screen
    if "Auto-compact window" in screen:  # 2.1.332 names it; 2.1.197 does not
        assert re.search(r"Auto-compact window:\s+256k tokens", screen), screen


def test_count_tokens_answers_every_tier_in_the_oauth_state(interactive, e2e):
    """Opus and sonnet: counted by Anthropic with the user's own token; haiku: LiteLLM's counter."""
    template = count_tokens_request(interactive)
    assert template["headers"]["authorization"] == f"Bearer {OAUTH_TOKEN}"
    results = replay_count_tokens(e2e, template, {
        "authorization": template["headers"]["authorization"],
        "x-litellm-api-key": template["headers"]["x-litellm-api-key"]})
    for tier, (status, answer, anthropic, bedrock) in results.items():
        assert status == 200, (tier, answer)
        assert isinstance(answer["input_tokens"], int) and answer["input_tokens"] > 0, (tier, answer)
        assert not bedrock, (tier, [r["target"] for r in bedrock])
        if tier == "haiku":
            assert not anthropic, [r["target"] for r in anthropic]
            continue
        [counted] = anthropic
        assert counted["path"] == "/v1/messages/count_tokens", counted["target"]
        assert counted["json"]["model"] == OAUTH_UPSTREAM[tier][1]
        assert counted["headers"]["authorization"] == f"Bearer {OAUTH_TOKEN}"
        assert "oauth-2025-04-20" in counted["headers"].get("anthropic-beta", "")
        assert "x-litellm-api-key" not in counted["headers"] and "x-api-key" not in counted["headers"]


def test_runs_reuse_the_one_proxy(oauth):
    pids = {run.proxy_pid for run in oauth.runs.values()}
    assert len(pids) == 1 and None not in pids, pids
    first, *rest = oauth.runs.values()
    assert "Starting LiteLLM proxy" in first.stderr
    assert not [run.label for run in rest if "Starting LiteLLM proxy" in run.stderr]


def live_lines(result) -> dict:
    lines = {}
    for line in result.output.splitlines():
        match = re.search(r"(PASS|FAIL)\s+live (fable|opus|sonnet|haiku) prompt\s+(.*)$", line)
        if match:
            lines[match.group(2)] = (match.group(1), match.group(3))
    return lines


def test_verify_live_shows_where_each_tier_went_and_passes(oauth):
    result = oauth.verify
    assert result.returncode == 0, result.output
    lines = live_lines(result)
    assert set(lines) == {"fable", "opus", "sonnet", "haiku"}, result.output
    # The unpinned fable slot: Anthropic, as the model Claude Code asks for.
    assert lines["fable"][0] == "PASS" and lines["fable"][1].startswith(
        "-> anthropic, the model Claude Code asks for:"), lines["fable"]
    for tier, (provider, model_id) in OAUTH_UPSTREAM.items():
        mark, detail = lines[tier]
        assert mark == "PASS", detail
        assert detail.startswith(f"-> {provider} {model_id}:"), detail
        reply = ANTHROPIC_REPLY if provider == "anthropic" else BEDROCK_REPLY
        assert reply in detail, detail
    assert "FAIL" not in result.output, result.output
    # Where the lines say each tier went is where its prompt did go.
    anthropic, bedrock = oauth.verify_upstream
    assert sorted(r["json"]["model"] for r in anthropic if r["path"] == "/v1/messages") == [
        "claude-fable-5-2", "claude-opus-4-6", "claude-sonnet-4-6"]
    assert [r["model_id"] for r in bedrock if r.get("operation")] == [QWEN]


# --- rollback: the all-Bedrock state ------------------------------------------------------------


def test_rollback_restarts_the_proxy_for_the_changed_config(bedrock_phase, e2e):
    first = bedrock_phase.runs["opus"]
    assert first.returncode == 0, first.output
    assert "config changed" in first.stderr, first.output
    assert bedrock_phase.pids_before and first.proxy_pid not in bedrock_phase.pids_before
    assert all(not alive(pid) for pid in bedrock_phase.pids_before)
    assert {run.proxy_pid for run in bedrock_phase.runs.values()} == {first.proxy_pid}


def test_rollback_sends_every_tier_to_bedrock_signed(bedrock_phase):
    for tier, (_, model_id) in BEDROCK_UPSTREAM.items():
        run = bedrock_phase.runs[tier]
        assert run.returncode == 0, run.output
        assert BEDROCK_REPLY in run.stdout, run.output
        posts = converse_posts(run)
        main = [r for r in posts if b"say hi" in r["body"]]
        assert main, run.output
        assert {r["model_id"] for r in main} == {model_id}
        for record in run.bedrock:
            assert record["sigv4_valid"], record["sigv4_error"]
            assert record["reply"] != "error"
            assert b"sk-ant-" not in headers_and_body(record)
        assert not run.anthropic, [r["target"] for r in run.anthropic]


def test_rollback_reaches_nothing_at_anthropic(bedrock_phase, e2e):
    runs = [run for run in e2e.runs if run.label.startswith("bedrock ")]
    assert runs and not [r for run in runs for r in run.anthropic]


def test_rollback_claude_authenticates_to_the_proxy_with_the_master_key(bedrock_phase, e2e):
    key = e2e.master_key()
    for run in bedrock_phase.runs.values():
        assert run.claude_env.get("ANTHROPIC_API_KEY") == key
        assert "CLAUDE_CODE_OAUTH_TOKEN" not in run.claude_env
        posts = [h for h in run.to_proxy if h["method"] == "POST" and h["target"].startswith("/v1/messages")]
        assert posts, run.to_proxy
        for head in posts:
            assert head["headers"].get("x-api-key") == key
            assert "sk-ant-" not in head["headers"].get("authorization", "")
        for record in run.bedrock:
            assert key.encode() not in headers_and_body(record)


def test_verify_live_after_rollback_shows_bedrock_for_every_tier(bedrock_phase):
    result = bedrock_phase.verify
    assert result.returncode == 0, result.output
    lines = live_lines(result)
    for tier, (provider, model_id) in BEDROCK_UPSTREAM.items():
        mark, detail = lines[tier]
        assert mark == "PASS" and detail.startswith(f"-> {provider} {model_id}:"), detail
        assert BEDROCK_REPLY in detail, detail
    anthropic, bedrock = bedrock_phase.verify_upstream
    assert not anthropic
    assert sorted(r["model_id"] for r in bedrock if r.get("operation")) == sorted(
        [*(model_id for _, model_id in BEDROCK_UPSTREAM.values()), "us.anthropic.claude-fable-5-1"])


def test_across_both_states_no_secret_or_client_header_reached_the_wrong_upstream(bedrock_phase, e2e):
    """Every request either stand-in received in the module, verify.py's live prompts included."""
    key = e2e.master_key().encode()
    anthropic, bedrock = e2e.api.requests.snapshot(), e2e.bedrock.requests.snapshot()
    assert anthropic and bedrock
    for record in anthropic + bedrock:
        assert key not in headers_and_body(record), record["target"]
        assert "x-litellm-api-key" not in record["headers"]
        assert "x-api-key" not in record["headers"]
    for record in anthropic:
        assert record["headers"]["authorization"] == f"Bearer {OAUTH_TOKEN}"
    for record in bedrock:
        assert record["sigv4_valid"], record["sigv4_error"]
        assert b"sk-ant-" not in headers_and_body(record), record["target"]
        assert "x-app" not in record["headers"] and "x-claude-code-session-id" not in record["headers"]
    found = listeners(e2e.port)
    assert found and set(found) <= LOOPBACK, found
    assert files_holding(e2e.home, OAUTH_TOKEN.encode()) == []


def test_only_documented_fields_and_betas_reach_bedrock_claude(bedrock_phase):
    """Claude Code's thinking (with its display), effort and betas, as Bedrock Claude receives them:
    only the keys and betas group_data lists as AWS documents them."""
    fields, betas = DEFAULTS["bedrock_claude_fields"], set(DEFAULTS["bedrock_claude_betas"])
    extras = [r["json"].get("additionalModelRequestFields") or {}
              for tier in ("opus", "sonnet") for r in converse_posts(bedrock_phase.runs[tier])]
    assert any("thinking" in extra for extra in extras), extras
    for extra in extras:
        assert set(extra) <= {*fields, "anthropic_beta"}, extra
        for field, kept in fields.items():
            assert set(extra.get(field) or {}) <= set(kept), extra
        assert set(extra.get("anthropic_beta") or []) <= betas, extra


def test_count_tokens_answers_every_tier_in_the_bedrock_state(bedrock_phase, interactive, e2e):
    """Every tier counted by LiteLLM's own counter: nothing leaves the machine."""
    results = replay_count_tokens(e2e, count_tokens_request(interactive), {"x-api-key": e2e.master_key()})
    for tier, (status, answer, anthropic, bedrock) in results.items():
        assert status == 200, (tier, answer)
        assert isinstance(answer["input_tokens"], int) and answer["input_tokens"] > 0, (tier, answer)
        assert not anthropic and not bedrock, (tier, [r["target"] for r in anthropic + bedrock])


def test_teardown_stop_leaves_no_proxy(bedrock_phase, e2e):
    """Runs last: the launcher's --stop stops the proxy the runs used."""
    pid = e2e.proxy_pid()
    assert pid and alive(pid)
    done = subprocess.run([str(e2e.launcher), "--stop"], env=e2e.env(oauth=False), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert wait_until(lambda: not alive(pid), 15), f"proxy pid {pid} still alive"
    assert not (e2e.home / ".litellm/proxy.pid").exists()
