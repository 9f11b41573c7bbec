"""Fleet benchmark: wall time of converging N hosts versus 1 host over SSH (not a test).

For each fleet size it starts a fresh SSH fleet (tests/sshfleet.py: a private sshd on loopback
and N throw-away local users, run as root), then times with the real pyinfra CLI:

* ``connect``: ``pyinfra INVENTORY exec -- true`` (SSH connect + one command), the floor;
* ``first``: deploy.py on fresh hosts (pip installs uv, uv builds and installs LiteLLM from the
  local git stand-ins of tests/litellm_sources.py, every file written), with the wall time of
  each operation;
* ``rerun``: deploy.py again on the converged hosts, several times (median, min, max); each
  must change nothing; and once more with ``--parallel 1`` (one host at a time);
* CPU seconds of the whole machine and of pyinfra itself during each run, and the load average
  before the fleet started (other work on the machine skews the timings).

The goal: N-host wall time at most 1.5x the 1-host time (hosts run in parallel). Mind that the
fleet's hosts are users of this machine: their per-host work (pip installing uv, uv building
LiteLLM, sshd's handshakes) shares this machine's CPUs, where real machines bring their own.

    .venv/bin/python bench/fleet.py                       # 1 and 8 hosts
    .venv/bin/python bench/fleet.py --sizes 1,4,8 --reruns 7 --json bench/results/fleet.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import SCRUBBED, grand_total  # noqa: E402
from tests.litellm_sources import make_sources  # noqa: E402
from tests.sshfleet import SSHFleet  # noqa: E402

PYINFRA = Path(sys.executable).parent / "pyinfra"
GOAL = 1.5


def cpu_busy_seconds() -> float:
    """CPU time this machine spent busy, all CPUs together (the fleet's "hosts" share them)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_pyinfra(inventory: Path, *args: str, data: dict | None = None) -> dict:
    """Run pyinfra from the repo root: wall seconds, CPU seconds of the whole machine and of the
    pyinfra process (the controller), totals, and seconds per operation.

    pyinfra runs one operation at a time, on every host at once, so an operation's wall time is
    its slowest host's; the operation times come from when each "Starting operation" line is
    logged."""
    argv = [str(PYINFRA), str(inventory), *args, "-y", "--json"]
    for key, value in (data or {}).items():
        argv += ["--data", f"{key}={value}"]
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
    marks: list[tuple[float, str]] = []
    lines: list[str] = []
    with tempfile.TemporaryFile("w+") as stdout:
        controller = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy, start = cpu_busy_seconds(), time.perf_counter()
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=stdout,
                                   stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        for line in process.stderr:
            lines.append(line)
            if line.startswith("--> "):
                marks.append((time.perf_counter() - start, line[4:].strip()))
        returncode = process.wait()
        seconds, busy = time.perf_counter() - start, cpu_busy_seconds() - busy
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        controller = (after.ru_utime - controller.ru_utime) + (after.ru_stime - controller.ru_stime)
        stdout.seek(0)
        totals = grand_total(stdout.read())
    if returncode != 0:
        raise SystemExit(f"pyinfra {' '.join(args)} failed ({returncode}):\n"
                         f"{''.join(lines)[-4000:]}")
    operations = {}
    for (at, text), (until, _) in zip(marks, marks[1:] + [(seconds, "")]):
        if text.startswith("Starting operation: "):
            name = text.removeprefix("Starting operation: ").removeprefix("openClaude | ")
            operations[name[:60]] = until - at
    return {"seconds": seconds, "cpu_busy_s": busy, "controller_cpu_s": controller,
            "totals": totals, "operations": operations}


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


def bench_size(n_hosts: int, reruns: int, connects: int) -> dict:
    load = os.getloadavg()  # other work on this machine before the fleet's (1, 5, 15 min)
    with SSHFleet() as fleet:
        t0 = time.perf_counter()
        fleet.start(n_hosts)
        sources = make_sources(fleet.make_dir("sources", mode=0o755))
        for name in fleet.names:  # git refuses root-owned repositories without this
            fleet.run_as(name, "git config --global --replace-all safe.directory '*'",
                         check=True)
        inventory = fleet.inventory_file(fleet.make_dir("inventory", mode=0o700) / "bench.py")
        setup = time.perf_counter() - t0
        data = {"litellm_release": sources["release"], "litellm_fork": sources["fork"]}

        connect = [run_pyinfra(inventory, "exec", "--", "true")["seconds"]
                   for _ in range(connects)]
        first = run_pyinfra(inventory, "deploy.py", data=data)
        hosts = first["totals"].get("per_host", {})
        if len(hosts) != n_hosts or first["totals"].get("errors"):
            raise SystemExit(f"first converge: expected {n_hosts} hosts without errors: {first}")
        reruns_ = []
        for _ in range(reruns):
            run = run_pyinfra(inventory, "deploy.py", data=data)
            if run["totals"].get("changed") or run["totals"].get("errors"):
                raise SystemExit(f"converged re-run changed something: {run['totals']}")
            reruns_.append(run)
        # The same re-run one host at a time: what pyinfra's parallelism saves.
        serial = run_pyinfra(inventory, "deploy.py", "--parallel", "1", data=data)
        return {
            "hosts": n_hosts, "fleet_setup_s": setup, "connect": spread(connect),
            "first_converge_s": first["seconds"], "first_cpu_busy_s": first["cpu_busy_s"],
            "first_operations_s": first["operations"],
            "first_controller_cpu_s": first["controller_cpu_s"],
            "rerun": spread([run["seconds"] for run in reruns_]),
            "rerun_cpu_busy_s": statistics.median(run["cpu_busy_s"] for run in reruns_),
            "rerun_controller_cpu_s": statistics.median(run["controller_cpu_s"] for run in reruns_),
            "rerun_parallel_1_s": serial["seconds"],
            "load_average_before": load,
        }


def print_table(results: list[dict]) -> None:
    cpus = os.cpu_count() or 1
    print()
    print(f"{'hosts':>5} {'connect':>8} {'first converge':>15} {'re-run median [min-max]':>24} "
          f"{'re-run --parallel 1':>19} {'load before':>11}")
    for r in results:
        c, re = r["connect"], r["rerun"]
        print(f"{r['hosts']:>5} {c['median']:>7.2f}s {r['first_converge_s']:>14.2f}s "
              f"{re['median']:>9.2f}s [{re['min']:.2f}-{re['max']:.2f}] "
              f"{r['rerun_parallel_1_s']:>18.2f}s {r['load_average_before'][0]:>11.1f}")
    print()
    print(f"CPU seconds: whole machine ({cpus} CPUs, shared by every host and by other work) / "
          "pyinfra itself")
    for r in results:
        print(f"{r['hosts']:>5} hosts: first converge {r['first_cpu_busy_s']:.1f} / "
              f"{r['first_controller_cpu_s']:.1f}, re-run {r['rerun_cpu_busy_s']:.1f} / "
              f"{r['rerun_controller_cpu_s']:.1f}")
    names = list(results[-1]["first_operations_s"])
    slow = [n for n in names if any(r["first_operations_s"].get(n, 0) >= 0.5 for r in results)]
    print("first converge, slowest operations (wall s, hosts "
          f"{' / '.join(str(r['hosts']) for r in results)}):")
    for name in slow:
        print(f"  {name}: " + " / ".join(f"{r['first_operations_s'].get(name, 0):.2f}"
                                          for r in results))


def ratios(results: list[dict]) -> dict:
    base = next(r for r in results if r["hosts"] == min(x["hosts"] for x in results))
    out = {}
    for r in results:
        if r is base:
            continue
        out[str(r["hosts"])] = {
            "first_converge": r["first_converge_s"] / base["first_converge_s"],
            "rerun": r["rerun"]["median"] / base["rerun"]["median"],
            "connect": r["connect"]["median"] / base["connect"]["median"],
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,8", help="comma-separated fleet sizes (default 1,8)")
    parser.add_argument("--reruns", type=int, default=5, help="converged re-runs per size")
    parser.add_argument("--connects", type=int, default=3, help="connect-only runs per size")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("needs root: the fleet adds local users and runs sshd")

    sizes = sorted({int(size) for size in args.sizes.split(",")})
    results = []
    for size in sizes:
        print(f"fleet of {size} ...", flush=True)
        results.append(bench_size(size, args.reruns, args.connects))
    print_table(results)
    found = ratios(results)
    base = sizes[0]
    for size, ratio in found.items():
        verdict = lambda value: "ok" if value <= GOAL else f"MISSES the {GOAL} goal"  # noqa: E731
        print(f"{size} vs {base} hosts: first converge x{ratio['first_converge']:.2f} "
              f"({verdict(ratio['first_converge'])}), converged re-run x{ratio['rerun']:.2f} "
              f"({verdict(ratio['rerun'])}), connect-only x{ratio['connect']:.2f}")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "goal_ratio": GOAL, "cpus": os.cpu_count(), "python": platform.python_version(),
            "results": results, "ratios": found,
        }, indent=2))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
