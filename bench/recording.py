"""What the usage record costs a request on LiteLLM's own route, beside the proxy's own latency:
the real LiteLLM release deploy.py installs, started twice on loopback with the deployed config
less the pass-through (which records its own requests; bench/passthrough.py measures it), once
with and once without the usage callback, both in front of the Anthropic stand-in.
Requests (an opus message, as Claude Code sends it) alternate between the two; the figure is
the ratio of their times per pair. Goal: at most x1.05 (no measurable latency). Needs the
package registry (or a warm uv cache).
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from toolkit import REPO, alternate, figure, ratio, run_pyinfra, spread

from operations.model.data import load_data
from operations.model.layout import BY_ROLE
from operations.model.render import (
    CALLBACKS_MODULE,
    MASTER_KEY_ENV,
    PASSTHROUGH_MODULE,
    config_text,
    proxy_environment,
)
from tests.standins.anthropic import AnthropicStandin
from tests.support.processes import alive, free_port
from tests.support.sandbox import sandbox_env

GOAL = 1.05
REQUESTS_PER_RUN = 20


def start_proxy(litellm: Path, config: Path, port: int, env: dict) -> subprocess.Popen:
    log = open(config.with_name("proxy.log"), "w")  # noqa: SIM115 - closed with the process
    # As the launcher starts it: for the modules beside the config.
    env = {**env, **proxy_environment(str(config.parent))}
    proxy = subprocess.Popen([str(litellm), "--config", str(config), "--host", "127.0.0.1",
                              "--port", str(port)], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/liveliness", timeout=2)
            return proxy
        except OSError:
            if proxy.poll() is not None:
                raise SystemExit(f"the proxy for {config} exited; see {log.name}") from None
            time.sleep(0.2)
    raise SystemExit(f"the proxy for {config} did not become healthy; see {log.name}")


def stop_proxy(proxy: subprocess.Popen) -> None:
    if alive(proxy.pid):
        proxy.send_signal(signal.SIGTERM)
        try:
            proxy.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait(timeout=10)


def requests(port: int, master_key: str):
    """A function timing REQUESTS_PER_RUN opus messages through the proxy on ``port``."""
    body = json.dumps({"model": "claude-opus-4-6", "max_tokens": 64, "stream": False,
                       "messages": [{"role": "user", "content": "say hi"}]}).encode()
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01",
               "anthropic-beta": "oauth-2025-04-20", "x-app": "cli",
               "authorization": "Bearer sk-ant-oat01-bench", "x-litellm-api-key": f"Bearer {master_key}"}

    def run() -> float:
        started = time.perf_counter()
        for _ in range(REQUESTS_PER_RUN):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/messages", data=body,
                                             headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=60) as reply:
                reply.read()
        return (time.perf_counter() - started) / REQUESTS_PER_RUN
    return run


@dataclass
class DeployedProxy:
    """A sandbox home deployed in the OAuth state in front of the Anthropic stand-in, and what
    starting its LiteLLM by hand needs (the launcher's environment, the master key)."""

    root: Path
    data: object
    api: AnthropicStandin
    config: Path  # the deployed config, with the files beside it
    litellm: Path
    master_key: str
    proxy_env: dict

    def config_copy(self, name: str, left_out=()) -> Path:
        """The deployed config directory copied to ``name``, its config less the pass-through
        and the ``left_out`` callbacks; the copy's config path."""
        directory = self.root / name
        shutil.copytree(self.config.parent, directory, ignore=shutil.ignore_patterns("*.log", "*.pid"))
        config = yaml.safe_load(config_text(self.data))
        config["litellm_settings"]["callbacks"] = [
            callback for callback in config["litellm_settings"]["callbacks"]
            if callback not in left_out and not callback.startswith(f"{PASSTHROUGH_MODULE}.")]
        (directory / self.config.name).write_text(yaml.safe_dump(config, sort_keys=False))
        return directory / self.config.name

    @contextmanager
    def proxies(self, configs: dict[str, Path]):
        """This home's LiteLLM started once per config (name -> config path), each on a port of
        its own; yields name -> port, stops them all on exit."""
        ports = {name: free_port() for name in configs}
        started = []
        try:
            for name, config in configs.items():
                started.append(start_proxy(self.litellm, config, ports[name], self.proxy_env))
            yield ports
        finally:
            for proxy in started:
                stop_proxy(proxy)


@contextmanager
def deployed_proxy(prefix: str):
    """deploy.py into a temporary home whose Anthropic tiers go to a fresh stand-in."""
    uv_cache = Path(os.environ.get("UV_CACHE_DIR") or Path.home() / ".cache" / "uv")
    with tempfile.TemporaryDirectory(prefix=prefix) as directory, AnthropicStandin() as api:
        root = Path(directory)
        home = root / "home"
        home.mkdir()
        env = sandbox_env(home, uv_cache)
        group_data = {key: value for key, value in runpy.run_path(
            str(REPO / "group_data" / "all.py")).items() if not key.startswith("_")}
        group_data.update(litellm_port=free_port(), anthropic_api_base=api.url)
        data = load_data(group_data, "oauth")
        run_pyinfra("@local", "deploy.py", env=env,
                    data={"litellm_port": data.port, "anthropic_api_base": api.url})
        master_key = (home / group_data["master_key_file"]).read_text().strip()
        proxy_env = {**env, MASTER_KEY_ENV: master_key}
        yield DeployedProxy(root, data, api, home / group_data["litellm_config"],
                            home / ".local/bin/litellm", master_key, proxy_env)


def measure(settings: dict) -> list[dict]:
    with deployed_proxy("openclaude-bench-recording-") as world:
        configs = {"with": world.config_copy("with"),
                   "without": world.config_copy("without", (f"{CALLBACKS_MODULE}.usage_record",))}
        with world.proxies(configs) as ports:
            timers = {name: requests(port, world.master_key) for name, port in ports.items()}
            runs = alternate(settings["runs"], timers, warm_up=True)
        recorded = len(configs["with"].with_name(BY_ROLE["usage_record"].name).read_text().splitlines())
    per_request = {name: spread(values)["median"] * 1000 for name, values in runs.items()}
    return [
        figure("request through the proxy, with / without the usage record",
               ratio(runs["with"], runs["without"]), "x", GOAL,
               f"{per_request['with']:.1f} ms vs {per_request['without']:.1f} ms a request; "
               f"{recorded} recorded"),
    ]
