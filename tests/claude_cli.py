"""The real Claude Code CLI for end-to-end tests, pinned and installed under ``.cache/node``.

``.ci/run`` installs it before the tests with the same command this module falls back to:

    npm install --prefix .cache/node --no-save @anthropic-ai/claude-code@2.1.197

The session fixture ``claude_cli`` returns the directory holding the ``claude`` executable
(put it on PATH), after checking that ``claude --version`` prints the pinned version.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CLAUDE_CODE_VERSION = "2.1.197"
CLAUDE_CODE_PACKAGE = f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}"
NODE_PREFIX = REPO / ".cache" / "node"
CLAUDE_BIN_DIR = NODE_PREFIX / "node_modules" / ".bin"
INSTALL_COMMAND = ("npm", "install", "--prefix", str(NODE_PREFIX), "--no-save", CLAUDE_CODE_PACKAGE)


def installed_version(bin_dir: Path = CLAUDE_BIN_DIR) -> str | None:
    """What ``claude --version`` prints first ("2.1.197"), or None when it does not run.

    Run with a throwaway HOME and config dir so the check writes nothing of the user's.
    """
    claude = bin_dir / "claude"
    if not os.access(claude, os.X_OK):
        return None
    with tempfile.TemporaryDirectory(prefix="claude-version-") as home:
        env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
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


def install() -> subprocess.CompletedProcess:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is needed to install {CLAUDE_CODE_PACKAGE} (the real Claude Code CLI)")
    NODE_PREFIX.mkdir(parents=True, exist_ok=True)
    return subprocess.run([npm, *INSTALL_COMMAND[1:]], cwd=REPO, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)


def ensure_claude() -> Path:
    """The directory holding ``claude`` at the pinned version; installs it when needed."""
    NODE_PREFIX.parent.mkdir(parents=True, exist_ok=True)
    # One installer at a time: parallel test sessions share .cache/node.
    with open(NODE_PREFIX.parent / "node.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        version = installed_version()
        if version != CLAUDE_CODE_VERSION:
            done = install()
            if done.returncode != 0:
                pytest.fail(f"{' '.join(INSTALL_COMMAND)} failed ({done.returncode}):\n"
                            f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
            version = installed_version()
    if version != CLAUDE_CODE_VERSION:
        pytest.fail(f"{CLAUDE_BIN_DIR / 'claude'} --version gave {version!r}, "
                    f"expected {CLAUDE_CODE_VERSION}")
    return CLAUDE_BIN_DIR


@pytest.fixture(scope="session")
def claude_cli() -> Path:
    """Directory holding the real ``claude`` (Claude Code ``CLAUDE_CODE_VERSION``), for PATH."""
    return ensure_claude()
