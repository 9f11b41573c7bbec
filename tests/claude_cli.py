"""The real Claude Code CLI for end-to-end tests, installed under ``.cache``.

Which version, one switch: the environment variable ``OPENCLAUDE_CLAUDE_CODE``

* unset or ``pinned``: ``CLAUDE_CODE_VERSION`` below, in ``.cache/node``. ``.ci/run`` installs it
  before the tests with the same command this module falls back to:

      npm install --prefix .cache/node --no-save @anthropic-ai/claude-code@2.1.332

* ``latest``: the newest version the registry serves, asked with ``npm view --prefer-online``
  (a plain ``npm install`` can resolve an older "latest" from npm's cached metadata), installed
  at that exact version into its own prefix ``.cache/node-<version>``;
* an exact version (``2.1.197``): that one, in ``.cache/node-<version>``.

The session fixture ``claude_cli`` returns the directory holding the ``claude`` executable
(put it on PATH), after checking that ``claude --version`` prints the wanted version.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CLAUDE_CODE_VERSION = "2.1.332"
PACKAGE = "@anthropic-ai/claude-code"
VERSION_SWITCH = "OPENCLAUDE_CLAUDE_CODE"
NODE_PREFIX = REPO / ".cache" / "node"
VERSION_PATTERN = re.compile(r"\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?")


def node_prefix(version: str) -> Path:
    """Where ``version`` is installed: the pin in ``.cache/node`` (as ``.ci/run`` does), others apart."""
    return NODE_PREFIX if version == CLAUDE_CODE_VERSION else REPO / ".cache" / f"node-{version}"


def bin_dir(version: str) -> Path:
    return node_prefix(version) / "node_modules" / ".bin"


def install_command(version: str) -> tuple:
    return ("npm", "install", "--prefix", str(node_prefix(version)), "--no-save", f"{PACKAGE}@{version}")


def newest_version() -> str:
    """The newest Claude Code the registry serves, asked past npm's metadata cache."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is needed to ask the registry for the newest {PACKAGE}")
    done = subprocess.run([npm, "view", "--prefer-online", PACKAGE, "version"], cwd=REPO,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    version = done.stdout.strip()
    if done.returncode != 0 or not VERSION_PATTERN.fullmatch(version):
        pytest.fail(f"npm view --prefer-online {PACKAGE} version failed ({done.returncode}): "
                    f"{done.stdout[-500:]}{done.stderr[-1000:]}")
    return version


def wanted_version(choice: str | None = None) -> str:
    """The version ``OPENCLAUDE_CLAUDE_CODE`` (or ``choice``) asks for: pinned, latest, or exact."""
    if choice is None:
        choice = os.environ.get(VERSION_SWITCH, "")
    choice = choice.strip() or "pinned"
    if choice == "pinned":
        return CLAUDE_CODE_VERSION
    if choice == "latest":
        return newest_version()
    if not VERSION_PATTERN.fullmatch(choice):
        pytest.fail(f"{VERSION_SWITCH}={choice!r}: expected pinned, latest or a version like 2.1.332")
    return choice


def installed_version(directory: Path) -> str | None:
    """What ``claude --version`` prints first ("2.1.332"), or None when it does not run.

    Run with a throwaway HOME and config dir so the check writes nothing of the user's.
    """
    claude = directory / "claude"
    if not os.access(claude, os.X_OK):
        return None
    with tempfile.TemporaryDirectory(prefix="claude-version-") as home:
        env = {
            "PATH": f"{directory}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": home,
            "CLAUDE_CONFIG_DIR": home,
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        try:
            done = subprocess.run([str(claude), "--version"], env=env, capture_output=True,
                                  text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None
    words = done.stdout.split()
    return words[0] if done.returncode == 0 and words else None


def install(version: str) -> subprocess.CompletedProcess:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is needed to install {PACKAGE}@{version} (the real Claude Code CLI)")
    node_prefix(version).mkdir(parents=True, exist_ok=True)
    return subprocess.run([npm, *install_command(version)[1:]], cwd=REPO, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)


def ensure_claude(version: str = CLAUDE_CODE_VERSION) -> Path:
    """The directory holding ``claude`` at ``version``; installs it when needed."""
    directory = bin_dir(version)
    NODE_PREFIX.parent.mkdir(parents=True, exist_ok=True)
    # One installer at a time: parallel test sessions share .cache.
    with open(NODE_PREFIX.parent / "node.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = installed_version(directory)
        if found != version:
            done = install(version)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(install_command(version))} failed ({done.returncode}):\n"
                            f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
            found = installed_version(directory)
    if found != version:
        pytest.fail(f"{directory / 'claude'} --version gave {found!r}, expected {version}")
    return directory


@pytest.fixture(scope="session")
def claude_cli() -> Path:
    """Directory holding the real ``claude`` at the version ``OPENCLAUDE_CLAUDE_CODE`` asks for."""
    return ensure_claude(wanted_version())
