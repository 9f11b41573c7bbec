"""The bashes the launcher must run under: this machine's, and macOS's bash 3.2.

bash 3.2 is a real GNU bash 3.2.48 built for Linux, kept outside the repository in
``shared/tools/bash-3.2/bash`` beside the checkout (or beside the main checkout of a git
worktree); ``OPENCLAUDE_BASH32`` names another. Where it is absent its tests are skipped, so a
fresh clone elsewhere still passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RELATIVE = Path("shared/tools/bash-3.2/bash")


def _checkouts() -> list[Path]:
    found = [REPO]
    common = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--path-format=absolute",
                             "--git-common-dir"], capture_output=True, text=True)
    if common.returncode == 0 and common.stdout.strip():
        found.append(Path(common.stdout.strip()).parent)
    return found


def bash32() -> Path | None:
    """macOS's bash version, or None when it is not on this machine."""
    named = os.environ.get("OPENCLAUDE_BASH32")
    candidates = [Path(named)] if named else [root.parent / RELATIVE for root in _checkouts()]
    return next((path for path in candidates if os.access(path, os.X_OK)), None)


@pytest.fixture(scope="session", params=["system", "3.2"], ids=["bash", "bash3.2"])
def launcher_bash(request, tmp_path_factory) -> Path:
    """A directory whose ``bash`` is the one under test: put it first on PATH (the launcher
    starts with ``#!/usr/bin/env bash``)."""
    if request.param == "system":
        found = shutil.which("bash")
    else:
        found = bash32()
        if found is None:
            named = os.environ.get("OPENCLAUDE_BASH32")
            pytest.skip(f"bash 3.2 not found: OPENCLAUDE_BASH32={named} is not executable" if named
                        else f"bash 3.2 not found: no ../{RELATIVE} beside the checkout")
    directory = tmp_path_factory.mktemp(f"bash-{request.param}")
    (directory / "bash").symlink_to(found)
    return directory
