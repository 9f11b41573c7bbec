"""LiteLLM's cold boot as a user meets it at the first launch after a deploy: the launcher
starting the proxy, until it hands over to claude (the fake of tests/fakes, which exits at once).

deploy.py on @local puts the real ``litellm[proxy]`` release (group_data) into a sandbox HOME,
with the config and launcher; a second launcher differs only in its LiteLLM, installed the way
a plain ``uv tool install`` leaves it (no bytecode). Runs alternate between the two, each from
a stopped proxy, with ``PYTHONDONTWRITEBYTECODE=1`` (set on these machines and in many shells:
the plain install then recompiles LiteLLM at every boot, as it does at the first one anywhere).
Goal: ours at most 0.45 of plain. Needs the package registry (or a warm uv cache).

Also the first launch after ``openclaude --start`` (what the login agent runs at login) against
the cold launch, and the idle proxy's resident memory (its process tree, after the launches).
"""

from __future__ import annotations

import os
import runpy
import subprocess
import tempfile
import time
from pathlib import Path

from toolkit import REPO, alternate, figure, launch, ratio, run_pyinfra, spread

from operations.model.data import load_data
from operations.model.launcher_renderer import render_launcher
from operations.model.render import launcher_values
from tests.support.processes import free_port
from tests.support.runs import BIN
from tests.support.sandbox import sandbox_env

GOAL = 0.45
START_GOAL = 0.05
# Seconds the proxy sits idle after a launch before its memory is read.
IDLE_SECONDS = 10
FAKES = REPO / "tests" / "fakes"


def proxy_pid(pid_file: Path) -> int:
    return int(pid_file.read_text().split("\n", 1)[0])


def tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and its descendants, in KiB (ps, as on macOS too)."""
    table = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,rss="], capture_output=True,
                           text=True, check=True).stdout.split("\n")
    rows = [tuple(int(field) for field in line.split()) for line in table if line.strip()]
    tree, total, grew = {root}, 0, True
    while grew:
        grew = False
        for pid, parent, _ in rows:
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    for pid, _, rss in rows:
        if pid in tree:
            total += rss
    return total


def measure(settings: dict) -> list[dict]:
    uv_cache = Path(os.environ.get("UV_CACHE_DIR") or Path.home() / ".cache" / "uv")
    with tempfile.TemporaryDirectory(prefix="openclaude-bench-boot-") as directory:
        root = Path(directory)
        home = root / "home"
        home.mkdir()
        env = sandbox_env(home, uv_cache)
        env.update(PYTHONDONTWRITEBYTECODE="1", FAKE_RECORD_DIR=str(root / "records"),
                   PATH=f"{FAKES}{os.pathsep}{env['PATH']}",
                   # The launcher resolves the proxy's AWS identity; no request is made with it.
                   AWS_ACCESS_KEY_ID="AKIAOPENCLAUDEBENCH01", AWS_SECRET_ACCESS_KEY="bench" * 8,
                   AWS_EC2_METADATA_DISABLED="true")
        (root / "records").mkdir()
        group_data = {key: value for key, value in runpy.run_path(
            str(REPO / "group_data" / "all.py")).items() if not key.startswith("_")}
        group_data["litellm_port"] = free_port()
        data = load_data(group_data, "oauth")
        run_pyinfra("@local", "deploy.py", env=env, data={"litellm_port": data.port})
        plain = root / "plain"
        subprocess.run([str(BIN / "uv"), "tool", "install", "--no-progress",
                        data.litellm_requirement], check=True, capture_output=True,
                       env={**env, "UV_TOOL_DIR": str(plain / "tools"),
                            "UV_TOOL_BIN_DIR": str(plain / "bin")})
        launchers = {}
        for name, tools, bin_dir in (
                ("ours", home / ".local/share/uv/tools", home / ".local/bin"),
                ("plain", plain / "tools", plain / "bin")):
            launchers[name] = root / f"openClaude-{name}"
            launchers[name].write_text(render_launcher(
                launcher_values(data, str(home), str(tools), str(bin_dir))))
            launchers[name].chmod(0o755)

        def cold_start(name: str):
            def run() -> float:
                launch(launchers[name], env, "--stop")
                return launch(launchers[name], env, "-p", "hi")
            return run

        def after_start() -> float:
            launch(launchers["ours"], env, "--stop")
            launch(launchers["ours"], env, "--start")
            return launch(launchers["ours"], env, "-p", "hi")

        try:
            runs = alternate(settings["boot_runs"],
                             {**{name: cold_start(name) for name in launchers},
                              "after_start": after_start})
            after_start()
            time.sleep(IDLE_SECONDS)
            idle_mb = tree_rss_kb(proxy_pid(home / data.paths["proxy_pid_file"])) / 1024
        finally:
            launch(launchers["ours"], env, "--stop")
    return [
        figure("first launch after openclaude --start / cold launch",
               ratio(runs["after_start"], runs["ours"], of_medians=True), "x", START_GOAL,
               f"{spread(runs['after_start'])['median']:.3f}s vs "
               f"{spread(runs['ours'])['median']:.1f}s"),
        figure("idle proxy resident memory, MB", idle_mb, "",
               note=f"process tree, {IDLE_SECONDS}s after a launch, before any model request; "
                    f"{data.litellm_requirement}"),
        figure("LiteLLM cold start to claude, ours / plain install",
               ratio(runs["ours"], runs["plain"], of_medians=True), "x", GOAL,
               f"{spread(runs['ours'])['median']:.1f}s vs {spread(runs['plain'])['median']:.1f}s;"
               f" {data.litellm_requirement}"),
        figure("LiteLLM cold start to claude, ours", spread(runs["ours"]), "s"),
        figure("LiteLLM cold start to claude, plain install", spread(runs["plain"]), "s"),
    ]
