"""deploy.py on @local in a sandbox HOME, against the local git stand-ins of LiteLLM (as the
deploy tests run it):

* a converged re-run against the floor pyinfra itself sets: one operation that reads one fact
  and changes nothing (``files.directory`` on an existing directory), runs alternating;
* the commands a converged re-run runs on the target (pyinfra's shell, logged): as few as the
  facts need (one), no ``litellm``, nothing that installs or fetches;
* the first converge of a fresh HOME with a warm uv cache (information).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from toolkit import alternate, converged, figure, ratio, run_pyinfra, spread

from tests.litellm_sources import make_sources
from tests.support.sandbox import sandbox_env

RERUN_GOAL = 1.5
FLOOR = """from pyinfra.operations import files

files.directory(name="floor: an existing directory", path={path!r})
"""
FETCHING = ("uv tool install", "pip install", "git ", "curl", "wget")


def measure(settings: dict) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="openclaude-bench-") as directory:
        root = Path(directory)
        sources = make_sources(root / "sources")
        data = {"litellm_release": sources["release"], "litellm_fork": sources["fork"]}
        (root / "existing").mkdir()
        floor = root / "floor.py"
        floor.write_text(FLOOR.format(path=str(root / "existing")))
        homes = iter(range(1000))

        def fresh_env() -> dict:
            home = root / f"home-{next(homes)}"
            home.mkdir()
            return sandbox_env(home, root / "uv-cache")

        env = fresh_env()
        run_pyinfra("@local", "deploy.py", env=env, data=data)  # converges, warms the uv cache
        runs = alternate(settings["runs"], {
            "deploy": lambda: converged(run_pyinfra("@local", "deploy.py", env=env, data=data)),
            "floor": lambda: converged(run_pyinfra("@local", floor, env=env)),
        })
        commands = run_pyinfra("@local", "deploy.py", env=env, data=data,
                               log_commands=True)["commands"]
        first = [run_pyinfra("@local", "deploy.py", env=fresh_env(), data=data)["seconds"]
                 for _ in range(settings["first_runs"])]
    deploy = [run["seconds"] for run in runs["deploy"]]
    floor_seconds = [run["seconds"] for run in runs["floor"]]
    litellm = sum(bool(re.search(r"(^|[/\s])litellm(\s|$)", c["command"])) for c in commands)
    fetching = [word.strip() for word in FETCHING if any(word in c["command"] for c in commands)]
    commands_row = figure("target commands, converged re-run", len(commands), "", 1,
                          f"litellm runs {litellm}; installs or fetches: "
                          f"{', '.join(fetching) or 'none'}")
    commands_row["met"] = commands_row["met"] and not litellm and not fetching
    return [
        figure("converged re-run / floor (@local)", ratio(deploy, floor_seconds), "x", RERUN_GOAL,
               f"{spread(deploy)['median']:.2f}s vs {spread(floor_seconds)['median']:.2f}s; "
               "floor: files.directory on an existing directory"),
        commands_row,
        figure("first converge, fresh HOME (@local)", spread(first), "s",
               note="warm uv cache, local LiteLLM stand-in"),
    ]
