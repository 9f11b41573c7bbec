"""deploy.py on @local in a sandbox HOME holding a user's ``~/.claude/settings.json``, against
the local git stand-ins of LiteLLM (as the deploy tests run it):

* a converged re-run against the floor pyinfra itself sets: one operation that reads one fact
  and changes nothing (``files.directory`` on an existing directory), runs alternating, in a
  user's shell (no ``PYTHONDONTWRITEBYTECODE``: this package's bytecode is cached after the first
  run, as for any package);
* the commands a converged re-run runs on the target (pyinfra's shell, logged): as few as the
  facts need (one, which reads the user's settings unprinted), no ``litellm``, nothing that
  installs or fetches;
* compiling this package's modules (information): what each run pays where
  ``PYTHONDONTWRITEBYTECODE`` is set (as on CI machines) and no bytecode is cached;
* the first converge of a fresh HOME with a warm uv cache (information).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path

from toolkit import (
    REPO,
    USER_SETTINGS,
    alternate,
    converged,
    figure,
    ratio,
    run_pyinfra,
    spread,
)

from tests.litellm_sources import make_sources
from tests.support.sandbox import sandbox_env

RERUN_GOAL = 1.2
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
            (home / ".claude").mkdir(parents=True)
            (home / ".claude" / "settings.json").write_text(json.dumps(USER_SETTINGS))
            env = sandbox_env(home, root / "uv-cache")
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's shell
            return env

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
    compiling = [compile_seconds() for _ in range(settings["runs"])]
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
        figure("compiling operations/ and files/ (no cached bytecode)", spread(compiling), "s",
               note="paid by each run where PYTHONDONTWRITEBYTECODE is set and none is cached"),
        figure("first converge, fresh HOME (@local)", spread(first), "s",
               note="warm uv cache, local LiteLLM stand-in"),
    ]


def compile_seconds() -> float:
    """Seconds to compile every module of ``operations/`` and ``files/`` from source."""
    sources = [(path, path.read_text()) for folder in ("operations", "files")
               for path in sorted((REPO / folder).rglob("*.py"))]
    started = time.perf_counter()
    for path, text in sources:
        compile(text, str(path), "exec")
    return time.perf_counter() - started
