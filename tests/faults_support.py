"""Helpers for tests/test_faults.py: restricted PATHs, trap shims that stop a run at a chosen
command, interrupted and concurrent runs, a throwaway local user, and checks that no file
the user had was lost or half written."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from operations.deploys.openclaude import DEFAULTS
from operations.model.data import load_data
from operations.model.render import config_text
from tests.support.runs import BIN, REPO, Result, grand_total, pyinfra_command
from tests.support.sandbox import Sandbox
from tests.support.processes import add_local_user

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What the target shell needs for a deploy; deliberately without uv and python3.
BASE_TOOLS = (
    "sh", "bash", "env", "cat", "base64", "tr", "stat", "grep", "mkdir", "ln", "mv", "chmod",
    "cmp", "date", "od", "head", "tail", "rm", "mktemp", "readlink", "printf", "cp", "dirname",
    "git", "find", "sleep", "wc", "sed", "ls", "touch", "id", "uname", "sort", "tee", "cksum",
)

# The files the deploy writes, home-relative (the defaults of group_data/all.py).
CONFIG = ".litellm/config.yaml"
KEY = ".litellm/master.key"
CALLBACKS = ".litellm/openclaude_callbacks.py"
SETTINGS_SCRIPT = ".litellm/openclaude_settings.py"
LAUNCHER = ".local/bin/openClaude"
ALIAS = ".local/bin/openclaude"
DERIVED = ".openClaude/settings.json"
USER_SETTINGS = ".claude/settings.json"
# The other files placed beside the config (operations/model/layout.py BESIDE_CONFIG).
HELPERS = tuple(f".litellm/{name}" for name in (
    "openclaude_usage.py", "openclaude_count_tokens.py", "openclaude_bedrock_fields.py",
    "openclaude_passthrough.py", "openclaude_relay.py", "openclaude_aws.py"))
MANAGED = (CONFIG, KEY, CALLBACKS, SETTINGS_SCRIPT, *HELPERS, LAUNCHER, ALIAS, DERIVED)
RECEIPT = ".local/share/uv/tools/litellm/uv-receipt.toml"
LITELLM = ".local/bin/litellm"
KEY_PATTERN = re.compile(r"sk-[0-9a-f]{64}")


# --- PATHs without some tools -----------------------------------------------------------------

def tool_bin(directory: Path, tools=BASE_TOOLS, extra: dict | None = None) -> Path:
    """A bin directory holding links to only ``tools`` (from the system PATH) and ``extra``
    (name -> absolute target, or a ``str`` script body when it starts with ``#!``)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in tools:
        found = shutil.which(name, path=SYSTEM_PATH)
        assert found, f"{name} is needed on this machine for the fault tests"
        (directory / name).symlink_to(found)
    for name, target in (extra or {}).items():
        path = directory / name
        if str(target).startswith("#!"):
            path.write_text(str(target))
            path.chmod(0o755)
        else:
            path.symlink_to(target)
    return directory


def python_without_pip(root: Path) -> str:
    """A ``python3`` wrapper script for a venv that has no pip (like Debian's python3 alone)."""
    venv = root / "nopip"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   capture_output=True)
    return f'#!/bin/sh\nexec {venv}/bin/python3 "$@"\n'


# --- trap shims: stop a run at one command ----------------------------------------------------

_TRAP = """#!/bin/sh
# Test shim for {tool}: with OPENCLAUDE_TRAP={tool}:PATTERN, a call whose arguments contain
# PATTERN touches $OPENCLAUDE_TRAP_MARKER and then waits: until $OPENCLAUDE_TRAP_RELEASE exists
# (then runs the real command), or forever (the test kills the run). OPENCLAUDE_TRAP_HALF=1 makes
# cp write half of its source first, as an upload cut off in the middle.
if [ "${{OPENCLAUDE_TRAP%%:*}}" = {tool} ] && [ ! -e "$OPENCLAUDE_TRAP_MARKER" ]; then
  case "$*" in
    *"${{OPENCLAUDE_TRAP#*:}}"*)
      if [ "${{OPENCLAUDE_TRAP_HALF:-}}" = 1 ]; then
        size=$(wc -c < "$1"); head -c $((size / 2)) "$1" > "$2"
      fi
      : > "$OPENCLAUDE_TRAP_MARKER"
      if [ -n "${{OPENCLAUDE_TRAP_RELEASE:-}}" ]; then
        while [ ! -e "$OPENCLAUDE_TRAP_RELEASE" ]; do sleep 0.05; done
      else
        exec sleep 600
      fi ;;
  esac
fi
exec {real} "$@"
"""


def trap_bin(directory: Path) -> Path:
    """Shims for cp, mv, ln and uv that pass through unless a trap is set in the environment."""
    directory.mkdir(parents=True, exist_ok=True)
    for tool in ("cp", "mv", "ln"):
        real = shutil.which(tool, path=SYSTEM_PATH)
        (directory / tool).write_text(_TRAP.format(tool=tool, real=real))
    (directory / "uv").write_text(_TRAP.format(tool="uv", real=BIN / "uv"))
    for shim in directory.iterdir():
        shim.chmod(0o755)
    return directory


# --- running pyinfra in the background ----------------------------------------------------------

@dataclass
class Background:
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the run and every command it started (as when the terminal or machine dies)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)

    def wait(self, timeout: float = 300) -> Result:
        self.process.wait(timeout=timeout)
        stdout = self.log.with_suffix(".out").read_text(errors="replace")
        return Result(self.process.returncode, stdout, self.output(), **grand_total(stdout))


def start(sandbox: Sandbox, script: str, *options: str, data: dict | None = None,
          env: dict | None = None, log: Path) -> Background:
    """Start pyinfra in its own session (so a kill reaches its commands), logging to ``log``."""
    out = log.with_suffix(".out")
    with open(log, "w") as err_file, open(out, "w") as out_file:
        process = subprocess.Popen(
            sandbox.command(script, *options, data=data), cwd=REPO,
            env={**sandbox.env, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdin=subprocess.DEVNULL, stdout=out_file, stderr=err_file, start_new_session=True,
        )
    return Background(process, log)


def wait_for(condition, run: Background, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if run.process.poll() is not None:
            raise AssertionError(f"the run ended before {what}:\n{run.output()}")
        if time.monotonic() > deadline:
            run.kill()
            raise AssertionError(f"timed out waiting for {what}:\n{run.output()}")
        time.sleep(0.02)


# --- the run lock -------------------------------------------------------------------------------

LOCK = ".openclaude.lock"


def write_run_lock(home: Path, *, pid: int, started: str, boot: str) -> Path:
    """A lock as another openClaude run leaves it, its owner ``pid`` (start token, boot)."""
    lock = home / LOCK
    lock.mkdir()
    (lock / "owner").write_text(f"run=elsewhere\npid={pid}\nstarted={started}\nboot={boot}\n"
                                "since=2026-01-01T00:00:00Z\nabout=deploy.py run from elsewhere\n")
    return lock


# --- checks ---------------------------------------------------------------------------------------

def backups_of(snapshot: dict, relative: str) -> dict:
    return {path: value for path, value in snapshot.items()
            if path.startswith(relative + ".") and path.endswith(".bak")}


def lost_files(before: dict, after: dict) -> list[str]:
    """Pre-existing files that are neither as they were nor kept byte-for-byte in a backup."""
    lost = []
    for path, old in before.items():
        if after.get(path) == old:
            continue
        if old[0] != "link" and any(
            value[0] == old[0] for value in backups_of(after, path).values()
        ):
            continue
        lost.append(path)
    return lost


def temp_files(home: Path) -> list[str]:
    """Temp files the deploy's commands leave under HOME (outside uv's own directories)."""
    return sorted(
        path.relative_to(home).as_posix() for path in home.rglob("*.tmp")
        if not path.relative_to(home).as_posix().startswith((".local/share/uv", ".cache"))
    )


def config_shape(config) -> tuple:
    """A config's top-level keys and number of routes: a file cut short lacks some of them."""
    return (list(config), len(config["model_list"])) if isinstance(config, dict) else ()


def parse_problems(home: Path) -> list[str]:
    """Managed files that exist but are not complete, well-formed files of their kind."""
    problems = []

    def check(relative, test):
        path = home / relative
        if not path.exists():
            return
        try:
            if not test(path):
                problems.append(f"{relative}: unexpected content")
        except Exception as error:  # noqa: BLE001 - any parse error is the finding
            problems.append(f"{relative}: {type(error).__name__}: {error}")

    check(CONFIG, lambda p: config_shape(yaml.safe_load(p.read_text())) == config_shape(
        yaml.safe_load(config_text(load_data(DEFAULTS, "oauth")))))
    check(DERIVED, lambda p: isinstance(json.loads(p.read_text()), dict))
    check(USER_SETTINGS, lambda p: True)
    check(KEY, lambda p: KEY_PATTERN.fullmatch(p.read_text().strip()) is not None)
    check(CALLBACKS, lambda p: compile(p.read_text(), str(p), "exec") is not None)
    check(SETTINGS_SCRIPT, lambda p: compile(p.read_text(), str(p), "exec") is not None)
    check(LAUNCHER, lambda p: subprocess.run(["bash", "-n", str(p)]).returncode == 0)
    return problems


def mode_of_file(home: Path, relative: str) -> str | None:
    """oauth/bedrock as recorded in the config header and the launcher, per file."""
    path = home / relative
    if not path.exists():
        return None
    text = path.read_text()
    match = re.search(r"\((oauth|bedrock) mode\)|^OPENCLAUDE_MODE=(oauth|bedrock)$", text, re.M)
    return match and (match.group(1) or match.group(2))


# --- a throwaway unprivileged user ---------------------------------------------------------------

@dataclass
class LocalUser:
    name: str
    uid: int
    gid: int
    home: Path
    base: Path

    def chown_home(self) -> None:
        for root, dirs, files in os.walk(self.home):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(root, name), self.uid, self.gid)
        os.lchown(self.home, self.uid, self.gid)

    def readable(self, path: Path) -> Path:
        """``path``, or a copy of it under this user's base when the user cannot reach it (a
        checkout or venv under a private directory such as /root)."""
        if subprocess.run(["runuser", "-u", self.name, "--", "test", "-r", str(path), "-a", "-x",
                           str(path)], capture_output=True).returncode == 0:
            return path
        copy = self.base / "copies" / path.name
        if path.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
        elif not copy.exists():
            ignore = shutil.ignore_patterns(".git", ".venv", ".cache", "__pycache__")
            shutil.copytree(path, copy, symlinks=True, ignore=ignore)
        for root, dirs, _ in os.walk(self.base / "copies"):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
        os.chmod(self.base / "copies", 0o755)
        return copy

    def pyinfra(self, script: str, *options: str, data: dict, path: str) -> Result:
        """pyinfra @local as this user. The venv's python may live under /root (0700), so the
        system python of the same version runs pyinfra from the venv's site-packages."""
        python = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
        site = self.readable(Path(sysconfig.get_paths()["purelib"]))
        bootstrap = (f"import sys; sys.path.insert(0, {str(site)!r}); sys.argv[0] = 'pyinfra'; "
                     "from pyinfra_cli.main import main; sys.exit(main())")
        as_user = ("runuser", "-u", self.name, "--", "env", "-i", f"HOME={self.home}",
                   f"PATH={path}", "LANG=C.UTF-8", f"USER={self.name}", f"TMPDIR={self.base}/tmp",
                   python, "-c", bootstrap)
        args = pyinfra_command("@local", script, *options, data=data, program=as_user,
                               yes="--dry" not in options)
        completed = subprocess.run(args, cwd=self.readable(REPO), capture_output=True, text=True,
                                   timeout=300, stdin=subprocess.DEVNULL)
        return Result.of(completed)


def system_python_available() -> bool:
    return Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}").exists()


def add_user() -> LocalUser:
    base = Path(tempfile.mkdtemp(prefix="openclaude-faults-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    try:
        entry = add_local_user("ocf", base)
    except RuntimeError:
        shutil.rmtree(base, ignore_errors=True)
        raise
    home = Path(entry.pw_dir)
    tmp = base / "tmp"
    tmp.mkdir()
    os.chown(tmp, entry.pw_uid, entry.pw_gid)
    return LocalUser(entry.pw_name, entry.pw_uid, entry.pw_gid, home, base)


def remove_user(user: LocalUser) -> None:
    for _ in range(50):
        subprocess.run(["userdel", "-r", user.name], capture_output=True, text=True)
        try:
            pwd.getpwnam(user.name)
        except KeyError:
            break
        time.sleep(0.2)
    shutil.rmtree(user.base, ignore_errors=True)
