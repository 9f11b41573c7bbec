"""All of openClaude's benchmarks in one run: a table of figures against their goals (not a test).

    python bench/run.py [--quick] [--skip boot,fleet] [--json bench/results/bench.json]
                        [--chart bench/ratios.png]
    python bench/run.py --replot bench/results/bench.json [--chart bench/ratios.png]

Sections, one module each (toolkit.py holds what they share): deploy (@local re-run, target
commands, first converge), fleet (SSH with latency; needs root and /usr/sbin/sshd, else
skipped), launcher (warm and cold start with a fake proxy, `--usage` over a month of records),
boot (the real LiteLLM's cold start, ours against a plain install), recording (a request through
the real proxy with and without the usage record), passthrough (a subscription tier's time to first
byte through the proxy against straight at the stand-in). Runs alternate where two things are compared and ratios
are taken per pair; the load average is printed (the machine may be shared). Exit status 1
when a goal is missed.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from toolkit import draw_chart, load, print_figures, write_json  # noqa: E402

SECTIONS = ("deploy", "fleet", "launcher", "boot", "recording", "passthrough")
FULL = {"runs": 7, "first_runs": 3, "fleet_runs": 7, "launcher_runs": 7, "boot_runs": 5}
QUICK = {"runs": 3, "first_runs": 1, "fleet_runs": 3, "launcher_runs": 3, "boot_runs": 2}


def unavailable(section: str) -> str | None:
    """Why ``section`` cannot run on this machine, or None."""
    if section == "fleet":
        from tests.sshfleet import SSHD

        if os.geteuid() != 0:
            return "needs root (useradd, sshd)"
        if not os.access(SSHD, os.X_OK):
            return f"needs {SSHD} (apt-get install -y openssh-server)"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    parser.add_argument("--json", metavar="PATH", default=str(BENCH / "results" / "bench.json"),
                        help="write the results as JSON (default bench/results/bench.json)")
    parser.add_argument("--chart", metavar="PATH", default=str(BENCH / "ratios.png"),
                        help="draw the figures as a PNG bar chart (default bench/ratios.png)")
    parser.add_argument("--replot", metavar="JSON", help="only draw --chart from a run's JSON")
    parser.add_argument("--skip", default="", help=f"sections to skip: {', '.join(SECTIONS)}")
    args = parser.parse_args()
    skip = {name for name in args.skip.split(",") if name}
    if skip - set(SECTIONS):
        parser.error(f"--skip: unknown section(s) {', '.join(sorted(skip - set(SECTIONS)))}")
    if args.replot:
        earlier = json.loads(Path(args.replot).read_text())
        draw_chart(earlier["figures"], earlier["meta"], Path(args.chart))
        print(f"wrote {args.chart}")
        return 0
    settings = QUICK if args.quick else FULL
    meta = {"mode": "quick" if args.quick else "full", "settings": settings,
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "date": datetime.date.today().isoformat(), "load_before": load(), "skipped": {}}
    print(f"openClaude benchmarks ({meta['mode']}): {meta['cpus']} CPUs, load average "
          f"{meta['load_before']}", flush=True)
    started = time.perf_counter()
    rows: list[dict] = []
    for section in SECTIONS:
        reason = "--skip" if section in skip else unavailable(section)
        if reason:
            meta["skipped"][section] = reason
            continue
        print(f"[{section}] (load {load()}) ...", flush=True)
        found = importlib.import_module(section).measure(settings)
        print_figures(found, section)
        rows += found
    meta.update(load_after=load(), seconds=round(time.perf_counter() - started, 1))
    print_figures(rows, f"Summary ({meta['mode']} run, {meta['cpus']} CPUs, load average "
                        f"before {meta['load_before']}, after {meta['load_after']}):")
    for section, reason in meta["skipped"].items():
        print(f"{section}: skipped, {reason}")
    write_json(Path(args.json), {"meta": meta, "figures": rows})
    print(f"wrote {args.json}")
    draw_chart(rows, meta, Path(args.chart))
    print(f"wrote {args.chart}")
    return 0 if all(row["met"] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
