"""The benchmarks' shared pieces: spread of timings, alternating runs, the pyinfra runner, and
figures with their table, JSON and chart. Each benchmark is a module with ``measure(settings)``
returning its figures (``figure()`` rows); ``bench/run.py`` runs them all."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # after bench/: its deploy.py is not the repository's

from tests.support.runs import grand_total, pyinfra_command, scrubbed_environment  # noqa: E402

# What a user's ~/.claude/settings.json holds in the benchmark's homes: the deploy reads it
# (unprinted) on every run, converged or not.
USER_SETTINGS = {"permissions": {"allow": ["Bash(git status)"]}, "env": {"AWS_REGION": "us-west-2"}}

# Logs each command pyinfra runs (its text and exit status, NUL-separated), then runs it with
# sh as pyinfra would: given to pyinfra as --shell-executable.
COMMAND_LOGGER = """#!/bin/sh
/bin/sh "$@"
rc=$?
printf '%s\\t%s\\0' "$rc" "$2" >> "$OPENCLAUDE_BENCH_LOG"
exit $rc
"""


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


def ratio(numerators: list[float], denominators: list[float], of_medians: bool = False) -> dict:
    """The spread of per-pair ratios (runs of one round against each other); with
    ``of_medians`` its median is the ratio of the two medians (robust to one slow run)."""
    found = spread([a / b for a, b in zip(numerators, denominators)])
    if of_medians:
        found["median"] = statistics.median(numerators) / statistics.median(denominators)
    return found


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def alternate(runs: int, measurements: dict[str, Callable[[], float]], *,
              warm_up: bool = False) -> dict[str, list]:
    """Each measurement once per round, the order reversed every other round, so drift in the
    machine's load (it is shared) hits all of them alike. ``warm_up``: each is run once first,
    uncounted (a server's first-request imports and connections)."""
    if warm_up:
        for measurement in measurements.values():
            measurement()
    found: dict[str, list] = {name: [] for name in measurements}
    for round_ in range(runs):
        names = list(measurements) if round_ % 2 == 0 else list(reversed(measurements))
        for name in names:
            found[name].append(measurements[name]())
    return found


def cpu_busy_seconds() -> float:
    """CPU time this machine spent busy, all CPUs together (fleet "hosts" share them)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def run_pyinfra(inventory: str, script: str | Path, *options: str, env: dict | None = None,
                data: dict | None = None, log_commands: bool = False) -> dict:
    """``pyinfra INVENTORY SCRIPT -y --json`` from the repository root: wall and CPU seconds
    (pyinfra's own and the whole machine's), the totals, and with ``log_commands`` every
    command it ran on the targets. A failed run stops the benchmark."""
    shell: tuple = ()
    if env is None:
        env = scrubbed_environment()
    with tempfile.TemporaryDirectory(prefix="openclaude-bench-run-") as directory:
        log = Path(directory) / "commands"
        if log_commands:
            logger = Path(directory) / "logging-sh"
            logger.write_text(COMMAND_LOGGER)
            logger.chmod(0o755)
            env = {**env, "OPENCLAUDE_BENCH_LOG": str(log)}
            shell = ("--shell-executable", str(logger))
        argv = pyinfra_command(inventory, str(script), *options, data=data, options=shell)
        controller = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy, started = cpu_busy_seconds(), time.perf_counter()
        done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        seconds, busy = time.perf_counter() - started, cpu_busy_seconds() - busy
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        commands = [record.decode("utf-8", "replace").split("\t", 1)
                    for record in (log.read_bytes() if log.exists() else b"").split(b"\0")
                    if record]
    totals = grand_total(done.stdout)
    if done.returncode != 0 or not totals:
        raise SystemExit(f"pyinfra {inventory} {script} failed ({done.returncode}):\n"
                         f"{done.stderr[-4000:]}")
    return {"seconds": seconds, "cpu_busy_s": busy, "totals": totals,
            "controller_cpu_s": (after.ru_utime - controller.ru_utime)
            + (after.ru_stime - controller.ru_stime),
            "commands": [{"exit": int(rc), "command": text} for rc, text in commands]}


def launch(launcher: Path, env: dict, *args: str) -> float:
    """Run the launcher; its wall time in seconds. A failed run stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run([str(launcher), *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{launcher} {' '.join(args)} failed ({done.returncode}):\n"
                         f"{done.stderr[-3000:]}")
    return time.perf_counter() - started


def converged(run: dict, hosts: int = 1) -> dict:
    """``run`` itself, after checking it changed nothing on each of ``hosts``."""
    totals = run["totals"]
    if totals["changed"] or totals["errors"] or len(totals["per_host"]) != hosts:
        raise SystemExit(f"a converged re-run of {hosts} host(s) changed something: {totals}")
    return run


# --- figures ----------------------------------------------------------------------------


def figure(label: str, values: dict | float, unit: str, goal: float | None = None,
           note: str = "") -> dict:
    """One row of the summary (lower is better): median, min and max against a goal, if any.
    ``unit``: "s", "x" (a ratio) or "" (a count)."""
    if not isinstance(values, dict):
        values = {"median": values, "min": values, "max": values}
    return {"label": label, "median": values["median"], "min": values["min"],
            "max": values["max"], "unit": unit, "goal": goal,
            "met": None if goal is None else values["median"] <= goal, "note": note}


def formatted(value: float, unit: str) -> str:
    if unit == "":
        return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return {"s": f"{value:.3f}s", "x": f"x{value:.2f}"}[unit]


def print_figures(rows: list[dict], title: str) -> None:
    print(f"\n{title}")
    print(f"{'figure':<52}{'median':>9}{'min':>9}{'max':>9}{'goal':>9}  {'met':<4} note")
    for row in rows:
        goal = "-" if row["goal"] is None else "<=" + formatted(row["goal"], row["unit"])
        met = {None: "-", True: "yes", False: "NO"}[row["met"]]
        print(f"{row['label']:<52}" + "".join(f"{formatted(row[k], row['unit']):>9}"
                                              for k in ("median", "min", "max"))
              + f"{goal:>9}  {met:<4} {row['note']}")


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def draw_chart(rows: list[dict], meta: dict, path: Path) -> None:
    """Every figure with a goal as a bar of figure / goal (1 is the goal; lower is better)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [row for row in rows if row["goal"]]
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(bars)), 4.8), dpi=110)
    medians = [row["median"] / row["goal"] for row in bars]
    errors = [[(row["median"] - row["min"]) / row["goal"] for row in bars],
              [(row["max"] - row["median"]) / row["goal"] for row in bars]]
    ax.bar(range(len(bars)), medians, width=0.6, yerr=errors, capsize=4,
           color=["#4c9a2a" if row["met"] else "#c0392b" for row in bars])
    ax.axhline(1.0, color="#222", linestyle="dashed", linewidth=1.2, label="goal")
    for i, row in enumerate(bars):
        ax.annotate(formatted(row["median"], row["unit"]), (i, row["max"] / row["goal"]),
                    ha="center", textcoords="offset points", xytext=(0, 4), fontsize=8)
    ax.set_xticks(range(len(bars)))
    ax.set_xticklabels([textwrap.fill(row["label"], 16) for row in bars], fontsize=7)
    ax.set_ylabel("figure / its goal (lower is better)")
    ax.set_title(f"openClaude benchmarks: median, min-max\n{meta['date']}, {meta['cpus']} CPUs, "
                 f"1-min load {meta['load_before'][0]} before, {meta['load_after'][0]} after, "
                 f"{meta['mode']} run", fontsize=9)
    ax.set_ylim(0, max([1.1] + [row["max"] / row["goal"] for row in bars]) * 1.15)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
