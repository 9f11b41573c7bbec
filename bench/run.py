"""All of openClaude's benchmarks in one run: a table of ratios against their goals (not a test).

    python bench/run.py [--quick] [--json bench/results/bench.json] [--chart bench/ratios.png]
                        [--baseline EARLIER.json] [--skip deploy,fleet,launcher]
    python bench/run.py --replot bench/results/bench.json --chart bench/ratios.png

1. Converged re-run of deploy.py on @local versus the floor pyinfra sets (one no-op operation
   reading one fact), goal <= 1.5x                                          (bench/deploy.py)
2. Commands executed on the target during a converged re-run: as few as facts need (1), no
   litellm invocation, no network                                           (bench/deploy.py)
3. Fleet scaling over the SSH fixture, 8 hosts versus 1: first converge (bench/fleet.py, a
   fleet per size, repeated) and converged re-run (a 1-host and an 8-host fleet up at once,
   re-runs alternating), goal <= 1.5x (needs root and /usr/sbin/sshd, else skipped)
4. Launcher warm start (proxy reused) < 0.3 s and cold-start overhead above the proxy's own
   boot < 0.5 s                                                             (bench/launcher.py)
5. First converge of a fresh HOME (warm uv cache), per operation            (bench/deploy.py)

Each figure is the median of several runs with min and max; runs alternate where two things are
compared. The machine's load average is printed (other work skews timings; on 2 CPUs a busy
neighbour is visible). Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import deploy as deploy_bench  # noqa: E402  (bench/deploy.py)
import launcher as launcher_bench  # noqa: E402  (bench/launcher.py)
from tests.conftest import REPO, SCRUBBED, grand_total  # noqa: E402
from tests.litellm_sources import make_sources  # noqa: E402

# bench/fleet.py and tests/sshfleet.py, imported when the fleet section runs (import_fleet).
fleet_bench = None
SSHFleet = None

FULL = {"reruns": 7, "first_runs": 3, "fleet_repeats": 3, "fleet_reruns": 5,
        "fleet_connects": 3, "fleet_paired": 7, "launcher_runs": 7}
QUICK = {"reruns": 3, "first_runs": 1, "fleet_repeats": 1, "fleet_reruns": 3,
         "fleet_connects": 1, "fleet_paired": 3, "launcher_runs": 3}
SECTIONS = ("deploy", "fleet", "launcher")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def spread(values: list[float]) -> dict:
    return deploy_bench.spread(values)


def figure(label: str, values: dict, goal: float, unit: str, ratio_goal: float | None = None,
           ratio: dict | None = None, note: str = "") -> dict:
    """One row of the summary: median, min, max against a goal (lower is better).

    ``ratio`` is the figure as a ratio for the chart (itself, or divided by its goal)."""
    if ratio is None:
        ratio = values
    return {"label": label, "median": values["median"], "min": values["min"],
            "max": values["max"], "unit": unit, "goal": goal,
            "met": values["median"] <= goal, "chart": {"median": ratio["median"],
                                                       "min": ratio["min"], "max": ratio["max"],
                                                       "goal": ratio_goal or goal},
            "note": note}


# --- sections ----------------------------------------------------------------------------


def run_deploy(settings: dict) -> dict:
    print(f"[deploy] @local in a sandbox HOME (load {load()}) ...", flush=True)
    results = deploy_bench.run_all(settings["reruns"], settings["first_runs"])
    deploy_bench.print_tables(results)
    return results


def import_fleet() -> None:
    global fleet_bench, SSHFleet
    import fleet  # bench/fleet.py
    from tests.sshfleet import SSHFleet as fleet_class

    fleet.grand_total = _recording_grand_total  # see LAST_CHANGED
    fleet_bench, SSHFleet = fleet, fleet_class


def fleet_available() -> str | None:
    """Why the SSH fleet cannot run here, or None."""
    from tests.sshfleet import SSHD

    if os.geteuid() != 0:
        return "needs root (useradd, sshd)"
    if not os.access(SSHD, os.X_OK):
        return f"needs {SSHD} (apt-get install -y openssh-server)"
    return None


# What the last pyinfra run of bench/fleet.py changed, by operation: its runner keeps only totals,
# and a converged re-run that changes something deserves a name.
LAST_CHANGED: dict = {}


def _recording_grand_total(stdout: str) -> dict:
    LAST_CHANGED.clear()
    try:
        for op in json.loads(stdout)["results"]["operations"]:
            if op["success"] or op["error"]:
                LAST_CHANGED[op["name"]] = {"changed": op["success"], "error": op["error"]}
    except (ValueError, KeyError, TypeError):
        pass
    return grand_total(stdout)


def fleet_size(size: int, settings: dict, failures: list) -> dict:
    """bench/fleet.py for one size; a fleet whose converged re-run changed something is
    recorded (with what changed) and measured again on a new fleet, once."""
    for attempt in (1, 2):
        try:
            return fleet_bench.bench_size(size, settings["fleet_reruns"],
                                          settings["fleet_connects"])
        except SystemExit as failure:
            failures.append({"hosts": size, "error": str(failure)[:2000],
                             "operations": dict(LAST_CHANGED)})
            print(f"  FAILED ({size} hosts, attempt {attempt}): {str(failure)[:300]}\n"
                  f"  operations that changed or failed: {LAST_CHANGED}", flush=True)
            if attempt == 2:
                raise


def run_fleet(settings: dict) -> dict:
    """bench/fleet.py's measurement of 1 and 8 hosts, repeated for first-converge medians."""
    repeats = []
    failures: list = []
    for repeat in range(settings["fleet_repeats"]):
        sizes = []
        for size in (1, 8):
            print(f"[fleet] {size} host(s), repeat {repeat + 1}/{settings['fleet_repeats']} "
                  f"(load {load()}) ...", flush=True)
            sizes.append(fleet_size(size, settings, failures))
        fleet_bench.print_table(sizes)
        repeats.append(sizes)
    print(f"[fleet] a 1-host and an 8-host fleet, re-runs alternating, "
          f"{settings['fleet_paired']} each (load {load()}) ...", flush=True)
    paired = run_fleet_paired(settings["fleet_paired"])
    print(f"  8 hosts {paired['8']['seconds']['median']:.2f}s "
          f"[{paired['8']['seconds']['min']:.2f}-{paired['8']['seconds']['max']:.2f}], "
          f"1 host {paired['1']['seconds']['median']:.2f}s "
          f"[{paired['1']['seconds']['min']:.2f}-{paired['1']['seconds']['max']:.2f}], "
          f"ratio per pair x{paired['ratio']['median']:.2f} "
          f"[{paired['ratio']['min']:.2f}-{paired['ratio']['max']:.2f}]; machine busy CPU "
          f"{paired['8']['cpu_busy_s']['median']:.2f} / {paired['1']['cpu_busy_s']['median']:.2f}"
          f" s, pyinfra CPU {paired['8']['controller_cpu_s']['median']:.2f} / "
          f"{paired['1']['controller_cpu_s']['median']:.2f} s")
    one = [r for sizes in repeats for r in sizes if r["hosts"] == 1]
    eight = [r for sizes in repeats for r in sizes if r["hosts"] == 8]
    rerun_1 = [x for r in one for x in r["rerun"]["runs"]]
    rerun_8 = [x for r in eight for x in r["rerun"]["runs"]]
    base = statistics.median(rerun_1)
    return {
        "repeats": repeats,
        "paired": paired,
        "failures": failures,
        "rerun_1": spread(rerun_1),
        "rerun_8": spread(rerun_8),
        # Every 8-host re-run against the 1-host median (re-runs of the two fleets don't pair).
        "rerun_ratio": {"median": statistics.median(rerun_8) / base,
                        "min": min(rerun_8) / base, "max": max(rerun_8) / base},
        "first_1": spread([r["first_converge_s"] for r in one]),
        "first_8": spread([r["first_converge_s"] for r in eight]),
        # One first converge per size and repeat: paired by repeat.
        "first_ratio": spread([e["first_converge_s"] / o["first_converge_s"]
                               for o, e in zip(one, eight)]),
        "connect_ratio": spread([e["connect"]["median"] / o["connect"]["median"]
                                 for o, e in zip(one, eight)]),
        "first_operations_s": {str(r["hosts"]): r["first_operations_s"] for r in repeats[-1]},
        # The fleet's hosts share this machine's CPUs (with any other work on it): busy CPU
        # seconds / CPUs is the least wall time the run could take here.
        "cpu_bound_rerun_8_s": paired["8"]["cpu_busy_s"]["median"] / (os.cpu_count() or 1),
        "cpu_bound_first_8_s": statistics.median(r["first_cpu_busy_s"] for r in eight)
        / (os.cpu_count() or 1),
    }


def check_converged(inventory: Path, data: dict) -> None:
    """One more run right after the first converge must change nothing; names what did."""
    argv = [str(fleet_bench.PYINFRA), str(inventory), "deploy.py", "-y", "--json"]
    for key, value in data.items():
        argv += ["--data", f"{key}={value}"]
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    try:
        operations = json.loads(done.stdout)["results"]["operations"]
    except (ValueError, KeyError):
        raise SystemExit(f"fleet re-run failed ({done.returncode}):\n{done.stderr[-4000:]}")
    changed = {op["name"]: op["success"] for op in operations if op["success"] or op["error"]}
    if changed:
        raise SystemExit(f"the fleet re-run after its first converge changed: {changed}\n"
                         f"{done.stderr[-6000:]}")


def converged_fleet(fleet: SSHFleet, hosts: int) -> tuple[Path, dict]:
    """Start ``hosts`` fleet users and converge them once, as bench/fleet.py does."""
    fleet.start(hosts)
    sources = make_sources(fleet.make_dir("sources", mode=0o755))
    for name in fleet.names:  # git refuses root-owned repositories without this
        fleet.run_as(name, "git config --global --replace-all safe.directory '*'", check=True)
    inventory = fleet.inventory_file(fleet.make_dir("inventory", mode=0o700) / "bench.py")
    data = {"litellm_release": sources["release"], "litellm_fork": sources["fork"]}
    fleet_bench.run_pyinfra(inventory, "deploy.py", data=data)
    check_converged(inventory, data)
    return inventory, data


def run_fleet_paired(runs: int) -> dict:
    """Converged re-runs of a 1-host and an 8-host fleet, both up at once, alternating, so both
    see the same load (the machine is shared: fleets measured minutes apart differ by load more
    than by hosts). bench/fleet.py's fleet setup and runner."""
    samples: dict[str, list[dict]] = {"1": [], "8": []}
    with SSHFleet() as one, SSHFleet() as eight:
        fleets = {"1": converged_fleet(one, 1), "8": converged_fleet(eight, 8)}
        for i in range(runs):
            for size in (("8", "1") if i % 2 == 0 else ("1", "8")):
                inventory, data = fleets[size]
                run = fleet_bench.run_pyinfra(inventory, "deploy.py", data=data)
                hosts = run["totals"].get("per_host", {})
                if run["totals"].get("changed") or len(hosts) != int(size):
                    raise SystemExit(f"paired re-run ({size} hosts): {run['totals']}")
                samples[size].append(run)
    return {
        size: {"seconds": spread([r["seconds"] for r in found]),
               "cpu_busy_s": spread([r["cpu_busy_s"] for r in found]),
               "controller_cpu_s": spread([r["controller_cpu_s"] for r in found])}
        for size, found in samples.items()
    } | {"ratio": spread([e["seconds"] / o["seconds"]
                          for e, o in zip(samples["8"], samples["1"])])}


def run_launcher(settings: dict) -> dict:
    print(f"[launcher] fake proxy and claude (load {load()}) ...", flush=True)
    boot_delay = 1.0
    results = launcher_bench.summarize(launcher_bench.measure(settings["launcher_runs"],
                                                             boot_delay))
    launcher_bench.print_table(results, settings["launcher_runs"], boot_delay)
    return {"boot_delay": boot_delay, "results": results}


# --- summary -----------------------------------------------------------------------------


def figures(results: dict) -> list[dict]:
    rows = []
    deploy = results.get("deploy")
    if deploy:
        rerun = deploy["rerun"]
        rows.append(figure(
            "converged re-run / floor (@local)", rerun["ratio"], deploy_bench.RERUN_GOAL, "x",
            note=f"{rerun['deploy']['seconds']['median']:.2f}s vs "
                 f"{rerun['floor']['seconds']['median']:.2f}s; floor: "
                 f"{deploy_bench.FLOOR_LABEL}"))
        commands = deploy["commands"]
        count = commands["commands"]
        trace = commands.get("strace")
        rows.append({
            "label": "target commands, converged re-run", "median": count, "min": count,
            "max": count, "unit": "", "goal": 1, "met": commands["met"], "chart": None,
            "note": (f"{trace['processes']} processes, " if trace else "")
                    + f"litellm {commands['litellm_invocations']}, network connects "
                    f"{commands['network_connects'] if commands['network_connects'] is not None else 'n/a'}",
        })
    fleet = results.get("fleet")
    if isinstance(fleet, dict) and "rerun_ratio" in fleet:
        paired = fleet["paired"]
        rows.append(figure(
            "fleet 8 v 1 hosts, converged re-run", paired["ratio"], 1.5, "x",
            note=f"{paired['8']['seconds']['median']:.2f}s vs "
                 f"{paired['1']['seconds']['median']:.2f}s, paired; machine busy CPU / CPUs: "
                 f"{fleet['cpu_bound_rerun_8_s']:.2f}s; separate fleets: "
                 f"x{fleet['rerun_ratio']['median']:.2f}"))
        rows.append(figure(
            "fleet 8 v 1 hosts, first converge", fleet["first_ratio"], 1.5, "x",
            note=f"{fleet['first_8']['median']:.2f}s vs {fleet['first_1']['median']:.2f}s; "
                 f"machine busy CPU / CPUs: {fleet['cpu_bound_first_8_s']:.2f}s"))
    launcher = results.get("launcher")
    if launcher:
        for key, goal in (("warm_wall", 0.3), ("warm_to_claude", 0.3), ("cold_overhead", 0.5)):
            r = launcher["results"][key]
            values = {"median": r["median"], "min": r["min"], "max": r["max"]}
            rows.append(figure(
                f"launcher {r['label']}", values, goal, "s", ratio_goal=1.0,
                ratio={k: v / goal for k, v in values.items()},
                note=f"fake proxy boot {launcher['boot_delay']:.1f}s" if key == "cold_overhead"
                else ""))
    first = (deploy or {}).get("first")
    if first:
        s = first["seconds"]
        slow = max((item for item in first["steps"].items()),
                   key=lambda item: item[1]["median"])
        rows.append({"label": "first converge, fresh HOME (@local)", "median": s["median"],
                     "min": s["min"], "max": s["max"], "unit": "s", "goal": None,
                     "met": None, "chart": None,
                     "note": f"slowest step: {slow[0][:40]} {slow[1]['median']:.2f}s"})
    return rows


def print_summary(rows: list[dict], meta: dict) -> None:
    print(f"\nSummary ({meta['mode']} run, {meta['cpus']} CPUs, load average before "
          f"{meta['load_before']}, after {meta['load_after']}):")
    print(f"{'figure':<44}{'median':>9}{'min':>9}{'max':>9}{'goal':>8}  {'met':<4} note")
    for row in rows:
        unit = row["unit"]
        fmt = (lambda v: f"{v:.0f}") if unit == "" else (
            (lambda v: f"x{v:.2f}") if unit == "x" else (lambda v: f"{v:.3f}s"))
        goal = "-" if row["goal"] is None else (
            f"<={row['goal']}" if unit != "s" else f"<{row['goal']}s")
        met = "-" if row["met"] is None else ("yes" if row["met"] else "NO")
        print(f"{row['label']:<44}{fmt(row['median']):>9}{fmt(row['min']):>9}"
              f"{fmt(row['max']):>9}{goal:>8}  {met:<4} {row['note']}")
    for name, reason in meta.get("skipped", {}).items():
        print(f"{name}: skipped, {reason}")


def print_comparison(rows: list[dict], baseline: dict, path: str) -> None:
    """Each figure next to the same figure in an earlier run's JSON (before -> after)."""
    before = {row["label"]: row for row in baseline.get("figures", [])}
    meta = baseline.get("meta", {})
    print(f"\nAgainst {path} ({meta.get('mode', '?')} run, load {meta.get('load_before', '?')}):")
    print(f"{'figure':<44}{'before':>10}{'after':>10}{'change':>9}")
    for row in rows:
        old = before.get(row["label"])
        if not old:
            continue
        unit = row["unit"]
        fmt = (lambda v: f"{v:.0f}") if unit == "" else (
            (lambda v: f"x{v:.2f}") if unit == "x" else (lambda v: f"{v:.3f}s"))
        change = (row["median"] / old["median"] - 1) if old["median"] else 0.0
        print(f"{row['label']:<44}{fmt(old['median']):>10}{fmt(row['median']):>10}"
              f"{change:>+9.0%}")


def draw_chart(rows: list[dict], meta: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [row for row in rows if row["chart"]]
    labels = []
    for row in bars:
        text = row["label"].replace("launcher ", "launcher\n").replace(" / floor", "\n/ floor")
        text = text.replace(" v 1 hosts, ", " v 1 hosts\n").replace(", launch to", "\nlaunch to")
        text = text.replace(", whole launch", "\nwhole launch").replace(" overhead", "\noverhead")
        if row["unit"] == "s":
            text += f"\n(/ {row['goal']} s goal)"
        labels.append(text)
    medians = [row["chart"]["median"] for row in bars]
    lower = [row["chart"]["median"] - row["chart"]["min"] for row in bars]
    upper = [row["chart"]["max"] - row["chart"]["median"] for row in bars]
    colors = ["#4c9a2a" if row["met"] else "#c0392b" for row in bars]
    fig, ax = plt.subplots(figsize=(max(7, 1.55 * len(bars)), 4.6), dpi=110)
    x = range(len(bars))
    ax.bar(x, medians, color=colors, width=0.6, yerr=[lower, upper], capsize=4,
           error_kw={"elinewidth": 1, "ecolor": "#333"})
    for i, row in enumerate(bars):
        goal = row["chart"]["goal"]
        ax.hlines(goal, i - 0.4, i + 0.4, colors="#222", linestyles="dashed", linewidth=1.4,
                  label="goal" if i == 0 else None)
        ax.annotate(f"{row['chart']['median']:.2f}", (i, max(row["chart"]["max"], goal)),
                    textcoords="offset points", xytext=(0, 4), ha="center", fontsize=8)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=7.5)
    ax.set_ylabel("ratio (lower is better)")
    ax.set_ylim(0, max([row["chart"]["max"] for row in bars] + [1.6]) * 1.15)
    ax.set_title(f"openClaude benchmarks: median, min-max; dashed: goal\n"
                 f"{meta['date']}, {meta['cpus']} CPUs, 1-min load {meta['load_before'][0]} before, "
                 f"{meta.get('load_after', ['?'])[0]} after, {meta['mode']} run", fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    parser.add_argument("--json", metavar="PATH", default=str(BENCH / "results" / "bench.json"),
                        help="write the results as JSON (default bench/results/bench.json)")
    parser.add_argument("--chart", metavar="PATH", help="draw the ratios as a PNG bar chart")
    parser.add_argument("--baseline", metavar="PATH",
                        help="an earlier run's JSON: also print before -> after per figure")
    parser.add_argument("--replot", metavar="JSON",
                        help="only draw --chart from an earlier run's JSON (no measuring)")
    parser.add_argument("--skip", default="", help=f"comma-separated sections to skip: "
                        f"{', '.join(SECTIONS)}")
    args = parser.parse_args()
    skip = {name for name in args.skip.split(",") if name}
    if skip - set(SECTIONS):
        parser.error(f"--skip: unknown section(s) {', '.join(sorted(skip - set(SECTIONS)))}")
    if args.replot:
        if not args.chart:
            parser.error("--replot needs --chart")
        earlier = json.loads(Path(args.replot).read_text())
        print_summary(earlier["figures"], earlier["meta"])
        draw_chart(earlier["figures"], earlier["meta"], Path(args.chart))
        print(f"wrote {args.chart}")
        return 0
    settings = QUICK if args.quick else FULL
    meta = {"mode": "quick" if args.quick else "full", "settings": settings,
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_before": load(),
            "date": datetime.date.today().isoformat(), "skipped": {}}
    print(f"openClaude benchmarks ({meta['mode']}): {meta['cpus']} CPUs, load average "
          f"{meta['load_before']}", flush=True)
    started = time.perf_counter()
    results: dict = {}
    if "deploy" not in skip:
        results["deploy"] = run_deploy(settings)
    if "fleet" not in skip:
        reason = fleet_available()
        if reason:
            meta["skipped"]["fleet"] = reason
        else:
            import_fleet()
            results["fleet"] = run_fleet(settings)
    if "launcher" not in skip:
        results["launcher"] = run_launcher(settings)
    meta["load_after"] = load()
    meta["seconds"] = time.perf_counter() - started
    rows = figures(results)
    print_summary(rows, meta)
    for failure in (results.get("fleet") or {}).get("failures", []):
        print(f"fleet of {failure['hosts']}: a converged re-run changed something (measured "
              f"again on a new fleet): {failure['operations'] or failure['error'][:200]}")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "figures": rows, "results": results}, indent=2)
                    + "\n")
    print(f"wrote {path}")
    if args.baseline:
        print_comparison(rows, json.loads(Path(args.baseline).read_text()), args.baseline)
    if args.chart:
        draw_chart(rows, meta, Path(args.chart))
        print(f"wrote {args.chart}")
    return 0 if all(row["met"] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
