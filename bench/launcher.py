"""Benchmark the openClaude launcher against the stand-ins in tests/fakes (not a test).

    python bench/launcher.py [--runs N] [--boot-delay SECONDS] [--json PATH]

Warm start: a launch that reuses the healthy proxy, from invocation until the fake
`claude` starts (it records a timestamp first thing), and the launch's whole wall time.
Cold start overhead: the wall time of a launch that starts the proxy, minus the fake
proxy's boot delay (FAKE_LITELLM_BOOT_DELAY, counted from the fake's own start).
Goals: warm < 0.3 s, cold overhead < 0.5 s. Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from operations.launcher import render_launcher  # noqa: E402
from tests.fake_launcher import fake_home  # noqa: E402

GOALS = {"warm_to_claude": 0.3, "warm_wall": 0.3, "cold_overhead": 0.5}
LABELS = {
    "warm_to_claude": "warm start, launch to claude",
    "warm_wall": "warm start, whole launch",
    "cold_overhead": "cold start overhead",
}


def make_launcher(root: Path) -> tuple[Path, dict]:
    """A rendered launcher in a temporary home, and the environment to run it with."""
    values, env = fake_home(root / "home", root / "records", config="model_list: []\n",
                            master_key="sk-openclaude-bench", health_timeout=30)
    launcher = root / "openClaude"
    launcher.write_text(render_launcher(values))
    launcher.chmod(0o755)
    return launcher, env


def launch(launcher: Path, env: dict, *args: str) -> float:
    """Run the launcher; its wall time in seconds."""
    started = time.perf_counter()
    result = subprocess.run([str(launcher), *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"launcher failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def latest_claude_start(records: Path) -> float:
    found = [json.loads(path.read_text())["time"] for path in records.glob("claude-*.json")]
    return max(found)


def measure(runs: int, boot_delay: float) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in GOALS}
    with tempfile.TemporaryDirectory(prefix="openclaude-bench-") as directory:
        root = Path(directory)
        launcher, env = make_launcher(root)
        try:
            cold_env = {**env, "FAKE_LITELLM_BOOT_DELAY": str(boot_delay)}
            for _ in range(runs):
                launch(launcher, env, "--stop")
                samples["cold_overhead"].append(launch(launcher, cold_env) - boot_delay)
            for _ in range(runs):
                invoked = time.time()
                samples["warm_wall"].append(launch(launcher, env))
                samples["warm_to_claude"].append(latest_claude_start(root / "records") - invoked)
        finally:
            launch(launcher, env, "--stop")
    return samples


def summarize(samples: dict[str, list[float]]) -> dict:
    return {
        name: {
            "label": LABELS[name],
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "goal": GOALS[name],
            "met": statistics.median(values) < GOALS[name],
            "samples": values,
        }
        for name, values in samples.items()
    }


def print_table(results: dict, runs: int, boot_delay: float) -> None:
    print(f"openClaude launcher, {runs} runs each, fake proxy boot delay {boot_delay:.1f} s")
    print(f"{'metric':<32}{'median':>9}{'min':>9}{'max':>9}{'goal':>9}  met")
    for result in results.values():
        print(
            f"{result['label']:<32}{result['median']:>8.3f}s{result['min']:>8.3f}s"
            f"{result['max']:>8.3f}s{'<' + format(result['goal'], '.1f'):>8}s  "
            f"{'yes' if result['met'] else 'NO'}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (default 7)")
    parser.add_argument("--boot-delay", type=float, default=1.0, help="fake proxy boot delay, s")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()

    results = summarize(measure(args.runs, args.boot_delay))
    print_table(results, args.runs, args.boot_delay)
    if args.json:
        report = {
            "benchmark": "launcher",
            "runs": args.runs,
            "boot_delay": args.boot_delay,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "results": results,
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if all(result["met"] for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
