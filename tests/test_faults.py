"""Faults and bad inputs: what the deploy does when things go wrong on a machine someone works on.

Each case checks three things: a clear message naming the file or host and the problem, the
exit status, and that every file that was there before is byte-for-byte as it was (or, where
the run legitimately replaced it, kept in a backup beside it). ``--dry`` never changes anything.
"""

from __future__ import annotations

import base64
import json
import os
import re
import runpy
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from files.openclaude_settings import derive_settings
from operations.deploys.openclaude import DEFAULTS
from operations.model.data import load_data
from operations.model.render import settings_tiers
from operations.model.sources import installed_source, wanted_source
from tests.faults_support import (
    CALLBACKS,
    LOCK,
    CONFIG,
    DERIVED,
    KEY,
    KEY_PATTERN,
    LAUNCHER,
    LITELLM,
    MANAGED,
    RECEIPT,
    SETTINGS_SCRIPT,
    SYSTEM_PATH,
    USER_SETTINGS,
    add_user,
    backups_of,
    lost_files,
    mode_of_file,
    parse_problems,
    python_without_pip,
    remove_user,
    start,
    system_python_available,
    temp_files,
    tool_bin,
    trap_bin,
    wait_for,
    write_run_lock,
)
from tests.litellm_sources import make_unbuildable_source
from tests.support.processes import boot_id, start_token
from tests.support.runs import BIN, REPO, logged_commands, logging_shell
from tests.support.sandbox import Sandbox, sandbox_env

# A token in the user's own settings: the derived file carries it (under a name the OAuth state
# keeps; ANTHROPIC_AUTH_TOKEN is left out there), so it must never be shown.
USER_TOKEN = "sk-ant-oat01-FAULTS-TEST-TOKEN-0123456789abcdef"
SETTINGS = {
    "model": "us.anthropic.claude-opus-4-6-v1",
    "awsAuthRefresh": "aws sso login",
    "permissions": {"allow": ["Bash(git status)"]},
    "env": {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_PROFILE": "work",
            "ANTHROPIC_AUTH_TOKEN": USER_TOKEN, "NPM_TOKEN": USER_TOKEN},
}
# What the default OAuth deploy gives Claude Code's slots (derived from group_data, as it does).
TIERS = settings_tiers(load_data(DEFAULTS, "oauth"))
# A run that changes the LiteLLM source, the config, the launcher and the derived settings.
# (The slots follow Claude Code by default: pinning opus is what changes the launcher and settings.)
CHANGE = {"litellm_source": "fork", "long_context": False, "aws_region": "eu-west-1",
          "opus_model_name": "claude-opus-4-6"}
NO_CHANGE_SUFFIX = "; fix it and re-run (no file was changed)"


def write(sandbox: Sandbox, relative: str, content) -> Path:
    path = sandbox.path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2),
                        encoding="utf-8")
    return path


def assert_dry_changes_nothing(sandbox: Sandbox, script: str = "deploy.py", **kwargs) -> str:
    before = sandbox.snapshot()
    result = sandbox.pyinfra(script, "--dry", **kwargs)
    assert sandbox.snapshot() == before, f"--dry changed files:\n{result.output}"
    return result.output


def assert_failed_cleanly(sandbox: Sandbox, result, before: dict, message: str) -> None:
    """Exit 1, the message in the output, and not one file touched."""
    assert result.returncode == 1, result.output
    assert message in result.output, result.output
    assert sandbox.snapshot() == before


def receipt(sandbox: Sandbox) -> str | None:
    path = sandbox.path(RECEIPT)
    return path.read_text() if path.exists() else None


def litellm_runs(sandbox: Sandbox) -> str:
    done = subprocess.run([str(sandbox.path(LITELLM))], capture_output=True, text=True,
                          env=sandbox.env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def converges(sandbox: Sandbox, script: str = "deploy.py", data: dict | None = None) -> None:
    """A run succeeds and the next one changes nothing."""
    first = sandbox.pyinfra(script, data=data)
    assert first.returncode == 0, first.output
    again = sandbox.pyinfra(script, data=data)
    assert (again.returncode, again.changed, again.errors) == (0, 0, 0), again.output


# --- fixtures --------------------------------------------------------------------------------

def new_sandbox(home: Path, sources: dict, uv_cache: Path) -> Sandbox:
    home.mkdir(parents=True, exist_ok=True)
    env = sandbox_env(home, uv_cache)
    tmp = home.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp)
    return Sandbox(home=home, env=env, sources=sources,
                   data={"litellm_release": sources["release"], "litellm_fork": sources["fork"]})


@pytest.fixture
def fresh(tmp_path, litellm_sources, uv_cache):
    """An empty HOME holding only the user's Claude Code settings."""
    sandbox = new_sandbox(tmp_path / "home", litellm_sources, uv_cache)
    write(sandbox, USER_SETTINGS, SETTINGS)
    return sandbox


@pytest.fixture(scope="module")
def deployed_template(tmp_path_factory, litellm_sources, uv_cache):
    """One deploy per module, copied back for each test (same path: the files hold it)."""
    root = tmp_path_factory.mktemp("faults-deployed")
    sandbox = new_sandbox(root / "home", litellm_sources, uv_cache)
    write(sandbox, USER_SETTINGS, SETTINGS)
    result = sandbox.pyinfra("deploy.py")
    assert result.returncode == 0, result.output
    shutil.copytree(sandbox.home, root / "template", symlinks=True)
    return root


@pytest.fixture
def deployed(deployed_template, litellm_sources, uv_cache):
    """A HOME in the openClaude state (mixed mode, official release), with user settings."""
    home = deployed_template / "home"
    shutil.rmtree(home)
    shutil.copytree(deployed_template / "template", home, symlinks=True)
    tmp = deployed_template / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    return new_sandbox(home, litellm_sources, uv_cache)


# --- ~/.claude/settings.json --------------------------------------------------------------------

# case: (content, the message, the script that meets it: both read the settings the same way)
BAD_SETTINGS = {
    "invalid-json": ('{"model": "x",\n  "env": {"A": "1",}\n}',
                     "~/.claude/settings.json: invalid JSON at line 2 column 20", "deploy.py"),
    "json-array": ('[{"model": "x"}]',
                   "~/.claude/settings.json: expected a JSON object at the top level",
                   "rollback.py"),
    "json-string": ('"model"', "~/.claude/settings.json: expected a JSON object at the top level",
                    "deploy.py"),
    "env-array": ('{"env": ["AWS_PROFILE=work"]}',
                  '~/.claude/settings.json: "env" must be a JSON object', "rollback.py"),
    "env-string": ('{"env": "AWS_PROFILE=work"}',
                   '~/.claude/settings.json: "env" must be a JSON object', "deploy.py"),
    "not-utf8": (b'{"model": "caf\xe9"}', "~/.claude/settings.json: is not UTF-8 text",
                 "rollback.py"),
}


@pytest.mark.parametrize("case", BAD_SETTINGS)
def test_bad_user_settings_fail_before_any_change(deployed, case):
    content, message, script = BAD_SETTINGS[case]
    write(deployed, USER_SETTINGS, content)
    before = deployed.snapshot()
    assert_dry_changes_nothing(deployed, script)

    result = deployed.pyinfra(script)
    assert_failed_cleanly(deployed, result, before, message)
    assert NO_CHANGE_SUFFIX in result.output
    assert NO_CHANGE_SUFFIX in result.output


@pytest.mark.parametrize("kind", ["directory", "dangling-symlink"])
def test_user_settings_that_are_not_a_file_fail_before_any_change(deployed, kind):
    path = deployed.path(USER_SETTINGS)
    path.unlink()
    if kind == "directory":
        path.mkdir()
    else:
        path.symlink_to("../dotfiles/claude/settings.json")  # a dotfiles checkout not made yet
    before = deployed.snapshot()
    assert_dry_changes_nothing(deployed)

    result = deployed.pyinfra("deploy.py")
    assert_failed_cleanly(deployed, result, before,
                          "~/.claude/settings.json: is not a regular file" + NO_CHANGE_SUFFIX)


def test_dry_run_names_the_input_problem(deployed):
    write(deployed, USER_SETTINGS, "[1, 2]")
    output = assert_dry_changes_nothing(deployed)
    assert "~/.claude/settings.json: expected a JSON object at the top level" in output


@pytest.mark.parametrize("content", ["", " \n\t\n"], ids=["empty", "whitespace"])
def test_empty_user_settings_count_as_empty(deployed, content):
    source = write(deployed, USER_SETTINGS, content)
    before = deployed.snapshot()
    assert_dry_changes_nothing(deployed)

    result = deployed.pyinfra("deploy.py")
    assert result.returncode == 0, result.output
    assert json.loads(deployed.path(DERIVED).read_text()) == derive_settings({}, TIERS)
    assert source.read_bytes() == content.encode()
    assert lost_files(before, deployed.snapshot()) == []
    assert len(backups_of(deployed.snapshot(), DERIVED)) == 1


def test_user_settings_symlinked_into_a_dotfiles_repository(deployed):
    dotfiles = deployed.path("dotfiles")
    mine = {**SETTINGS, "statusLine": {"type": "command", "command": "~/bin/status"}}
    target = write(deployed, "dotfiles/claude/settings.json", mine)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "dotfiles"]):
        subprocess.run(["git", "-c", "user.email=t@localhost", "-c", "user.name=t", *args],
                       cwd=dotfiles, check=True, capture_output=True)
    link = deployed.path(USER_SETTINGS)
    link.unlink()
    link.symlink_to("../dotfiles/claude/settings.json")
    before = deployed.snapshot()
    assert_dry_changes_nothing(deployed)

    result = deployed.pyinfra("deploy.py")
    assert result.returncode == 0, result.output
    assert lost_files(before, deployed.snapshot()) == []
    assert os.readlink(link) == "../dotfiles/claude/settings.json"
    assert target.read_bytes() == before["dotfiles/claude/settings.json"][0]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=dotfiles,
                            capture_output=True, text=True, check=True)
    assert status.stdout == ""
    assert json.loads(deployed.path(DERIVED).read_text()) == derive_settings(mine, TIERS)
    again = deployed.pyinfra("deploy.py")
    assert (again.returncode, again.changed) == (0, 0), again.output


def large_unicode_settings() -> dict:
    words = ["naïve café", "日本語のテキスト", "עברית", "emoji 🦀🚀👩‍💻", "e\u0301", "Ω≈ç√∫",
             "tab\tand \"quotes\" and \\ backslash", "\u2028line separator", "NUL \u0000 inside"]
    allow, size = [], 0
    while size < 1_000_000:
        allow.append(f"Bash(echo {words[len(allow) % len(words)]} {len(allow)})")
        size += len(allow[-1].encode())
    return {**SETTINGS, "permissions": {"allow": allow}, "𝒰nicode key": "ü"}


def test_very_large_unicode_user_settings(deployed):
    settings = large_unicode_settings()
    source = write(deployed, USER_SETTINGS, json.dumps(settings, ensure_ascii=False))
    assert source.stat().st_size > 1_000_000
    before = deployed.snapshot()
    assert_dry_changes_nothing(deployed)

    started = time.monotonic()
    result = deployed.pyinfra("deploy.py")
    assert result.returncode == 0, result.output
    assert time.monotonic() - started < 60
    assert json.loads(deployed.path(DERIVED).read_text(encoding="utf-8")) == derive_settings(
        settings, TIERS)
    assert source.read_bytes() == before[USER_SETTINGS][0]
    assert lost_files(before, deployed.snapshot()) == []
    again = deployed.pyinfra("deploy.py")
    assert (again.returncode, again.changed) == (0, 0), again.output


def test_lone_surrogate_in_user_settings_fails_before_any_change(deployed):
    write(deployed, USER_SETTINGS, '{"statusLine": "\\ud800", "env": {}}')
    before = deployed.snapshot()
    result = deployed.pyinfra("rollback.py")
    assert_failed_cleanly(deployed, result, before, "~/.claude/settings.json: ")
    assert "Traceback" not in result.output


# --- unreadable settings, as an unprivileged user (root reads anything) ------------------------

@pytest.fixture
def local_user():
    if os.geteuid() != 0 or not shutil.which("useradd") or not system_python_available():
        pytest.skip("needs root, useradd and a system python of the venv's version")
    user = add_user()
    yield user
    remove_user(user)


@pytest.mark.parametrize("blocked", [
    USER_SETTINGS,
    ".claude",
], ids=["file-mode-000", "directory-mode-000"])
def test_unreadable_user_settings(local_user, litellm_sources, uv_cache, blocked):
    user = local_user
    sandbox = new_sandbox(user.home, litellm_sources, uv_cache)
    write(sandbox, USER_SETTINGS, SETTINGS)
    assert sandbox.pyinfra("deploy.py").returncode == 0  # the state, made by root for the user
    user.chown_home()
    user_bin = tool_bin(user.base / "bin", tools=(), extra={"uv": user.readable(BIN / "uv")})
    path = f"{user_bin}:{SYSTEM_PATH}"
    sandbox.path(blocked).chmod(0o000)
    before = sandbox.snapshot()

    dry = user.pyinfra("deploy.py", "--dry", data=sandbox.data, path=path)
    assert sandbox.snapshot() == before, dry.output
    result = user.pyinfra("deploy.py", data=sandbox.data, path=path)
    assert_failed_cleanly(sandbox, result, before,
                          "~/.claude/settings.json: cannot be read (permission denied)")

    sandbox.path(blocked).chmod(0o700 if blocked == ".claude" else 0o600)
    control = user.pyinfra("deploy.py", data=sandbox.data, path=path)
    assert (control.returncode, control.changed) == (0, 0), control.output


# --- files edited by hand, directories that are files ---------------------------------------------

@pytest.mark.parametrize("relative", [DERIVED, CONFIG])
def test_hand_edited_file_is_replaced_and_kept_as_backup(deployed, relative):
    path = deployed.path(relative)
    deployed_bytes = path.read_bytes()
    edited = deployed_bytes.replace(b"qwen-3-coder", b"my-own-model", 1) + b"\n"
    path.write_bytes(edited)
    before = deployed.snapshot()
    assert_dry_changes_nothing(deployed)

    result = deployed.pyinfra("deploy.py")
    assert (result.returncode, result.changed) == (0, 1), result.output
    assert path.read_bytes() == deployed_bytes
    after = deployed.snapshot()
    [(backup, (content, mode))] = backups_of(after, relative).items()
    assert (content, mode) == (edited, 0o600), backup
    assert lost_files(before, after) == []
    again = deployed.pyinfra("deploy.py")
    assert (again.returncode, again.changed) == (0, 0), again.output
    assert len(backups_of(deployed.snapshot(), relative)) == 1


@pytest.mark.parametrize("relative", [DERIVED, CONFIG])
def test_replacing_a_hand_edit_says_where_the_backup_is(deployed, relative):
    path = deployed.path(relative)
    path.write_bytes(path.read_bytes() + b"\n")
    result = deployed.pyinfra("deploy.py")
    assert result.returncode == 0, result.output
    assert any(relative in line and ".bak" in line for line in result.output.splitlines()), \
        result.output


@pytest.mark.parametrize("relative", [
    ".litellm",
    ".local/bin",
    ".openClaude",
    ".local",
])
def test_a_file_where_a_directory_is_needed(fresh, relative):
    write(fresh, relative, "not a directory\n")
    before = fresh.snapshot()
    assert_dry_changes_nothing(fresh)

    result = fresh.pyinfra("deploy.py")
    assert_failed_cleanly(fresh, result, before,
                          f"~/{relative}: is a file, not a directory; move it away and re-run")


# --- LiteLLM's source -------------------------------------------------------------------------------

@pytest.mark.parametrize("fork", [
    "git+https://127.0.0.1:9/litellm.git@fix/anthropic-oauth-token-forwarding",
    "git+file://{fork_repo}@no-such-ref",
    "git+file:///nonexistent/litellm@main",
], ids=["unreachable-host", "missing-ref", "missing-repository"])
def test_unusable_fork_keeps_the_installed_litellm(deployed, fork):
    fork = fork.format(fork_repo=deployed.sources["fork_repo"])
    data = {"litellm_source": "fork", "litellm_fork": fork}
    before, installed = deployed.snapshot(), receipt(deployed)
    assert_dry_changes_nothing(deployed, data=data)

    result = deployed.pyinfra("deploy.py", data=data)
    assert_failed_cleanly(deployed, result, before, f"could not install LiteLLM from {fork}; "
                          "the installed LiteLLM (if any) was left in place")
    assert receipt(deployed) == installed
    assert "stand-in release" in litellm_runs(deployed)
    assert staging_dirs(deployed) == [], "staging directory left behind"


# --- uv and python3 ---------------------------------------------------------------------------------

def test_no_uv_and_no_python3(fresh, tmp_path):
    fresh.env["PATH"] = str(tool_bin(tmp_path / "bin"))
    before = fresh.snapshot()
    assert_dry_changes_nothing(fresh)

    result = fresh.pyinfra("deploy.py")
    assert_failed_cleanly(fresh, result, before, "uv is not installed and python3 is missing")


def system_python() -> str:
    """A python3 outside /tmp/venv with pip (the venv's own python lives under /root)."""
    python3 = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    if not system_python_available() or subprocess.run(
            [python3, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        pytest.skip(f"{python3} with pip is needed")
    return python3


UV_NOT_INSTALLABLE = ["python3-without-pip", "package-index-unreachable"]


def uv_not_installable(sandbox: Sandbox, tmp_path: Path, case: str) -> None:
    if case == "python3-without-pip":
        python3 = python_without_pip(tmp_path)
    else:
        python3 = system_python()
        sandbox.env.pop("PIP_FIND_LINKS", None)  # this machine's local wheel directory
        sandbox.env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="http://127.0.0.1:9/simple",
                           PIP_RETRIES="0", PIP_TIMEOUT="5")
    sandbox.env["PATH"] = str(tool_bin(tmp_path / "bin", extra={"python3": python3}))


@pytest.mark.parametrize("case", UV_NOT_INSTALLABLE)
def test_uv_not_installable_fails_cleanly(fresh, tmp_path, case):
    uv_not_installable(fresh, tmp_path, case)
    before = fresh.snapshot()
    assert_dry_changes_nothing(fresh)

    result = fresh.pyinfra("deploy.py")
    assert_failed_cleanly(fresh, result, before,
                          "openClaude: uv is not installed and could not be installed")


def test_missing_uv_is_installed_with_pip(fresh, tmp_path):
    python3 = system_python()
    fresh.env["PATH"] = str(tool_bin(tmp_path / "bin", extra={"python3": python3}))
    before = fresh.snapshot()
    assert_dry_changes_nothing(fresh)

    result = fresh.pyinfra("deploy.py")
    assert result.returncode == 0, result.output
    uv = fresh.path(".local/bin/uv")
    assert os.readlink(uv) == str(fresh.path(".local/share/openclaude/uv/bin/uv"))
    assert subprocess.run([str(uv), "--version"], capture_output=True).returncode == 0
    assert "stand-in release" in litellm_runs(fresh)
    assert lost_files(before, fresh.snapshot()) == []
    again = fresh.pyinfra("deploy.py")
    assert (again.returncode, again.changed) == (0, 0), again.output


def test_python3_missing_with_uv_present_converges(deployed, tmp_path):
    deployed.env["PATH"] = str(tool_bin(tmp_path / "bin", extra={"uv": BIN / "uv"}))
    deployed.env["UV_PYTHON_DOWNLOADS"] = "never"
    assert_dry_changes_nothing(deployed)
    result = deployed.pyinfra("deploy.py")
    assert (result.returncode, result.changed, result.errors) == (0, 0, 0), result.output


def test_python3_missing_and_no_python_for_uv(fresh, tmp_path):
    fresh.env["PATH"] = str(tool_bin(tmp_path / "bin", extra={"uv": BIN / "uv"}))
    fresh.env["UV_PYTHON_DOWNLOADS"] = "never"
    before = fresh.snapshot()
    assert_dry_changes_nothing(fresh)

    result = fresh.pyinfra("deploy.py")
    assert_failed_cleanly(fresh, result, before, "openClaude: could not install LiteLLM from")
    assert "No interpreter found" in result.output


# --- interrupted runs --------------------------------------------------------------------------------

# How to stop the run: a trap shim (tool:pattern in its arguments; "half" cuts an upload in the
# middle) or a line of pyinfra's output. "fresh": start from an empty HOME instead.
KILL_POINTS = {
    "during-litellm-staging": {"trap": "uv:tool install --no-progress --compile-bytecode"},
    "before-litellm-replaced": {"trap": "uv:--force"},
    "config-upload-cut": {"trap": "cp:/.config.yaml.", "half": True},
    "launcher-before-rename": {"trap": "mv:/.openClaude."},
    "settings-upload-cut": {"trap": "cp:/.settings.json.", "half": True},
    "at-config-operation": {"line": "Starting operation: openClaude | LiteLLM routes the tiers"},
    "master-key-before-link": {"trap": "ln:/master.key", "fresh": True},
}


def staging_dirs(sandbox: Sandbox) -> list:
    """litellm_installed's staging directories in the run's TMPDIR (pyinfra's and uv's own
    temp files there are not the deploy's)."""
    return sorted(Path(sandbox.env["TMPDIR"]).glob("openclaude-*"))


def interrupted_run(sandbox: Sandbox, tmp_path: Path, point: dict) -> dict:
    """Start the CHANGE deploy, kill it (with every command it runs) at ``point``."""
    sandbox.env["PATH"] = f"{trap_bin(tmp_path / 'traps')}:{sandbox.env['PATH']}"
    marker = tmp_path / "trap-fired"
    env = {"OPENCLAUDE_TRAP_MARKER": str(marker)}
    if "trap" in point:
        env["OPENCLAUDE_TRAP"] = point["trap"]
        env["OPENCLAUDE_TRAP_HALF"] = "1" if point.get("half") else ""
    run = start(sandbox, "deploy.py", data=CHANGE, env=env, log=tmp_path / "killed.log")
    if "trap" in point:
        wait_for(marker.exists, run, f"the trap {point['trap']}")
    else:
        wait_for(lambda: point["line"] in run.output(), run, point["line"])
    run.kill()
    return {"output": run.output()}


@pytest.mark.parametrize("name", KILL_POINTS)
def test_interrupted_run_converges_and_leaves_no_half_written_file(request, tmp_path, name):
    point = KILL_POINTS[name]
    sandbox = request.getfixturevalue("fresh" if point.get("fresh") else "deployed")
    before, installed = sandbox.snapshot(), receipt(sandbox)

    interrupted_run(sandbox, tmp_path, point)
    killed = sandbox.snapshot()
    assert parse_problems(sandbox.home) == []
    assert lost_files(before, killed) == []
    if installed:  # the previous LiteLLM stays installed and working until the new one is in
        assert receipt(sandbox) is not None
        litellm_runs(sandbox)
    assert_dry_changes_nothing(sandbox, data=CHANGE)

    converges(sandbox, data=CHANGE)
    final = sandbox.snapshot()

    def content(snapshot, relative):
        return snapshot.get(relative, (None,))[0]

    for relative in MANAGED:  # each managed file holds either the old bytes or the new ones
        assert content(killed, relative) in (content(before, relative), content(final, relative)), \
            relative
    assert lost_files(before, final) == []
    assert "stand-in fork" in litellm_runs(sandbox)
    leftovers = temp_files(sandbox.home) + [path.name for path in staging_dirs(sandbox)]
    print(f"\n[{name}] temp files left after the re-run: {leftovers or 'none'}")
    if "trap" in point:  # where the kill lands is exact: modes too are the old or the new ones
        for relative in MANAGED:
            assert killed.get(relative) in (before.get(relative), final.get(relative)), relative


@pytest.mark.parametrize("name", ["config-upload-cut", "master-key-before-link",
                                  "during-litellm-staging"])
def test_rerun_removes_temp_files_of_an_interrupted_run(request, tmp_path, name):
    point = KILL_POINTS[name]
    sandbox = request.getfixturevalue("fresh" if point.get("fresh") else "deployed")
    interrupted_run(sandbox, tmp_path, point)
    stale = temp_files(sandbox.home) + staging_dirs(sandbox)
    assert stale, "the kill left no temp file: this point tests nothing"
    hour_ago = time.time() - 3600  # the interrupted run was an hour ago
    for path in [*(sandbox.home / p for p in temp_files(sandbox.home)), *staging_dirs(sandbox)]:
        os.utime(path, (hour_ago, hour_ago), follow_symlinks=False)

    converges(sandbox, data=CHANGE)
    assert temp_files(sandbox.home) + staging_dirs(sandbox) == []


# --- a deploy and a rollback at the same time ---------------------------------------------------

def state_summary(sandbox: Sandbox) -> dict:
    rec = receipt(sandbox) or ""
    return {
        "config": mode_of_file(sandbox.home, CONFIG),
        "launcher": mode_of_file(sandbox.home, LAUNCHER),
        "litellm": "fork" if "fork" in rec else "release" if "release" in rec else None,
        "temp files": temp_files(sandbox.home),
    }


def test_deploy_and_rollback_at_once_leave_parseable_files_and_converge(fresh, tmp_path):
    fork = {"litellm_source": "fork"}
    deploy = start(fresh, "deploy.py", data=fork, log=tmp_path / "deploy.log")
    rollback = start(fresh, "rollback.py", data=fork, log=tmp_path / "rollback.log")
    results = {"deploy": deploy.wait(), "rollback": rollback.wait()}

    assert parse_problems(fresh.home) == []
    assert KEY_PATTERN.fullmatch(fresh.path(KEY).read_text().strip())
    assert fresh.path(KEY).stat().st_mode & 0o777 == 0o600
    summary = state_summary(fresh)
    for name, result in results.items():
        failed = [line for line in result.output.splitlines() if "openClaude:" in line
                  or "Error" in line]
        print(f"\n[{name}] exit {result.returncode} changed {result.changed} "
              f"errors {result.errors} {failed}")
        assert result.returncode == 0 or failed, result.output
    print(f"\n[after both] {summary}")
    assert_dry_changes_nothing(fresh, data=fork)
    converges(fresh, data=fork)
    assert state_summary(fresh)["config"] == state_summary(fresh)["launcher"] == "oauth"


def paused_deploy(sandbox: Sandbox, tmp_path: Path, trap: str, data: dict | None = None):
    """A deploy stopped at ``trap`` (holding the lock) until the returned file is touched."""
    sandbox.env["PATH"] = f"{trap_bin(tmp_path / 'traps')}:{sandbox.env['PATH']}"
    marker, release = tmp_path / "paused", tmp_path / "go-on"
    run = start(sandbox, "deploy.py", data=data, log=tmp_path / "deploy.log",
                env={"OPENCLAUDE_TRAP": trap, "OPENCLAUDE_TRAP_MARKER": str(marker),
                     "OPENCLAUDE_TRAP_RELEASE": str(release)})
    wait_for(marker.exists, run, f"the deploy to reach {trap}")
    return run, release


def without_lock(snapshot: dict) -> dict:
    return {path: value for path, value in snapshot.items() if not path.startswith(LOCK)}


def test_a_second_run_waits_then_fails_naming_the_first_and_changes_nothing(deployed, tmp_path):
    assert deployed.pyinfra("deploy.py").returncode == 0  # current even if files/ changed
    deploy, release = paused_deploy(deployed, tmp_path, "cp:/.config.yaml.",
                                    {"aws_region": "eu-west-1"})
    owner = deployed.path(f"{LOCK}/owner").read_text()
    assert f"pid={deploy.process.pid}\n" in owner, owner
    before = deployed.snapshot()

    started = time.monotonic()
    rollback = deployed.pyinfra("rollback.py", data={"lock_wait": 2})
    assert rollback.returncode == 1, rollback.output
    assert time.monotonic() - started >= 2
    since = re.search(r"^since=(.*)$", owner, re.M).group(1)
    assert (f"another openClaude run is changing this home: deploy.py run from "
            f"{socket.gethostname()}") in rollback.output
    assert f"(pid {deploy.process.pid}, started {since};" in rollback.output, rollback.output
    assert "nothing was changed" in rollback.output
    assert deployed.snapshot() == before

    release.touch()
    result = deploy.wait()
    assert result.returncode == 0, result.output
    assert not deployed.path(LOCK).exists()
    assert state_summary(deployed)["config"] == state_summary(deployed)["launcher"] == "oauth"


def test_a_run_that_waited_refuses_when_the_other_changed_what_it_read(deployed, tmp_path):
    assert deployed.pyinfra("deploy.py").returncode == 0
    deploy, release = paused_deploy(deployed, tmp_path, "cp:/.config.yaml.",
                                    {"aws_region": "eu-west-1"})
    # The rollback's lock loop sleeps 1 s between tries: a sleep that then leaves a marker.
    waiting = tmp_path / "rollback-waits"
    shim = tool_bin(tmp_path / "sleep-shim", tools=(), extra={
        "sleep": f'#!/bin/sh\n[ "$*" = 1 ] && : > {waiting}\nexec {shutil.which("sleep")} "$@"\n'})
    rollback = start(deployed, "rollback.py", log=tmp_path / "rollback.log",
                     env={"PATH": f"{shim}:{deployed.env['PATH']}"})
    wait_for(waiting.exists, rollback, "the rollback to wait for the lock")
    release.touch()
    assert deploy.wait().returncode == 0
    refused = rollback.wait()
    assert refused.returncode == 1, refused.output
    assert "waiting up to 60s for deploy.py run from" in refused.output, refused.output
    assert "this home changed after this run read it" in refused.output, refused.output
    summary = state_summary(deployed)
    assert summary["config"] == summary["launcher"] == "oauth", summary
    assert "eu-west-1" in deployed.path(CONFIG).read_text()
    assert not deployed.path(LOCK).exists()


def write_lock(sandbox: Sandbox, *, pid: int, started: str, boot: str) -> None:
    write_run_lock(sandbox.home, pid=pid, started=started, boot=boot)


def test_a_live_lock_holds_off_a_run(deployed):
    write_lock(deployed, pid=os.getpid(), started=start_token(os.getpid()), boot=boot_id())
    before = deployed.snapshot()
    result = deployed.pyinfra("deploy.py", data={"lock_wait": 1, "aws_region": "eu-west-1"})
    assert result.returncode == 1, result.output
    assert (f"deploy.py run from elsewhere (pid {os.getpid()}, started 2026-01-01T00:00:00Z"
            in result.output), result.output
    assert deployed.snapshot() == before


@pytest.mark.parametrize("case", ["pid-gone", "pid-reused", "other-boot", "no-owner-file"])
def test_a_stale_lock_is_taken_over(deployed, case):
    child = subprocess.Popen(["true"])
    child.wait()
    pid, started, boot = os.getpid(), start_token(os.getpid()), boot_id()
    if case == "pid-gone":
        pid = child.pid
    elif case == "pid-reused":
        started = str(int(started) - 1)
    elif case == "other-boot":
        boot = "00000000-0000-0000-0000-000000000000"
    write_lock(deployed, pid=pid, started=started, boot=boot)
    if case == "no-owner-file":
        deployed.path(f"{LOCK}/owner").unlink()
        hour_ago = time.time() - 3600
        os.utime(deployed.path(LOCK), (hour_ago, hour_ago))
    result = deployed.pyinfra("deploy.py", data={"lock_wait": 1, "aws_region": "eu-west-1"})
    assert result.returncode == 0, result.output
    assert "openClaude: took over" in result.output, result.output
    assert "eu-west-1" in deployed.path(CONFIG).read_text()
    assert not deployed.path(LOCK).exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(deployed, tmp_path):
    assert deployed.pyinfra("deploy.py").returncode == 0
    deploy, _ = paused_deploy(deployed, tmp_path, "cp:/.config.yaml.", {"aws_region": "eu-west-1"})
    deploy.kill()
    assert deployed.path(f"{LOCK}/owner").exists()
    result = deployed.pyinfra("rollback.py", data={"lock_wait": 5})
    assert result.returncode == 0, result.output
    assert f"pid {deploy.process.pid}" in result.output and "is gone" in result.output
    assert not deployed.path(LOCK).exists()


def test_a_failed_run_releases_its_lock(deployed):
    fork = {"litellm_source": "fork", "litellm_fork": "git+file:///nonexistent/litellm@main"}
    result = deployed.pyinfra("deploy.py", data=fork)
    assert result.returncode == 1, result.output
    assert not deployed.path(LOCK).exists()


def test_a_converged_run_runs_one_command_and_takes_no_lock(deployed, tmp_path):
    shell, log = logging_shell(tmp_path)
    result = deployed.pyinfra("deploy.py", "--shell-executable", str(shell))
    assert (result.returncode, result.changed) == (0, 0), result.output
    commands = logged_commands(log)
    assert len(commands) == 1, commands
    assert LOCK not in commands[0]


def final_state(sandbox: Sandbox) -> tuple:
    summary = state_summary(sandbox)
    return summary["config"], summary["launcher"], summary["litellm"]


@pytest.mark.parametrize("offset", [0.0, 0.4, 1.0, 2.0])
def test_deploy_and_rollback_at_offsets_never_mix(deployed, tmp_path, offset):
    fork = {"litellm_source": "fork"}
    deploy = start(deployed, "deploy.py", data=fork, log=tmp_path / "deploy.log")
    time.sleep(offset)
    rollback = start(deployed, "rollback.py", data=fork, log=tmp_path / "rollback.log")
    results = {"deploy": deploy.wait(), "rollback": rollback.wait()}
    assert parse_problems(deployed.home) == []
    state = final_state(deployed)
    print(f"\n[offset {offset}] {state} exits "
          f"{ {name: result.returncode for name, result in results.items()} }")
    assert state in (("oauth", "oauth", "fork"), ("bedrock", "bedrock", "release")), state
    for name, result in results.items():
        assert result.returncode == 0 or re.search(
            r"openClaude: (another openClaude run|this home changed|.* changed after)",
            result.output), (name, result.output)
    winner = "deploy" if state[0] == "oauth" else "rollback"
    assert results[winner].returncode == 0
    assert not deployed.path(LOCK).exists()


def test_two_deploys_with_different_sources_never_mix(deployed, tmp_path, local_sources):
    directory = {"litellm_release": str(local_sources["directory"]), "aws_region": "eu-west-1"}
    fork = {"litellm_source": "fork"}
    first = start(deployed, "deploy.py", data=fork, log=tmp_path / "fork.log")
    second = start(deployed, "deploy.py", data=directory, log=tmp_path / "directory.log")
    results = {"fork": first.wait(), "directory": second.wait()}
    source = installed_source(receipt(deployed))
    region = "eu-west-1" if "eu-west-1" in deployed.path(CONFIG).read_text() else "us-west-2"
    print(f"\n[two deploys] {source} {region} "
          f"{ {name: result.returncode for name, result in results.items()} }")
    if source == wanted_source(deployed.sources["fork"]):
        assert region == "us-west-2" and results["fork"].returncode == 0
    else:
        assert source == wanted_source(str(local_sources["directory"])), source
        assert region == "eu-west-1" and results["directory"].returncode == 0
    assert not deployed.path(LOCK).exists()


# --- secrets ----------------------------------------------------------------------------------------

def test_secret_files_and_their_backups_are_private(deployed):
    for relative in (DERIVED, CONFIG):  # edited by hand in an editor that left them 0644
        path = deployed.path(relative)
        path.write_bytes(path.read_bytes() + b"\n")
        path.chmod(0o644)
    log = deployed.path(".litellm/proxy.log")
    result = deployed.pyinfra("deploy.py", data={"long_context": False})
    assert result.returncode == 0, result.output

    snapshot = deployed.snapshot()
    private = [KEY, DERIVED, CONFIG, *backups_of(snapshot, DERIVED), *backups_of(snapshot, CONFIG)]
    if log.exists():
        private.append(".litellm/proxy.log")
    assert len(backups_of(snapshot, DERIVED)) == len(backups_of(snapshot, CONFIG)) == 1
    assert {p: snapshot[p][1] for p in private} == {p: 0o600 for p in private}
    for directory in (".litellm", ".openClaude"):
        assert deployed.path(directory).stat().st_mode & 0o777 == 0o700, directory


@pytest.mark.parametrize("options", [(), ("--diff",), ("--dry", "--diff"), ("-vvv",)],
                         ids=["plain", "diff", "dry-diff", "verbose"])
def test_secrets_never_appear_in_output_or_config(deployed, options):
    key = deployed.path(KEY).read_text().strip()
    assert KEY_PATTERN.fullmatch(key)
    data = {"aws_region": "eu-central-1", "long_context": False}  # config and settings change
    result = deployed.pyinfra("deploy.py", *options, data=data)
    assert result.returncode == 0, result.output
    if "--diff" in options:
        assert "eu-central-1" in result.output  # the diff was shown
    assert key not in result.output
    assert base64.b64encode(deployed.path(KEY).read_bytes()).decode()[:40] not in result.output
    assert USER_TOKEN not in result.output  # the derived settings are never diffed
    for relative in (CONFIG, LAUNCHER, CALLBACKS, SETTINGS_SCRIPT, DERIVED):
        assert key not in deployed.path(relative).read_text(), relative
    assert deployed.path(KEY).read_text().strip() == key


SECRET_VALUE = re.compile(
    r"sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY|(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
    r"|[0-9a-f]{32,}")
SECRET_NAME = re.compile(r"(secret|password|passwd|token|api_key|apikey|master_key|credential)s?$",
                         re.I)


def test_group_data_holds_no_secret():
    files = sorted((REPO / "group_data").glob("*.py"))
    assert files
    for file in files:
        text = file.read_text()
        assert not SECRET_VALUE.search(text), f"{file.name}: {SECRET_VALUE.search(text)}"
        values = {k: v for k, v in runpy.run_path(str(file)).items() if not k.startswith("__")}
        named = {k: v for k, v in values.items() if SECRET_NAME.search(k) and v is not None}
        assert named == {}, f"{file.name} sets secret-looking keys: {sorted(named)}"


# --- a source that fetches but does not build, an install killed while it builds ------------

def test_a_source_that_fetches_but_fails_to_build_keeps_the_installed_litellm(deployed, tmp_path):
    fork = make_unbuildable_source(tmp_path / "unbuildable")
    data = {"litellm_source": "fork", "litellm_fork": fork}
    before, installed = deployed.snapshot(), receipt(deployed)

    result = deployed.pyinfra("deploy.py", data=data)
    assert_failed_cleanly(deployed, result, before, f"could not install LiteLLM from {fork}; "
                          "the installed LiteLLM (if any) was left in place")
    assert "this source fetches but does not build" in result.output, result.output
    assert receipt(deployed) == installed
    assert "stand-in release" in litellm_runs(deployed)
    assert staging_dirs(deployed) == []


def test_an_install_killed_while_it_builds_keeps_the_installed_litellm(deployed, tmp_path):
    building = tmp_path / "building"
    fork = make_unbuildable_source(tmp_path / "hangs", hang_marker=building)
    data = {"litellm_source": "fork", "litellm_fork": fork}
    before, installed = deployed.snapshot(), receipt(deployed)

    run = start(deployed, "deploy.py", data=data, log=tmp_path / "killed.log")
    wait_for(building.exists, run, "uv to build the source")
    run.kill()
    assert receipt(deployed) == installed
    assert "stand-in release" in litellm_runs(deployed)
    assert lost_files(before, deployed.snapshot()) == []

    converges(deployed, data={"litellm_source": "fork"})  # the next run, with a good source
    assert "stand-in fork" in litellm_runs(deployed)


# --- a master key file that holds no strong key ----------------------------------------------

WEAK_KEYS = {
    "public-sk-1234": "sk-1234\n",
    "too-short": "sk-" + "0" * 63 + "\n",
    "upper-case": "sk-" + "A" * 64 + "\n",
    "second-line": "\nsk-" + "0" * 64 + "\n",  # the launcher reads the first line only
    "two-keys": "sk-" + "0" * 64 + "\nsk-" + "1" * 64 + "\n",
}


@pytest.mark.parametrize("case", WEAK_KEYS)
def test_a_weak_or_malformed_master_key_fails_deploy_naming_the_file(deployed, case):
    write(deployed, KEY, WEAK_KEYS[case])
    before = deployed.snapshot()
    result = deployed.pyinfra("deploy.py", data={"aws_region": "eu-west-1"})
    assert_failed_cleanly(deployed, result, before,
                          "~/.litellm/master.key: does not hold a LiteLLM master key")
