"""The openClaude launcher against the fake proxy and claude of tests/fakes:

* warm start (a healthy proxy reused): from invocation until the fake ``claude`` starts (it
  records a timestamp first thing), and the launch's whole wall time; goals < 0.3 s;
* cold start overhead: a launch that starts the proxy, minus the fake proxy's boot delay
  (``FAKE_LITELLM_BOOT_DELAY``, counted from the fake's own start); goal < 0.5 s.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from toolkit import figure, spread

from operations.launcher import render_launcher
from tests.fake_launcher import fake_home

BOOT_DELAY = 1.0


def launch(launcher: Path, env: dict, *args: str) -> float:
    """Run the launcher; its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run([str(launcher), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"launcher failed ({done.returncode}):\n{done.stderr}")
    return time.perf_counter() - started


def measure(settings: dict) -> list[dict]:
    runs = settings["launcher_runs"]
    samples: dict[str, list[float]] = {"warm_to_claude": [], "warm_wall": [], "cold": []}
    with tempfile.TemporaryDirectory(prefix="openclaude-bench-") as directory:
        root = Path(directory)
        values, env = fake_home(root / "home", root / "records", config="model_list: []\n",
                                master_key="sk-openclaude-bench", health_timeout=30)
        launcher = root / "openClaude"
        launcher.write_text(render_launcher(values))
        launcher.chmod(0o755)
        try:
            for _ in range(runs):
                launch(launcher, env, "--stop")
                samples["cold"].append(
                    launch(launcher, {**env, "FAKE_LITELLM_BOOT_DELAY": str(BOOT_DELAY)})
                    - BOOT_DELAY)
            for _ in range(runs):
                invoked = time.time()
                samples["warm_wall"].append(launch(launcher, env))
                claude_started = max(json.loads(path.read_text())["time"]
                                     for path in (root / "records").glob("claude-*.json"))
                samples["warm_to_claude"].append(claude_started - invoked)
        finally:
            launch(launcher, env, "--stop")
    return [
        figure("launcher warm start, launch to claude", spread(samples["warm_to_claude"]), "s",
               0.3),
        figure("launcher warm start, whole launch", spread(samples["warm_wall"]), "s", 0.3),
        figure("launcher cold start overhead", spread(samples["cold"]), "s", 0.5,
               f"fake proxy boot {BOOT_DELAY:.1f}s"),
    ]
