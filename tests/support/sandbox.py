"""A sandbox HOME on this machine, deployed to with ``pyinfra @local``."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.runs import BIN, REPO, Result, pyinfra_command, scrubbed_environment


@dataclass
class Sandbox:
    """A temporary HOME on this machine, deployed to with ``pyinfra @local``."""

    home: Path
    env: dict
    sources: dict
    data: dict = field(default_factory=dict)

    def path(self, relative: str) -> Path:
        return self.home / relative

    def command(self, script: str, *options: str, data: dict | None = None) -> list[str]:
        """``pyinfra @local SCRIPT`` with the sandbox's data and ``data`` over it."""
        # -y skips change detection, which --dry needs to show anything.
        return pyinfra_command("@local", script, *options, data={**self.data, **(data or {})},
                               yes="--dry" not in options, json_output="--diff" not in options)

    def pyinfra(self, script: str, *options: str, data: dict | None = None) -> Result:
        completed = subprocess.run(
            self.command(script, *options, data=data), cwd=REPO, env=self.env,
            capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
        )
        return Result.of(completed)

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


def sandbox_env(home: Path, uv_cache: Path) -> dict:
    """This environment without ``SCRUBBED``, with ``home``, ``uv_cache`` and the venv's bin."""
    env = scrubbed_environment()
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
