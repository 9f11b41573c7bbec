"""The openClaude launcher against the fake proxy and claude of tests/fakes:

* warm start (a healthy proxy reused): from invocation until the fake ``claude`` starts (it
  records a timestamp first thing), and the launch's whole wall time; goals < 0.3 s;
* cold start overhead: a launch that starts the proxy, minus the fake proxy's boot delay
  (``FAKE_LITELLM_BOOT_DELAY``, counted from the fake's own start); goal < 0.5 s;
* ``openclaude --usage --since`` over a month of a heavy user's records; goal < 0.3 s; and what
  the proxy's callback spends recording one request (format + append); goal < 1 ms.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from toolkit import figure, launch, spread

from operations.model.launcher_renderer import render_launcher
from tests.fake_launcher import fake_home

BOOT_DELAY = 1.0
# A heavy user: 3000 upstream requests a day for 30 days, all tiers, some errors.
USAGE_DAYS, USAGE_PER_DAY = 30, 3000


def write_heavy_usage(config_dir: Path) -> int:
    """A month of a heavy user's records beside the config, through the recorder's own
    ``append`` (rotated as in use); the number of records."""
    from files import openclaude_usage as usage

    path, now, total = str(config_dir / "usage.tsv"), time.time(), USAGE_DAYS * USAGE_PER_DAY
    upstreams = (("claude-opus-4-6", "anthropic/claude-opus-4-6", None),
                 ("claude-sonnet-4-6", "anthropic/claude-sonnet-4-6", None),
                 ("qwen-3-coder", "bedrock/converse/qwen.qwen3-next-80b-a3b", 0.0012))
    for index in range(total):
        group, upstream, cost = upstreams[index % 3]
        failed = index % 50 == 0
        usage.append(path, usage.usage_line({
            "time": now - USAGE_DAYS * 86400 * (1 - index / total), "group": group,
            "upstream": upstream, "status": 429 if failed else 200,
            "error": "rate_limit" if failed else None, "input": 18000 + index % 997,
            "output": 400 + index % 89, "latency_ms": 900 + index % 400, "cost": cost}))
    return total


def measure_usage(launcher: Path, env: dict, config_dir: Path, runs: int) -> list[dict]:
    """``openclaude --usage --since`` over a month of records, and one record's cost."""
    from files import openclaude_usage as usage

    records = write_heavy_usage(config_dir)
    since = time.strftime("%Y-%m-%d", time.localtime(time.time() - USAGE_DAYS * 86400))
    month = [launch(launcher, env, "--usage", "--since", since) for _ in range(runs)]
    scratch, per_record = str(config_dir / "usage-bench.tsv"), []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(1000):
            usage.append(scratch, usage.usage_line({"time": time.time(), "group": "g",
                                                    "upstream": "u", "status": 200}))
        per_record.append((time.perf_counter() - started) / 1000 * 1e6)
    return [
        figure("openclaude --usage, a month of records", spread(month), "s", 0.3,
               f"{records} records"),
        figure("usage record per request, microseconds", spread(per_record), "", 1000,
               "LiteLLM runs it after the answer is sent"),
    ]


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
            usage_figures = measure_usage(launcher, env, root / "home" / ".litellm", runs)
        finally:
            launch(launcher, env, "--stop")
    return [
        figure("launcher warm start, launch to claude", spread(samples["warm_to_claude"]), "s",
               0.3),
        figure("launcher warm start, whole launch", spread(samples["warm_wall"]), "s", 0.3),
        figure("launcher cold start overhead", spread(samples["cold"]), "s", 0.5,
               f"fake proxy boot {BOOT_DELAY:.1f}s"),
        *usage_figures,
    ]
