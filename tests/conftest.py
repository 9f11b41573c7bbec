"""Shared fixtures: a sandbox HOME with real uv, local git stand-ins for LiteLLM's sources,
and a runner for the real pyinfra CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.litellm_sources import make_local_sources, make_sources
from tests.sshfleet import make_ssh_fleet, ssh_fleet, ssh_fleet_module  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Environment a user's shell would not pass to a deploy; removed so tests see only their sandbox.
SCRUBBED = ("UV_TOOL_DIR", "UV_TOOL_BIN_DIR", "XDG_DATA_HOME", "XDG_BIN_HOME", "XDG_CONFIG_HOME",
            "VIRTUAL_ENV", "PYINFRA_YES", "ANTHROPIC_API_KEY", "CLAUDE_CONFIG_DIR")


@pytest.fixture(scope="session")
def litellm_sources(tmp_path_factory):
    return make_sources(tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="session")
def local_sources(tmp_path_factory):
    """LiteLLM's release as a local directory and a wheel file (``directory``, ``wheel``)."""
    return make_local_sources(tmp_path_factory.mktemp("local-sources"), BIN / "uv")


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory):
    """One uv cache for the session: sandboxes get fresh homes, not fresh downloads."""
    return tmp_path_factory.mktemp("uv-cache")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    changed: int | None = None
    unchanged: int | None = None
    errors: int | None = None
    per_host: dict = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Sandbox:
    """A temporary HOME on this machine, deployed to with ``pyinfra @local``."""

    home: Path
    env: dict
    sources: dict
    data: dict = field(default_factory=dict)

    def path(self, relative: str) -> Path:
        return self.home / relative

    def pyinfra(self, script: str, *options: str, data: dict | None = None) -> Result:
        merged = {**self.data, **(data or {})}
        # -y skips change detection, which --dry needs to show anything.
        confirm = [] if "--dry" in options else ["-y"]
        json_output = [] if "--diff" in options else ["--json"]
        args = [str(BIN / "pyinfra"), "@local", script, *confirm, *json_output, *options]
        for key, value in merged.items():
            args += ["--data", f"{key}={value}"]
        completed = subprocess.run(
            args, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=900,
            stdin=subprocess.DEVNULL,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr,
                      **grand_total(completed.stdout))

    def snapshot(self) -> dict:
        """Every file under HOME (but uv's tools and cache): path -> (bytes, mode)."""
        files = {}
        for path in sorted(self.home.rglob("*")):
            relative = path.relative_to(self.home).as_posix()
            if relative.startswith((".local/share/uv", ".cache")) or path.is_dir():
                continue
            if path.is_symlink():
                files[relative] = ("link", os.readlink(path))
            else:
                files[relative] = (path.read_bytes(), path.stat().st_mode & 0o7777)
        return files


def grand_total(stdout: str) -> dict:
    """Totals over operations and hosts from ``pyinfra --json`` results."""
    try:
        operations = json.loads(stdout)["results"]["operations"]
    except (ValueError, KeyError, TypeError):
        return {}
    return {
        "changed": sum(len(op["success"]) for op in operations),
        "unchanged": sum(len(op["no_change"]) for op in operations),
        "errors": sum(len(op["error"]) for op in operations),
        "per_host": per_host(operations),
    }


def per_host(operations: list) -> dict:
    """``{host: {"changed": n, "unchanged": n, "errors": n}}`` from ``--json`` results."""
    hosts: dict = {}
    for op in operations:
        for key, column in (("changed", "success"), ("unchanged", "no_change"), ("errors", "error")):
            for name in op[column]:
                hosts.setdefault(name, {"changed": 0, "unchanged": 0, "errors": 0})[key] += 1
    return hosts


def sandbox_env(home: Path, uv_cache: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
    env.update(HOME=str(home), UV_CACHE_DIR=str(uv_cache),
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


def home_sandbox(home: Path, litellm_sources: dict, uv_cache: Path) -> Sandbox:
    """A Sandbox for the existing directory ``home``, deploying the local LiteLLM stand-ins."""
    return Sandbox(
        home=home,
        env=sandbox_env(home, uv_cache),
        sources=litellm_sources,
        data={"litellm_release": litellm_sources["release"], "litellm_fork": litellm_sources["fork"]},
    )


@pytest.fixture
def sandbox(tmp_path, litellm_sources, uv_cache):
    home = tmp_path / "home"
    home.mkdir()
    return home_sandbox(home, litellm_sources, uv_cache)


@pytest.fixture
def uv_calls(sandbox, tmp_path):
    """Log every uv command the sandbox's runs make: a shim first on PATH, then the real uv.
    Returns a function giving the logged argument lines so far."""
    shim_dir = tmp_path / "uv-shim"
    shim_dir.mkdir()
    log = tmp_path / "uv-calls.log"
    shim = shim_dir / "uv"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {BIN / "uv"} "$@"\n')
    shim.chmod(0o755)
    sandbox.env["PATH"] = f"{shim_dir}{os.pathsep}{sandbox.env['PATH']}"
    return lambda: log.read_text().splitlines() if log.exists() else []


@pytest.fixture(scope="session")
def git_available():
    assert shutil.which("git"), "git is needed for the LiteLLM source stand-ins"
