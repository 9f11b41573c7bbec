"""Benchmark deploy.py on @local in a sandbox HOME (not a test).

    python bench/deploy.py [--runs N] [--first-runs N] [--json PATH]

Everything runs the real pyinfra CLI from the repository root, with the same Python, in a
sandbox HOME (tests/conftest.py ``sandbox_env``: uv on PATH, a private uv cache) against the
local git stand-ins of LiteLLM (tests/litellm_sources.py), like the deploy tests.

* ``rerun``: a converged re-run of deploy.py versus the floor pyinfra itself sets: a deploy file
  of one operation that reads one fact and reports "No change" (``files.directory`` on an existing
  directory). Runs interleave (deploy, floor, no-command, then the reverse order) so drift in
  the machine's load hits all of them; the ratio is taken per pair. A third file, one operation that runs no command at all
  (``server.shell(commands=[])``), shows pyinfra's own start-up cost. Each run's time is split
  into phases from the moment pyinfra prints each progress line.
* ``commands``: what a converged re-run executes on the target. pyinfra runs every command through
  its shell executable (``--shell-executable``), here a wrapper that logs each command and its
  wall time; when strace is available, every program started (execve) and every network
  connection (connect to AF_INET/AF_INET6) during the run is recorded as well.
  Goal: as few as facts need (one fact read: one command), no ``litellm``, no network.
* ``first``: the first converge of a fresh HOME (uv cache warm, uv on PATH), per operation, plus
  the start-up/fact phase and the end. A first converge with a cold uv cache runs once, before the
  timed ones (it warms the cache), and its commands are logged as above.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import grand_total, sandbox_env  # noqa: E402
from tests.litellm_sources import make_sources  # noqa: E402

PYINFRA = Path(sys.executable).parent / "pyinfra"
RERUN_GOAL = 1.5
FLOOR_LABEL = "files.directory on an existing directory (1 fact, No change)"
ZERO_LABEL = "server.shell(commands=[]) (no command, No change)"
FLOOR = """from pyinfra.operations import files

files.directory(name="floor: an existing directory", path={path!r})
"""
ZERO = """from pyinfra.operations import server

server.shell(name="floor: no command", commands=[])
"""
# Logs each command pyinfra runs on @local (start, end, exit status, text; NUL-separated), then
# runs it with sh as pyinfra would. Bash for $EPOCHREALTIME (no extra process per command).
WRAPPER = r"""#!/bin/bash
start=$EPOCHREALTIME
/bin/sh "$@"
rc=$?
printf '%s\t%s\t%s\t%s\0' "$start" "$EPOCHREALTIME" "$rc" "$2" >> "$OPENCLAUDE_BENCH_LOG"
exit $rc
"""
PHASES = (
    ("start", "Python and pyinfra start"),
    ("connect", "inventory and connect"),
    ("prepare", "deploy file: imports, fact read, operations"),
    ("operations", "operation run"),
    ("finish", "results and exit"),
)


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


class Bench:
    """A temporary root with the LiteLLM stand-ins, a shared uv cache and the floor files."""

    def __init__(self, root: Path):
        self.root = root
        self.sources = make_sources(root / "sources")
        self.uv_cache = root / "uv-cache"
        self.uv_cache.mkdir()
        self.data = {"litellm_release": self.sources["release"],
                     "litellm_fork": self.sources["fork"]}
        floor_dir = root / "floor"
        (floor_dir / "existing").mkdir(parents=True)
        self.floor = floor_dir / "floor.py"
        self.floor.write_text(FLOOR.format(path=str(floor_dir / "existing")))
        self.zero = floor_dir / "zero.py"
        self.zero.write_text(ZERO)
        self.wrapper = root / "logging-sh"
        self.wrapper.write_text(WRAPPER)
        self.wrapper.chmod(0o755)
        self._homes = 0

    def home(self) -> tuple[Path, dict]:
        """A fresh sandbox HOME and the environment for it."""
        self._homes += 1
        home = self.root / f"home-{self._homes}"
        home.mkdir()
        return home, sandbox_env(home, self.uv_cache)


def run_pyinfra(script: str | Path, env: dict, *options: str, data: dict | None = None,
                wrapper: Path | None = None, strace: Path | None = None) -> dict:
    """Run ``pyinfra @local SCRIPT -y --json`` from the repository root.

    Returns wall seconds, CPU seconds of pyinfra and everything it ran, the phases and each
    operation's seconds (from when pyinfra printed its progress lines), the totals, and with
    ``wrapper`` the commands it ran on the target."""
    argv = [str(PYINFRA), "@local", str(script), "-y", "--json", *options]
    for key, value in (data or {}).items():
        argv += ["--data", f"{key}={value}"]
    env = dict(env)
    log = None
    if wrapper:
        log = Path(tempfile.mkstemp(prefix="commands-", dir=wrapper.parent)[1])
        env["OPENCLAUDE_BENCH_LOG"] = str(log)
        argv += ["--shell-executable", str(wrapper)]
    if strace:
        argv = ["strace", "-f", "-qq", "-e", "trace=execve,connect", "-e", "signal=none",
                "-s", "200", "-o", str(strace), *argv]
    marks: list[tuple[float, str]] = []
    lines: list[str] = []
    with tempfile.TemporaryFile("w+") as stdout:
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=stdout, stderr=subprocess.PIPE,
                                   text=True, stdin=subprocess.DEVNULL)
        for line in process.stderr:
            lines.append(line)
            if line.strip():
                marks.append((time.perf_counter() - start, line.strip()))
        returncode = process.wait()
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        stdout.seek(0)
        totals = grand_total(stdout.read())
    if returncode != 0 or not totals:
        raise SystemExit(f"pyinfra {script} failed ({returncode}):\n{''.join(lines)[-4000:]}")
    result = {
        "seconds": seconds,
        "cpu_s": (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime),
        "phases": phases(marks, seconds, Path(script).name),
        "operations": operation_times(marks, seconds),
        "totals": totals,
    }
    if log:
        result["commands"] = read_command_log(log)
        log.unlink()
    return result


def phases(marks: list[tuple[float, str]], seconds: float, script: str) -> dict:
    """Seconds per phase of a pyinfra run, from its progress lines."""
    def at(pattern: str, default: float) -> float:
        return next((t for t, text in marks if re.fullmatch(pattern, text)), default)

    config = at(r"--> Loading config\.\.\.", 0.0)
    load = at(rf"Loading: .*{re.escape(script)}", config)
    ready = at(rf"\[@local\] Ready: .*{re.escape(script)}", load)
    begin = at(r"--> Beginning operation run\.\.\.", ready)
    results = at(r"--> Results:", seconds)
    return {"start": config, "connect": load - config, "prepare": begin - load,
            "operations": results - begin, "finish": seconds - results}


def operation_times(marks: list[tuple[float, str]], seconds: float) -> dict:
    """Seconds per operation: from its "Starting operation" line to the next progress line
    that starts another operation or the results (pyinfra runs one operation at a time)."""
    starts = [(t, text) for t, text in marks
              if text.startswith("--> Starting operation: ") or text == "--> Results:"]
    times = {}
    for (at, text), (until, _) in zip(starts, starts[1:] + [(seconds, "")]):
        if text.startswith("--> Starting operation: "):
            name = text.removeprefix("--> Starting operation: ").removeprefix("openClaude | ")
            times[name] = until - at
    return times


def read_command_log(log: Path) -> list[dict]:
    commands = []
    for record in log.read_bytes().split(b"\0"):
        if not record:
            continue
        start, end, rc, text = record.decode("utf-8", "replace").split("\t", 3)
        commands.append({"seconds": float(end) - float(start), "exit": int(rc), "command": text})
    return commands


def read_strace(path: Path) -> dict:
    """Programs started (execve that succeeded, but pyinfra's own) and inet connects."""
    programs: list[str] = []
    connects: list[str] = []
    pending: dict[str, str] = {}  # pid -> program of an execve strace split ("<unfinished ...>")
    for line in path.read_text(errors="replace").splitlines():
        pid = line.split(" ", 1)[0]
        match = re.search(r'execve\("([^"]+)"', line)
        if match and line.rstrip().endswith("<unfinished ...>"):
            pending[pid] = match.group(1)
        elif match and re.search(r"\) += 0$", line):
            programs.append(match.group(1))
        elif "<... execve resumed>" in line:
            program = pending.pop(pid, None)
            if program and re.search(r"\) += 0$", line):
                programs.append(program)
        elif "connect(" in line and re.search(r"AF_INET6?\b", line):
            connects.append(line.split("connect(", 1)[1][:160])
    counts: dict[str, int] = {}
    for program in programs[1:]:  # the first is pyinfra itself
        name = program.rsplit("/", 1)[-1]
        if "/uv/tools/litellm/" in program:
            name = f"litellm's {name}"
        counts[name] = counts.get(name, 0) + 1
    return {"processes": len(programs) - 1, "programs": counts, "inet_connects": connects}


def strace_works() -> bool:
    if not shutil.which("strace"):
        return False
    return subprocess.run(["strace", "-qq", "-e", "trace=none", "true"],
                          capture_output=True).returncode == 0


# --- the measurements -------------------------------------------------------------------


def converge(bench: Bench, env: dict, **kwargs) -> dict:
    """deploy.py once; it must not fail (first converges change, re-runs must not)."""
    return run_pyinfra("deploy.py", env, data=bench.data, **kwargs)


def measure_rerun(bench: Bench, env: dict, runs: int) -> dict:
    """Converged re-runs of deploy.py against the floor, interleaved."""
    samples: dict[str, list[dict]] = {"deploy": [], "floor": [], "zero": []}
    scripts = {"deploy": "deploy.py", "floor": bench.floor, "zero": bench.zero}
    for i in range(runs):
        order = ["deploy", "floor", "zero"] if i % 2 == 0 else ["zero", "floor", "deploy"]
        for kind in order:
            data = bench.data if kind == "deploy" else None
            run = run_pyinfra(scripts[kind], env, data=data)
            if run["totals"]["changed"] or run["totals"]["errors"]:
                raise SystemExit(f"{kind}: a converged run changed something: {run['totals']}")
            samples[kind].append(run)
    result = {}
    for kind, found in samples.items():
        result[kind] = {
            "seconds": spread([run["seconds"] for run in found]),
            "cpu_s": spread([run["cpu_s"] for run in found]),
            "phases": {phase: statistics.median(run["phases"][phase] for run in found)
                       for phase, _ in PHASES},
            "operations": len(found[0]["operations"]),
        }
    result["ratio"] = spread([d["seconds"] / f["seconds"]
                              for d, f in zip(samples["deploy"], samples["floor"])])
    result["ratio_to_no_command"] = spread([d["seconds"] / z["seconds"]
                                            for d, z in zip(samples["deploy"], samples["zero"])])
    result["floor_operation"] = FLOOR_LABEL
    result["goal"] = RERUN_GOAL
    result["met"] = result["ratio"]["median"] <= RERUN_GOAL
    return result


def measure_commands(bench: Bench, env: dict) -> dict:
    """What one converged re-run (and the floor) runs on the target."""
    deploy = converge(bench, env, wrapper=bench.wrapper)
    floor = run_pyinfra(bench.floor, env, wrapper=bench.wrapper)
    commands = deploy["commands"]
    result = {
        "commands": len(commands),
        "floor_commands": len(floor["commands"]),
        "command_seconds": [c["seconds"] for c in commands],
        "command_heads": [f"{len(c['command'])} bytes: "
                          + (c["command"].strip().splitlines() or [""])[0][:80] for c in commands],
        "text_mentions": {
            word: sum(word in c["command"] for c in commands)
            for word in ("uv tool install", "pip install", "litellm --", "git ", "curl", "wget")
        },
    }
    if strace_works():
        with tempfile.NamedTemporaryFile(prefix="strace-", dir=bench.root, delete=False) as f:
            trace = Path(f.name)
        converge(bench, env, strace=trace)
        result["strace"] = read_strace(trace)
        programs = result["strace"]["programs"]
        result["litellm_invocations"] = programs.get("litellm", 0)
        result["network_connects"] = len(result["strace"]["inet_connects"])
        result["network_programs"] = {name: programs[name] for name in ("git", "curl", "wget", "pip")
                                      if name in programs}
    else:
        result["strace"] = None
        result["litellm_invocations"] = sum(
            bool(re.search(r"(^|[/\s])litellm(\s|$)", c["command"])) for c in commands)
        result["network_connects"] = None
    result["met"] = (result["commands"] <= 1 and result["litellm_invocations"] == 0
                     and not result.get("network_connects")
                     and not result["text_mentions"]["uv tool install"])
    return result


def measure_first(bench: Bench, runs: int) -> dict:
    """First converges of fresh homes (warm uv cache), per operation."""
    found = []
    for _ in range(runs):
        _, env = bench.home()
        run = converge(bench, env)
        if run["totals"]["errors"] or not run["totals"]["changed"]:
            raise SystemExit(f"first converge: expected changes and no errors: {run['totals']}")
        found.append(run)
    steps = {"(start, fact read, prepare)": [r["phases"]["start"] + r["phases"]["connect"]
                                             + r["phases"]["prepare"] for r in found]}
    for name in found[0]["operations"]:
        steps[name] = [r["operations"].get(name, 0.0) for r in found]
    steps["(results and exit)"] = [r["phases"]["finish"] for r in found]
    return {
        "seconds": spread([r["seconds"] for r in found]),
        "cpu_s": spread([r["cpu_s"] for r in found]),
        "steps": {name: spread(values) for name, values in steps.items()},
        "changed": found[0]["totals"]["changed"],
    }


def run_all(runs: int, first_runs: int, log=print) -> dict:
    with tempfile.TemporaryDirectory(prefix="openclaude-bench-") as directory:
        bench = Bench(Path(directory))
        home, env = bench.home()
        log("  first converge, cold uv cache (warms it; commands logged) ...")
        cold = converge(bench, env, wrapper=bench.wrapper)
        cold_commands = cold.pop("commands")
        log(f"  converged re-run vs floor, {runs} runs each ...")
        rerun = measure_rerun(bench, env, runs)
        log("  commands of a converged re-run ...")
        commands = measure_commands(bench, env)
        log(f"  first converge, warm uv cache, {first_runs} runs ...")
        first = measure_first(bench, first_runs)
    first["cold_cache_s"] = cold["seconds"]
    first["cold_cache_commands"] = len(cold_commands)
    first["cold_cache_command_seconds"] = sum(c["seconds"] for c in cold_commands)
    return {"rerun": rerun, "commands": commands, "first": first}


# --- output ------------------------------------------------------------------------------


def print_tables(results: dict) -> None:
    rerun, commands, first = results["rerun"], results["commands"], results["first"]
    n = len(rerun["deploy"]["seconds"]["runs"])
    print(f"\nConverged re-run on @local, {n} runs each (median [min-max]):")
    rows = (("deploy.py, converged", rerun["deploy"]),
            (f"floor: {FLOOR_LABEL}", rerun["floor"]),
            (f"info: {ZERO_LABEL}", rerun["zero"]))
    for label, r in rows:
        s = r["seconds"]
        print(f"  {label:<78} {s['median']:6.3f}s [{s['min']:.3f}-{s['max']:.3f}]  "
              f"cpu {r['cpu_s']['median']:.2f}s  ops {r['operations']}")
    ratio = rerun["ratio"]
    print(f"  ratio deploy/floor (per pair): x{ratio['median']:.2f} [{ratio['min']:.2f}-"
          f"{ratio['max']:.2f}], goal <= {RERUN_GOAL}: {'met' if rerun['met'] else 'MISSED'}")
    print("  phases (median s):" + "".join(f"{name:>12}" for name, _ in PHASES))
    for label, key in (("deploy.py", "deploy"), ("floor", "floor"), ("no command", "zero")):
        print(f"  {label:<18}" + "".join(f"{rerun[key]['phases'][name]:>12.3f}"
                                         for name, _ in PHASES))
    print("  (" + "; ".join(f"{name}: {text}" for name, text in PHASES) + ")")

    print("\nCommands on the target during a converged re-run:")
    print(f"  pyinfra commands: {commands['commands']} (floor: {commands['floor_commands']}), "
          f"wall on target {sum(commands['command_seconds']):.3f}s")
    for head, seconds in zip(commands["command_heads"], commands["command_seconds"]):
        print(f"    {seconds:6.3f}s  {head}")
    trace = commands.get("strace")
    if trace:
        programs = ", ".join(f"{k} x{v}" for k, v in sorted(trace["programs"].items(),
                                                           key=lambda kv: -kv[1]))
        print(f"  processes started (strace): {trace['processes']}: {programs}")
        print(f"  network connections (AF_INET/AF_INET6): {commands['network_connects']}")
    else:
        print("  (strace unavailable: no process or network trace)")
    print(f"  litellm invocations: {commands['litellm_invocations']}; mentions in commands: "
          + ", ".join(f"{k.strip()!r} {v}" for k, v in commands["text_mentions"].items()))
    print(f"  goal (1 command, no litellm, no network): {'met' if commands['met'] else 'MISSED'}")

    n = len(first["seconds"]["runs"])
    s = first["seconds"]
    print(f"\nFirst converge of a fresh HOME, warm uv cache, {n} runs: {s['median']:.2f}s "
          f"[{s['min']:.2f}-{s['max']:.2f}], {first['changed']} operations changed; cold uv "
          f"cache once: {first['cold_cache_s']:.2f}s, {first['cold_cache_commands']} commands")
    total = s["median"]
    for name, step in first["steps"].items():
        share = step["median"] / total if total else 0
        print(f"  {name[:70]:<70} {step['median']:6.3f}s [{step['min']:.3f}-{step['max']:.3f}]"
              f" {share:5.0%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="converged re-runs (default 7)")
    parser.add_argument("--first-runs", type=int, default=3, help="first converges (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs")
    results = run_all(args.runs, args.first_runs)
    print_tables(results)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"benchmark": "deploy", "load_average_before": load,
                                    "cpus": os.cpu_count(), "python": platform.python_version(),
                                    **results}, indent=2) + "\n")
    return 0 if results["rerun"]["met"] and results["commands"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
