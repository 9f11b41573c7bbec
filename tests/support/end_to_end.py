"""The end-to-end world the end-to-end tests share: the real LiteLLM release from PyPI
(installed by deploy.py), the real Claude Code CLI through the deployed launcher, stand-ins for the
Anthropic API and Bedrock on loopback, and a byte-for-byte TCP tap between Claude Code and the
proxy (a ``claude`` shim first on PATH points ``ANTHROPIC_BASE_URL`` at it and records the
environment the launcher handed over).

``standin_world`` builds one (a sandbox HOME, deployed); ``e2e`` is the module-scoped fixture of
a world whose opus and sonnet slots are pinned to the ids the tests check.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from operations.deploys.openclaude import DEFAULTS
from operations.model.data import PATH_KEYS
from tests.standins.anthropic import AnthropicStandin
from tests.standins.bedrock import VALIDATION_ERROR_TYPE, BedrockStandin
from tests.support.processes import alive, command_line, free_port, wait_until
from tests.support.runs import BIN, SCRUBBED
from tests.support.sandbox import Sandbox

AWS_ACCESS_KEY = "AKIAOPENCLAUDEE2E0001"
AWS_SECRET_KEY = "openclaude/e2e/secret/" + "0" * 18
AWS_REGION = "us-west-2"
# A fake Claude plan token, new per session so a hit in a file can only come from this run.
OAUTH_TOKEN = "sk-ant-oat01-e2e" + secrets.token_urlsafe(40)

ANTHROPIC_REPLY = "Hello from the Anthropic stand-in (e2e)."
BEDROCK_REPLY = "Hello from the Bedrock stand-in (e2e)."
QWEN = "qwen.qwen3-next-80b-a3b"
OAUTH_UPSTREAM = {"opus": ("anthropic", "claude-opus-4-6"),
                  "sonnet": ("anthropic", "claude-sonnet-4-6"),
                  "haiku": ("bedrock", QWEN)}
BEDROCK_UPSTREAM = {"opus": ("bedrock", "us.anthropic.claude-opus-4-6-v1"),
                    "sonnet": ("bedrock", "us.anthropic.claude-sonnet-4-6"),
                    "haiku": ("bedrock", QWEN)}
# The models' real output limits (LiteLLM's map): the Bedrock stand-in enforces the one of the
# model each run goes to, so an uncapped 32000 on the haiku tier gets Bedrock's 400.
OUTPUT_LIMITS = {"us.anthropic.claude-fable-5-1": 128000, "us.anthropic.claude-opus-4-6-v1": 128000,
                 "us.anthropic.claude-sonnet-4-6": 64000,
                 QWEN: 8000}


class ModelLimitsBedrock(BedrockStandin):
    """The Bedrock stand-in enforcing each model's own output limit (``OUTPUT_LIMITS``), as
    Bedrock does: maxTokens above it gets the 400 ValidationException."""

    def _converse(self, exchange, record) -> None:
        limit = OUTPUT_LIMITS.get(record["model_id"])
        body = record["json"] if isinstance(record["json"], dict) else {}
        max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
        if limit is not None and isinstance(max_tokens, int) and max_tokens > limit:
            record["reply"] = "error"
            message = f"The maximum tokens you requested exceeds the model limit of {limit}"
            self._error(exchange, 400, VALIDATION_ERROR_TYPE, message)
            return
        super()._converse(exchange, record)
CLAUDE_RUN_TIMEOUT = 240  # the first run includes the proxy's cold start


def as_text(output) -> str:
    """A TimeoutExpired's captured output (bytes even with text=True), as text."""
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


# --- a TCP tap between Claude Code and the proxy ------------------------------------------------


class Tap:
    """Relays 127.0.0.1:<port> to the proxy's port byte for byte; keeps what clients sent, one
    buffer per connection (each Claude Code run opens its own connections)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._connections: list[bytearray] = []  # client -> proxy bytes, per connection
        self._replies: list[bytearray] = []  # proxy -> client bytes, same order
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, name="tap", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            sent, replies = bytearray(), bytearray()
            with self._lock:
                self._connections.append(sent)
                self._replies.append(replies)
            threading.Thread(target=self._pump, args=(client, upstream, sent), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, replies), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bytearray | None) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if record is not None:
                    with self._lock:
                        record.extend(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
                try:
                    sock.shutdown(how)
                except OSError:
                    pass

    def mark(self) -> int:
        with self._lock:
            return len(self._connections)

    def requests_since(self, mark: int) -> list[dict]:
        """The requests sent on the connections opened since ``mark``."""
        with self._lock:
            streams = [bytes(sent) for sent in self._connections[mark:]]
        return [request for raw in streams for request in parse_requests(raw)]

    def exchanges_since(self, mark: int) -> list[tuple]:
        """(method, target, status) of every request on the connections opened since ``mark``;
        status None when the proxy sent no answer. HTTP/1.1 answers in request order."""
        with self._lock:
            pairs = [(bytes(sent), bytes(replies)) for sent, replies
                     in zip(self._connections[mark:], self._replies[mark:])]
        found = []
        for sent, replies in pairs:
            # A status line follows the previous answer's last byte directly (no separator).
            statuses = [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) [^\r\n]*\r\n", replies)]
            for index, request in enumerate(parse_requests(sent)):
                status = statuses[index] if index < len(statuses) else None
                found.append((request["method"], request["target"], status))
        return found

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def parse_requests(raw: bytes) -> list[dict]:
    """Request line, lowercase headers and body of every HTTP/1.1 request in one connection's bytes.

    JSON bodies hold no bare CRLF, so a request line plus headers up to a blank line can only be
    a request head."""
    heads = []
    pattern = rb"(GET|POST|HEAD|PUT|DELETE|OPTIONS|PATCH) (\S+) HTTP/1\.[01]\r\n(.*?)\r\n\r\n"
    for match in re.finditer(pattern, raw, re.DOTALL):
        headers: dict[str, str] = {}
        for line in match.group(3).split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = headers.get("content-length", "")
        body = raw[match.end():match.end() + int(length)] if length.isdigit() else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        heads.append({"method": match.group(1).decode(), "target": match.group(2).decode(),
                      "headers": headers, "body": body, "json": parsed})
    return heads


# --- runs of the real Claude Code through the deployed launcher ---------------------------------


@dataclass
class Run:
    label: str
    argv: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    anthropic: list  # requests the Anthropic stand-in received during the run
    bedrock: list  # requests the Bedrock stand-in received during the run
    to_proxy: list  # request heads Claude Code sent to the proxy (through the tap)
    claude_env: dict  # the environment the launcher handed to claude
    claude_args: list  # the arguments the launcher handed to claude
    proxy_pid: int | None

    @property
    def output(self) -> str:
        return f"{self.label}: exit {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"

    def upstream(self) -> list:
        return self.anthropic + self.bedrock


def messages_posts(run: Run) -> list:
    return [r for r in run.anthropic if r["method"] == "POST" and r["path"] == "/v1/messages"]


def converse_posts(run: Run) -> list:
    return [r for r in run.bedrock if r.get("operation")]


def has_bash_tool_anthropic(body: dict) -> bool:
    return any(tool.get("name") == "Bash" for tool in body.get("tools") or [])


def has_bash_tool_bedrock(body: dict) -> bool:
    tools = (body.get("toolConfig") or {}).get("tools") or []
    return any((tool.get("toolSpec") or {}).get("name") == "Bash" for tool in tools)


@dataclass
class EndToEnd:
    root: Path
    sandbox: Sandbox
    api: AnthropicStandin
    bedrock: BedrockStandin
    tap: Tap
    port: int
    claude_dir: Path
    shim_dir: Path
    env_record: Path
    data: dict
    uv_cache: str
    timings: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)
    proxy_pids: set = field(default_factory=set)
    # Home-relative paths the deploy was given (group_data's unless a test moves them).
    paths: dict = field(default_factory=lambda: {key: DEFAULTS[key] for key in PATH_KEYS})
    # Whether the user's shell carries AWS credentials (else no AWS_* variable at all).
    shell_aws: bool = True

    @property
    def home(self) -> Path:
        return self.sandbox.home

    def at(self, key: str) -> Path:
        """Where the path key ``key`` puts its file in this world's home."""
        return self.home / self.paths[key]

    @property
    def launcher(self) -> Path:
        return self.at("launcher")

    @property
    def alias(self) -> Path:
        return self.at("launcher_alias")

    def master_key(self) -> str:
        return self.at("master_key_file").read_text().strip()

    def proxy_pid(self) -> int | None:
        try:
            first = self.at("proxy_pid_file").read_text().split("\n", 1)[0].strip()
        except FileNotFoundError:
            return None
        return int(first) if first.isdigit() else None

    def env(self, *, oauth: bool) -> dict:
        """A user's shell: a short PATH (no pyenv `aws` shim that would call AWS), AWS credentials,
        nothing of this machine's Anthropic/Claude/AWS/LiteLLM settings."""
        env = {name: value for name, value in os.environ.items()
               if name not in SCRUBBED and name not in ("HOST", "PORT")
               and not name.startswith(("ANTHROPIC_", "CLAUDE_", "AWS_", "LITELLM_", "OPENCLAUDE_"))}
        env.update({
            "HOME": str(self.home),
            "PATH": os.pathsep.join([str(self.shim_dir), str(self.claude_dir), str(BIN), "/usr/bin", "/bin",
                                     str(self.alias.parent)]),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "USER": os.environ.get("USER", "tester"),
            "TMPDIR": str(self.root / "tmp"),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "OPENCLAUDE_E2E_TAP": f"http://127.0.0.1:{self.tap.port}",
            "OPENCLAUDE_E2E_ENV_RECORD": str(self.env_record),
            "UV_CACHE_DIR": self.uv_cache,
        })
        if self.shell_aws:
            env.update(AWS_ACCESS_KEY_ID=AWS_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=AWS_SECRET_KEY)
        else:
            # A laptop without AWS answers at once: no instance metadata service to ask.
            env["AWS_EC2_METADATA_DISABLED"] = "true"
        if oauth:
            env["CLAUDE_CODE_OAUTH_TOKEN"] = OAUTH_TOKEN
        return env

    def pyinfra(self, script: str, *options: str, oauth: bool, data: dict | None = None):
        self.sandbox.env = self.env(oauth=oauth)
        started = time.monotonic()
        result = self.sandbox.pyinfra(script, *options, data={**self.data, **(data or {})})
        label = f"pyinfra {script} {' '.join(options)} {data or ''}".strip()
        self.timings[f"{label} #{len(self.timings)}"] = time.monotonic() - started
        return result

    def upstream_mark(self) -> tuple:
        return len(self.api.requests.snapshot()), len(self.bedrock.requests.snapshot())

    def upstream_since(self, mark: tuple) -> tuple:
        """(Anthropic requests, Bedrock requests) received since ``mark``."""
        return self.api.requests.snapshot()[mark[0]:], self.bedrock.requests.snapshot()[mark[1]:]

    def verify_live(self, *, oauth: bool):
        """verify.py --data live=true, with what each stand-in received meanwhile."""
        mark = self.upstream_mark()
        result = self.pyinfra("verify.py", oauth=oauth, data={"live": True})
        return result, self.upstream_since(mark)

    def claude(self, label: str, *args: str, oauth: bool, env: dict | None = None,
               cwd: Path | None = None) -> Run:
        """``openclaude ARGS`` as a user would run it (``env``: more of the user's shell; ``cwd``:
        the directory it runs in, the test's project by default); records what each side
        received."""
        marks = (len(self.api.requests.snapshot()), len(self.bedrock.requests.snapshot()), self.tap.mark())
        self.env_record.unlink(missing_ok=True)
        argv = [str(self.alias), *args]
        started = time.monotonic()
        try:
            done = subprocess.run(argv, cwd=cwd or self.root / "project", env={**self.env(oauth=oauth), **(env or {})},
                                  capture_output=True, text=True, timeout=CLAUDE_RUN_TIMEOUT,
                                  stdin=subprocess.DEVNULL)
            returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as expired:
            returncode = -1
            stdout = as_text(expired.stdout)
            stderr = f"timed out after {CLAUDE_RUN_TIMEOUT}s\n{as_text(expired.stderr)}"
        seconds = time.monotonic() - started
        # Responses are complete when claude exits, but give a straggler (e.g. a retry) a moment.
        time.sleep(0.2)
        claude_env = {}
        if self.env_record.exists():
            for item in self.env_record.read_bytes().split(b"\0"):
                name, sep, value = item.decode(errors="replace").partition("=")
                if sep:
                    claude_env[name] = value
            self.env_record.unlink()
        args_record = self.env_record.with_name(self.env_record.name + ".args")
        claude_args = [item.decode(errors="replace")
                       for item in args_record.read_bytes().split(b"\0")[:-1]] if args_record.exists() else []
        args_record.unlink(missing_ok=True)
        pid = self.proxy_pid()
        if pid:
            self.proxy_pids.add(pid)
        run = Run(label, argv, returncode, stdout, stderr, seconds,
                  self.api.requests.snapshot()[marks[0]:], self.bedrock.requests.snapshot()[marks[1]:],
                  self.tap.requests_since(marks[2]), claude_env, claude_args, pid)
        self.runs.append(run)
        self.timings[f"claude {label}"] = seconds
        return run

    def dump(self, path: Path) -> None:
        """Every run with what each side received, for reading after a failure."""

        def record(entry: dict) -> dict:
            body = entry["body"].decode(errors="replace")
            parsed = entry["json"] if isinstance(entry["json"], dict) else {}
            summary = {key: value if len(json.dumps(value)) < 300 else f"<{len(json.dumps(value))} chars>"
                       for key, value in parsed.items()}
            return {**{k: v for k, v in entry.items() if k not in ("body", "json", "raw_headers")},
                    "json_summary": summary,
                    "body": body if len(body) < 4000 else body[:2000] + " ... " + body[-1000:]}

        runs = [{**{k: v for k, v in vars(run).items() if k not in ("anthropic", "bedrock", "claude_env")},
                 "anthropic": [record(r) for r in run.anthropic],
                 "bedrock": [record(r) for r in run.bedrock]} for run in self.runs]
        path.write_text(json.dumps(runs, indent=1, default=str))
        print(f"end-to-end runs recorded in {path}", file=sys.stderr)

    def stop_proxy(self) -> None:
        pid = self.proxy_pid()
        if pid:
            self.proxy_pids.add(pid)
        if self.launcher.exists():
            try:
                subprocess.run([str(self.launcher), "--stop"], env=self.env(oauth=False),
                               capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                pass  # the pids below are stopped directly
        config = str(self.at("litellm_config"))
        for pid in sorted(self.proxy_pids):
            # Only a process that is still our proxy: never a pid the system has reused.
            if alive(pid) and "litellm" in command_line(pid) and config in command_line(pid):
                os.kill(pid, signal.SIGTERM)
                if not wait_until(lambda: not alive(pid), 10):
                    os.kill(pid, signal.SIGKILL)


SHIM = """#!{python}
# Test shim for Claude Code: records the arguments the launcher gave and the environment claude
# runs with (the launcher's, with its --settings layer's env applied, as Claude Code applies it),
# routes claude through the test's TCP tap to the proxy (in that layer, which outranks the
# environment), then runs the real claude.
import json, os, sys
args = sys.argv[1:]
record = os.environ["OPENCLAUDE_E2E_ENV_RECORD"]
with open(record + ".args", "wb") as out:
    out.write(b"".join(arg.encode() + b"\\0" for arg in args))
settings = {{}}
if args[:1] == ["--settings"]:
    with open(args[1]) as layer:
        settings = json.load(layer)
effective = {{**os.environ, **settings.get("env", {{}})}}
with open(record, "wb") as out:
    out.write(b"\\0".join(f"{{k}}={{v}}".encode() for k, v in effective.items()))
os.environ["ANTHROPIC_BASE_URL"] = os.environ["OPENCLAUDE_E2E_TAP"]
if settings:
    settings.setdefault("env", {{}})["ANTHROPIC_BASE_URL"] = os.environ["OPENCLAUDE_E2E_TAP"]
    tapped = record + ".layer.json"
    with open(tapped, "w") as layer:
        json.dump(settings, layer)
    args[1] = tapped
os.execv({claude!r}, [{claude!r}, *args])
"""


def write_shim(root: Path, claude_cli: Path) -> None:
    shim = root / "shim" / "claude"
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(SHIM.format(python=sys.executable, claude=str(claude_cli / "claude")))
    shim.chmod(0o755)


@contextmanager
def standin_world(tmp_path_factory, uv_cache, claude_cli: Path, *, name: str = "e2e",
                  data: dict | None = None, paths: dict | None = None, shell_aws: bool = True,
                  home_files: dict | None = None, bedrock_keys: dict | None = None):
    """An EndToEnd: stand-ins, a tap, a sandbox HOME deployed with deploy.py (the real LiteLLM
    release, the result in ``world.deployed``); on exit its runs go to ``<root>/<name>-runs.json``
    and the proxy, the tap and the stand-ins are stopped.

    ``data``: more deploy data; ``paths``: path keys given to the deploy; ``shell_aws``: whether
    the user's shell carries AWS credentials; ``home_files``: the user's files before the deploy
    (home-relative path -> text); ``bedrock_keys``: more access keys (key -> secret) Bedrock takes.
    The Bedrock stand-in enforces each model's output limit, as Bedrock does.
    """
    module_started = time.monotonic()
    root = tmp_path_factory.mktemp(name)
    home = root / "home"
    for directory in (home, root / "project", root / "tmp"):
        directory.mkdir()
    # A developer's ~/.env is no setting of the proxy: LiteLLM would load it (it looks above its
    # install) and refuse to boot without the database this names.
    files = {".env": "DATABASE_URL=postgresql://openclaude:e2e@127.0.0.1:9/none\n", **(home_files or {})}
    for relative, text in files.items():
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_text(text)
    write_shim(root, claude_cli)

    api = AnthropicStandin(reply_text=ANTHROPIC_REPLY).start()
    api.tool_call_filter = has_bash_tool_anthropic
    bedrock = ModelLimitsBedrock(AWS_ACCESS_KEY, AWS_SECRET_KEY, AWS_REGION, reply_text=BEDROCK_REPLY).start()
    bedrock.tool_call_filter = has_bash_tool_bedrock
    bedrock.keys.update({key: (secret, None) for key, secret in (bedrock_keys or {}).items()})
    port = free_port()
    tap = Tap(port)
    # No litellm_release/litellm_fork overrides: the deploy installs group_data's pinned release.
    data = {"litellm_source": "release", "litellm_port": port, "anthropic_api_base": api.url,
            "bedrock_runtime_endpoint": bedrock.url, "aws_region": AWS_REGION, **(paths or {}),
            **(data or {})}
    sandbox = Sandbox(home=home, env={"UV_CACHE_DIR": str(uv_cache)}, sources={}, data={})
    world = EndToEnd(root, sandbox, api, bedrock, tap, port, claude_cli, root / "shim",
                     root / "claude-env", data, str(uv_cache), shell_aws=shell_aws)
    world.paths.update(paths or {})
    try:
        world.deployed = world.pyinfra("deploy.py", oauth=False)
        assert world.deployed.returncode == 0, world.deployed.output
        yield world
    finally:
        world.timings["module total"] = time.monotonic() - module_started
        report = "\n".join(f"  {seconds:6.1f}s  {label}" for label, seconds in world.timings.items())
        print(f"\nend-to-end timings:\n{report}", file=sys.stderr)
        world.dump(root / f"{name}-runs.json")
        world.stop_proxy()
        tap.close()
        api.stop()
        bedrock.stop()


# ``e2e``'s tiers are pinned to the ids tests/test_end_to_end.py checks (a pinned slot's route);
# what Claude Code itself asks for is tests/test_models_end_to_end.py's.
PINNED = {"opus_model_name": OAUTH_UPSTREAM["opus"][1], "sonnet_model_name": OAUTH_UPSTREAM["sonnet"][1]}


@pytest.fixture(scope="module")
def e2e(tmp_path_factory, uv_cache, claude_cli):
    with standin_world(tmp_path_factory, uv_cache, claude_cli, data=PINNED) as world:
        yield world


def headers_and_body(record: dict) -> bytes:
    return b"\n".join(f"{name}: {value}".encode() for name, value in record["raw_headers"]) + b"\n" + record["body"]
