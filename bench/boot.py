"""LiteLLM's cold boot as a user meets it at the first launch after a deploy: the launcher
starting the proxy, until it hands over to claude (the fake of tests/fakes, which exits at once).

deploy.py on @local puts the real ``litellm[proxy]`` release (group_data) into a sandbox HOME,
with the config and launcher; a second launcher differs only in its LiteLLM, installed the way
a plain ``uv tool install`` leaves it (no bytecode). Runs alternate between the two, each from
a stopped proxy, with ``PYTHONDONTWRITEBYTECODE=1`` (set on these machines and in many shells:
the plain install then recompiles LiteLLM at every boot, as it does at the first one anywhere).
Goal: ours at most 0.45 of plain. Needs the package registry (or a warm uv cache).
"""

from __future__ import annotations

import os
import runpy
import subprocess
import tempfile
from pathlib import Path

from toolkit import REPO, alternate, figure, launch, ratio, run_pyinfra, spread

from operations.model.data import load_data
from operations.model.launcher_renderer import render_launcher
from operations.model.render import launcher_values
from tests.support.processes import free_port
from tests.support.runs import BIN
from tests.support.sandbox import sandbox_env

GOAL = 0.45
FAKES = REPO / "tests" / "fakes"


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

        try:
            runs = alternate(settings["boot_runs"],
                             {name: cold_start(name) for name in launchers})
        finally:
            launch(launchers["ours"], env, "--stop")
    return [
        figure("LiteLLM cold start to claude, ours / plain install",
               ratio(runs["ours"], runs["plain"], of_medians=True), "x", GOAL,
               f"{spread(runs['ours'])['median']:.1f}s vs {spread(runs['plain'])['median']:.1f}s;"
               f" {data.litellm_requirement}"),
        figure("LiteLLM cold start to claude, ours", spread(runs["ours"]), "s"),
        figure("LiteLLM cold start to claude, plain install", spread(runs["plain"]), "s"),
    ]
