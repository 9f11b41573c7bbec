"""Converged re-runs of deploy.py over SSH with network latency (each host's user has a
``~/.claude/settings.json``): what a fleet user pays is round trips. Each fleet (tests/sshfleet.py: a private sshd on loopback, throw-away local users as
hosts) sits behind a latency relay (tests/latency_relay.py) whose delay is set before each run:

* 1 host at 0, 50 and 150 ms round-trip time (RTT); the slope of wall time over RTT is the round
  trips per converged host, SSH connect included (goal <= 8); ``pyinfra exec -- true`` the same
  way shows the share of connecting and running one command;
* 8 hosts / 1 host at 50 ms, both fleets up at once, runs alternating (goal <= 1.3);
* 8 hosts / 1 host at 0 ms, information only: the 8 "hosts" are users of this machine whose SSH
  sessions share its CPUs with the controller, so without latency it measures CPU contention;
* the first converge of each fleet at 50 ms (information).

Needs root and /usr/sbin/sshd (tests/sshfleet.py).
"""

from __future__ import annotations

import json
import os
import pwd
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

from toolkit import USER_SETTINGS, alternate, converged, figure, ratio, run_pyinfra, spread

from tests.litellm_sources import make_sources
from tests.sshfleet import SSHFleet

RTTS = (0.0, 0.05, 0.15)
ROUND_TRIPS_GOAL = 8
HOSTS_GOAL = 1.3


def converged_fleet(stack: ExitStack, size: int) -> dict:
    """A fleet of ``size`` hosts behind a 50 ms relay, converged once by deploy.py."""
    fleet = stack.enter_context(SSHFleet(rtt=0.05)).start(size)
    sources = make_sources(fleet.make_dir("sources", mode=0o755))
    for name in fleet.names:  # git refuses root-owned repositories without this
        fleet.run_as(name, "git config --global --replace-all safe.directory '*'", check=True)
        settings = Path(fleet.home_of(name)) / ".claude" / "settings.json"
        settings.parent.mkdir()
        settings.write_text(json.dumps(USER_SETTINGS))
        user = pwd.getpwnam(fleet.user_of(name))
        for path in (settings.parent, settings):
            os.chown(path, user.pw_uid, user.pw_gid)
    inventory = str(fleet.inventory_file(fleet.make_dir("inventory", mode=0o700) / "bench.py"))
    data = {"litellm_release": sources["release"], "litellm_fork": sources["fork"]}
    first = run_pyinfra(inventory, "deploy.py", data=data)
    return {"fleet": fleet, "inventory": inventory, "data": data, "size": size,
            "first_s": first["seconds"]}


def at_rtt(fleet: dict, rtt: float, run: Callable[[dict], dict]) -> Callable[[], float]:
    """A measurement: ``run(fleet)`` with the fleet's relay at ``rtt``, its wall seconds."""
    def measurement() -> float:
        fleet["fleet"].relay.delay = rtt / 2
        return run(fleet)["seconds"]
    return measurement


def rerun(fleet: dict) -> dict:
    """A converged re-run of deploy.py (it must change nothing)."""
    return converged(run_pyinfra(fleet["inventory"], "deploy.py", data=fleet["data"]),
                     fleet["size"])


def connect(fleet: dict) -> dict:
    """The least any pyinfra run costs: connect and run one command."""
    return run_pyinfra(fleet["inventory"], "exec", "--", "true")


def slope(runs: dict, name: str) -> dict:
    """Round trips per run of ``name``: seconds gained per second of RTT, from each round's
    runs at the lowest and the highest RTT."""
    low, high = runs[f"{name} {RTTS[0]}"], runs[f"{name} {RTTS[-1]}"]
    return spread([(b - a) / (RTTS[-1] - RTTS[0]) for a, b in zip(low, high)])


def measure(settings: dict) -> list[dict]:
    with ExitStack() as stack:
        one, eight = converged_fleet(stack, 1), converged_fleet(stack, 8)
        measurements = {f"1 host {rtt}": at_rtt(one, rtt, rerun) for rtt in RTTS}
        measurements |= {f"connect {rtt}": at_rtt(one, rtt, connect)
                         for rtt in (RTTS[0], RTTS[-1])}
        measurements |= {f"8 hosts {rtt}": at_rtt(eight, rtt, rerun) for rtt in (0.0, 0.05)}
        runs = alternate(settings["fleet_runs"], measurements)
    per_host, connecting = slope(runs, "1 host"), slope(runs, "connect")
    rows = [figure(f"fleet 1 host, converged re-run at {rtt * 1000:.0f} ms RTT",
                   spread(runs[f"1 host {rtt}"]), "s") for rtt in RTTS]
    rows += [
        figure("fleet round trips per converged host", per_host, "", ROUND_TRIPS_GOAL,
               f"slope over 0-150 ms RTT; of which SSH "
               f"connect + one command: {connecting['median']:.1f}"),
        figure("fleet 8 v 1 hosts, converged re-run at 50 ms", ratio(
            runs["8 hosts 0.05"], runs["1 host 0.05"]), "x", HOSTS_GOAL,
               f"{spread(runs['8 hosts 0.05'])['median']:.2f}s vs "
               f"{spread(runs['1 host 0.05'])['median']:.2f}s, paired"),
        figure("fleet 8 v 1 hosts, converged re-run at 0 ms", ratio(
            runs["8 hosts 0.0"], runs["1 host 0.0"]), "x",
               note="information: CPU contention of local users, not latency"),
        figure("fleet 8 v 1 hosts, first converge at 50 ms", eight["first_s"] / one["first_s"],
               "x", note=f"{eight['first_s']:.1f}s vs {one['first_s']:.1f}s, once"),
    ]
    return rows
