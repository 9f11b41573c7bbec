"""macOS, emulated on Linux: a case-insensitive home (FUSE, tests/casefold_fs.py), BSD-like
userland stand-ins (tests/bsd_userland), Darwin's `uname`, Homebrew's and the native installer's
places for uv and claude, the Xcode python3 stub, and the login shell's PATH."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.casefold_home import casefold_sandbox  # noqa: F401  (fixture)
from tests.test_verify import checks, failed

LAUNCHER, ALIAS = ".local/bin/openClaude", ".local/bin/openclaude"


def run_help(sandbox, relative: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(sandbox.path(relative)), "--help"], env=sandbox.env,
                          capture_output=True, text=True, timeout=60)


def assert_both_names_run_the_launcher(sandbox, mode: str) -> None:
    for name in (LAUNCHER, ALIAS):
        result = run_help(sandbox, name)
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert f"({mode} mode)" in result.stdout
    launcher = sandbox.path(LAUNCHER)
    assert launcher.is_file() and not launcher.is_symlink()
    # Case-preserving: the one entry keeps the launcher's name, and the alias step never
    # moved it aside (its backups would be named after the alias).
    names = os.listdir(launcher.parent)
    assert "openClaude" in names and "openclaude" not in names, names
    assert not [name for name in names if name.startswith("openclaude.")], names


def test_case_insensitive_home_is_one_entry_for_both_names(casefold_sandbox):
    (casefold_sandbox.home / "openClaude").write_text("launcher\n")

    assert (casefold_sandbox.home / "openclaude").read_text() == "launcher\n"
    assert os.path.samefile(casefold_sandbox.home / "openclaude", casefold_sandbox.home / "openClaude")
    assert os.listdir(casefold_sandbox.home) == ["openClaude"]


def test_deploys_and_rollbacks_on_a_case_insensitive_home_keep_both_names_working(
        casefold_sandbox):
    for script, mode in (("deploy.py", "oauth"), ("deploy.py", "oauth"), ("rollback.py", "bedrock"),
                         ("rollback.py", "bedrock"), ("deploy.py", "oauth"),
                         ("deploy.py", "oauth")):
        result = casefold_sandbox.pyinfra(script)
        assert (result.returncode, result.errors) == (0, 0), result.output
        assert_both_names_run_the_launcher(casefold_sandbox, mode)


def test_rerun_on_a_case_insensitive_home_changes_nothing(casefold_sandbox):
    first = casefold_sandbox.pyinfra("deploy.py")
    assert first.returncode == 0, first.output

    before = casefold_sandbox.snapshot()
    again = casefold_sandbox.pyinfra("deploy.py")

    assert (again.returncode, again.changed, again.errors) == (0, 0, 0), again.output
    assert casefold_sandbox.snapshot() == before


def test_a_launcher_broken_into_a_link_to_itself_is_repaired(casefold_sandbox):
    """What earlier versions left on a Mac: `ln -sfn openClaude openclaude` made a loop."""
    assert casefold_sandbox.pyinfra("deploy.py").returncode == 0
    launcher = casefold_sandbox.path(LAUNCHER)
    launcher.unlink()
    os.symlink("openClaude", launcher)
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        run_help(casefold_sandbox, ALIAS)

    repaired = casefold_sandbox.pyinfra("deploy.py")
    assert repaired.returncode == 0, repaired.output
    assert_both_names_run_the_launcher(casefold_sandbox, "oauth")
    again = casefold_sandbox.pyinfra("deploy.py")
    assert (again.returncode, again.changed) == (0, 0), again.output


def test_alias_on_a_case_sensitive_home_stays_a_link(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    assert os.readlink(sandbox.path(ALIAS)) == "openClaude"
    (sandbox.path(ALIAS)).unlink()
    sandbox.path(ALIAS).write_text("a user's own script\n")

    result = sandbox.pyinfra("deploy.py")

    assert result.returncode == 0, result.output
    assert os.readlink(sandbox.path(ALIAS)) == "openClaude"
    [backup] = sandbox.path(ALIAS).parent.glob("openclaude.*.bak")
    assert backup.read_text() == "a user's own script\n"
    assert sandbox.path(LAUNCHER).is_file()


ALIAS_CHECK = "launcher and its alias both run it"


def test_verify_on_a_case_insensitive_home_sees_both_names_run_the_launcher(casefold_sandbox):
    assert casefold_sandbox.pyinfra("deploy.py").returncode == 0

    result = casefold_sandbox.pyinfra("verify.py")

    assert checks(result)[ALIAS_CHECK] == (True, "~/.local/bin/openclaude: one file (case-insensitive)")


def test_verify_fails_when_the_alias_does_not_run_the_launcher(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    sandbox.path(ALIAS).unlink()
    os.symlink("openclaude", sandbox.path(ALIAS))

    result = sandbox.pyinfra("verify.py")

    assert result.returncode != 0
    assert ALIAS_CHECK in failed(result), result.output
    assert "~/.local/bin/openclaude did not run the launcher" in failed(result)[ALIAS_CHECK]
    assert "fix: re-run deploy.py" in result.output
