"""macOS, emulated on Linux: a case-insensitive home (FUSE, tests/casefold_fs.py), BSD-like
userland stand-ins (tests/bsd_userland), Darwin's `uname`, Homebrew's and the native installer's
places for uv and claude, the Xcode python3 stub, and the login shell's PATH."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from operations.facts.host import OpenClaudeHost
from operations.model.shellpath import path_fix
from operations.sh import load
from tests.bash32 import bash32, launcher_bash  # noqa: F401  (fixture)
from tests.casefold_home import casefold_mount, casefold_sandbox, fuse_unavailable  # noqa: F401
from tests.fake_launcher import claude_arguments, fake_home
from tests.faults_support import tool_bin
from tests.litellm_sources import make_sources
from tests.sshfleet import SSHFleet
from tests.support.processes import alive
from tests.support.runs import BIN, REPO, logged_commands, logging_shell, pyinfra_command
from tests.test_fleet import Team, require_fleet, trust_shared_repositories
from tests.test_launcher import CONFIG as LAUNCHER_CONFIG
from tests.test_launcher import MASTER_KEY as LAUNCHER_KEY
from tests.test_launcher import Launcher, stop_fake
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


def test_case_insensitive_home_is_one_entry_for_both_names(casefold_sandbox, request):
    (casefold_sandbox.home / "openClaude").write_text("launcher\n")

    assert (casefold_sandbox.home / "openclaude").read_text() == "launcher\n"
    assert os.listdir(casefold_sandbox.home) == ["openClaude"]
    # With an inode per spelling, `[ a -ef b ]` cannot tell (as on some FUSE and network mounts).
    one_inode = request.node.callspec.params["casefold_sandbox"] == "one inode"
    assert os.path.samefile(casefold_sandbox.home / "openclaude",
                            casefold_sandbox.home / "openClaude") == one_inode


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


def test_an_alias_through_a_linked_directory_that_breaks_the_launcher_fails_the_host(
        casefold_sandbox):
    """~/bin a link to ~/.local/bin (a common setup), alias ~/bin/openclaude: on a
    case-insensitive home that name is the launcher itself, which no name check sees. The run
    proves both names run the launcher, puts the launcher back and fails, naming the problem."""
    casefold_sandbox.path(".local/bin").mkdir(parents=True)
    os.symlink(".local/bin", casefold_sandbox.path("bin"))

    result = casefold_sandbox.pyinfra("deploy.py", data={"launcher_alias": "bin/openclaude"})

    assert result.returncode != 0
    assert "turned" in result.output and "into a link to itself" in result.output, result.output
    assert "--data launcher_alias=PATH" in result.output
    launcher = casefold_sandbox.path(LAUNCHER)
    assert launcher.is_file() and not launcher.is_symlink()
    assert "(oauth mode)" in run_help(casefold_sandbox, LAUNCHER).stdout


@pytest.fixture
def noexec_bin(sandbox):
    """The sandbox with ~/nx a tmpfs mounted noexec (unmounted at the end)."""
    directory = sandbox.path("nx")
    directory.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "noexec,size=4m", "tmpfs",
                              str(directory)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a noexec tmpfs here: {mounted.stderr.strip()}")
    try:
        yield sandbox
    finally:
        subprocess.run(["umount", str(directory)], capture_output=True)


def test_a_launcher_that_cannot_run_where_it_is_placed_fails_the_host(noexec_bin):
    result = noexec_bin.pyinfra("deploy.py", data={"launcher": "nx/openClaude",
                                                   "launcher_alias": "nx/openclaude"})

    assert result.returncode != 0
    assert "does not run the launcher" in result.output, result.output
    assert "Permission denied" in result.output and "noexec" in result.output
    launcher = noexec_bin.path("nx/openClaude")
    assert launcher.is_file() and launcher.stat().st_mode & 0o777 == 0o755


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


# --- a BSD userland: nothing on the target may need a GNU-only tool or flag ------------------

BSD_USERLAND = REPO / "tests" / "bsd_userland"
# Real tools that behave the same on macOS; the GNU ones that differ are BSD_USERLAND's
# stand-ins, and timeout, flock, realpath, setsid, stdbuf are absent as on a Mac.
SAME_ON_MACOS = (
    "env", "cat", "tr", "cmp", "od", "head", "rm", "printf", "cp", "dirname", "basename", "git",
    "sleep", "wc", "ls", "touch", "id", "uname", "sort", "tee", "cut", "cksum", "awk", "chmod",
    "mkdir",
)


def macos_shells() -> dict:
    """sh and bash as on a Mac: bash 3.2 for both (macOS's /bin/sh is bash 3.2 in POSIX mode)."""
    bash = bash32() or Path(shutil.which("bash"))
    return {"sh": bash, "bash": bash}


def mac_bin(directory: Path, extra: dict) -> Path:
    """A bin directory like a Mac's: the stand-ins, bash 3.2 as sh and bash, the tools that are
    the same there, and ``extra`` (name -> target or script; None leaves the name out)."""
    tools = {"sh": None, "bash": None, **{path.name: path for path in BSD_USERLAND.iterdir()},
             **macos_shells(), **extra}
    return tool_bin(directory, tools=[tool for tool in SAME_ON_MACOS if tool not in tools],
                    extra={name: target for name, target in tools.items() if target is not None})


def bsd_path(sandbox, directory: Path, **extra) -> str:
    """A Mac-like PATH with uv, python3 and a stub ``claude`` (unless ``extra`` says otherwise),
    then ~/.local/bin."""
    mac_bin(directory, {"uv": BIN / "uv", "python3": Path(sys.executable),
                        "claude": '#!/bin/sh\necho "2.1.197 (Claude Code)"\n', **extra})
    return os.pathsep.join([str(directory), str(sandbox.path(".local/bin"))])


@pytest.mark.parametrize("tool, args, message", [
    ("stat", ["-c", "%a"], "illegal option"),
    ("readlink", ["-f", "/"], "illegal option"),
    ("sed", ["-i", "s/a/b/", "/dev/null"], "illegal option"),
    ("date", ["-d", "yesterday"], "illegal option"),
    ("find", ["-name", "x"], "usage: find"),
    ("find", [".", "-printf", "%p"], "illegal option"),
    ("mktemp", ["--suffix=.x"], "illegal option"),
    ("base64", ["-w0"], "illegal option"),
    ("ln", ["-sfT", "a", "b"], "illegal option"),
    ("grep", ["-P", "x"], "illegal option"),
])
def test_bsd_stand_ins_reject_gnu_only_flags(tool, args, message):
    result = subprocess.run([str(BSD_USERLAND / tool), *args], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert message in result.stderr


def test_bsd_stat_answers_its_own_format(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    path.chmod(0o640)
    result = subprocess.run([str(BSD_USERLAND / "stat"), "-f", "%Lp", str(path)],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "640"


def test_deploy_rerun_and_verify_need_nothing_macos_lacks(sandbox, tmp_path):
    sandbox.env.update(PATH=bsd_path(sandbox, tmp_path / "bsd-bin"),
                       BSD_USERLAND_LOG=str(tmp_path / "bsd.log"),
                       AWS_ACCESS_KEY_ID="AKIAOPENCLAUDEMACOS1", AWS_SECRET_ACCESS_KEY="macos/secret")
    sandbox.env.pop("AWS_PROFILE", None)

    first = sandbox.pyinfra("deploy.py")
    assert (first.returncode, first.errors) == (0, 0), first.output
    again = sandbox.pyinfra("deploy.py")
    assert (again.returncode, again.changed) == (0, 0), again.output
    verified = sandbox.pyinfra("verify.py")
    assert verified.returncode == 0, verified.output
    assert not failed(verified), verified.output

    # The stand-ins were the ones used: GNU stat was refused (its --version), BSD's -f answered.
    used = (tmp_path / "bsd.log").read_text().splitlines()
    assert "stat --version" in used, used[:20]
    assert any(line.startswith("stat -f %Lp") for line in used), used[:20]


# --- where macOS puts things: Darwin's uname, the Xcode python3 stub, Homebrew, native claude -----

DARWIN = {
    "uname": '#!/bin/sh\ncase ${1:-} in -s | "") echo Darwin ;; -m) echo arm64 ;; *) echo Darwin ;; esac\n',
    # Without the Command Line Tools (what a fresh Mac answers).
    "xcode-select": '#!/bin/sh\necho "xcode-select: error: unable to get active developer directory" >&2\nexit 2\n',
}


MAC_MANAGED = "Library/Application Support/ClaudeCode"


def test_managed_settings_on_a_mac_are_read_where_macos_keeps_them(sandbox, tmp_path):
    """A Mac's managed settings (under a test root: OPENCLAUDE_MANAGED_SETTINGS_ROOT) forcing
    Bedrock: the launcher names the file and key before Claude Code would start, verify fails
    with the same words; Linux's /etc/claude-code is not a Mac's."""
    root = tmp_path / "managed-root"
    (root / MAC_MANAGED / "managed-settings.d").mkdir(parents=True)
    (root / MAC_MANAGED / "managed-settings.d" / "50-bedrock.json").write_text(
        '{"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}}')
    (root / "etc/claude-code").mkdir(parents=True)
    (root / "etc/claude-code/managed-settings.json").write_text('{"apiKeyHelper": "linux-only"}')
    busy = socket_listening()
    sandbox.env.update(PATH=bsd_path(sandbox, tmp_path / "bsd-bin", **DARWIN),
                       OPENCLAUDE_MANAGED_SETTINGS_ROOT=str(root),
                       AWS_ACCESS_KEY_ID="AKIAOPENCLAUDEMACOS2", AWS_SECRET_ACCESS_KEY="macos/secret")
    data = {"litellm_port": busy.getsockname()[1]}
    try:
        assert sandbox.pyinfra("deploy.py", data=data).returncode == 0
        launcher = sandbox.path(LAUNCHER)
        assert f"MANAGED_SETTINGS_DIR='/{MAC_MANAGED}'" in launcher.read_text()
        verified = sandbox.pyinfra("verify.py", data=data)
        # The port is taken: the launch stops after the settings step, before any proxy or claude.
        launched = subprocess.run([str(launcher), "-p", "hi"], env=sandbox.env, capture_output=True,
                                  text=True, timeout=120, stdin=subprocess.DEVNULL)
    finally:
        busy.close()
    finding = (f"managed settings {root}/{MAC_MANAGED}/managed-settings.d/50-bedrock.json: "
               "env.CLAUDE_CODE_USE_BEDROCK makes Claude Code call Bedrock itself, so Claude Code "
               "bypasses the openClaude proxy; ask your administrator (managed settings outrank "
               "openClaude's)")
    assert failed(verified) == {"managed settings keep Claude Code on the proxy": finding}, verified.output
    assert f"openClaude: {finding}." in launched.stderr.splitlines(), launched.stderr
    assert "etc/claude-code" not in launched.stderr


def socket_listening():
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


def no_uv_outside_home() -> None:
    for directory in ("/opt/homebrew/bin", "/usr/local/bin"):
        if os.path.exists(f"{directory}/uv"):
            pytest.skip(f"this machine has {directory}/uv: a deploy would use it")


def test_xcode_python3_stub_is_never_run_and_the_message_says_what_to_install(fresh_mac):
    """A Mac without the Command Line Tools: /usr/bin/python3 is the stub (found on PATH)."""
    no_uv_outside_home()
    fresh_mac.env["PATH"] = os.pathsep.join([
        str(mac_bin(fresh_mac.home.parent / "mac-bin", DARWIN)),
        "/usr/bin"])
    before = fresh_mac.snapshot()

    result = fresh_mac.pyinfra("deploy.py")

    assert result.returncode != 0
    assert "/usr/bin/python3 is macOS's placeholder" in result.output, result.output
    assert "xcode-select --install" in result.output and "brew install uv" in result.output
    assert "Debian" not in result.output
    # Not run: the system python3 here has pip and would have installed uv.
    assert not fresh_mac.path(".local/share/openclaude").exists()
    assert fresh_mac.snapshot() == before


def test_pip_failing_on_a_mac_suggests_the_command_line_tools_not_debian(fresh_mac):
    no_uv_outside_home()
    stub = ('#!/bin/sh\necho "xcode-select: note: No developer tools were found, requesting '
            'install." >&2\nexit 1\n')
    fresh_mac.env["PATH"] = str(mac_bin(fresh_mac.home.parent / "mac-bin",
                                        {**DARWIN, "python3": stub}))

    result = fresh_mac.pyinfra("deploy.py")

    assert result.returncode != 0
    assert "openClaude: uv is not installed and could not be installed" in result.output
    assert "xcode-select --install" in result.output and "Debian" not in result.output
    assert "No developer tools were found" in result.output


@pytest.fixture
def fresh_mac(sandbox):
    """A fresh sandbox (nothing deployed) with user settings, for the Darwin stand-ins."""
    settings = sandbox.path(".claude/settings.json")
    settings.parent.mkdir(parents=True)
    settings.write_text("{}")
    return sandbox


def in_mount_namespace(directory: Path, over: str, command: list, env: dict):
    """Run ``command`` with ``directory`` mounted over ``over`` for it alone (a private mount
    namespace: nothing changes for the rest of the machine)."""
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if unshare is None or mount is None:
        pytest.skip("unshare and mount (util-linux) are needed to stand in for Homebrew's directory")
    script = '"$1" --bind "$2" "$3" && shift 3 && exec "$@"'
    return subprocess.run([unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", script,
                           "sh", mount, str(directory), over, *command], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)


def test_homebrew_uv_and_claude_are_found_off_path(sandbox, tmp_path):
    """Intel Homebrew's /usr/local/bin (a stand-in mounted there for this run only), from a
    shell whose PATH lacks it, like a non-interactive SSH shell's."""
    brew = tmp_path / "homebrew-bin"
    brew.mkdir()
    (brew / "uv").symlink_to(BIN / "uv")
    (brew / "claude").write_text('#!/bin/sh\necho "2.1.197 (Claude Code)"\n')
    (brew / "claude").chmod(0o755)
    env = {**sandbox.env, "PATH": bsd_path(sandbox, tmp_path / "bin", uv=None, claude=None),
           "AWS_ACCESS_KEY_ID": "AKIAOPENCLAUDEBREW01", "AWS_SECRET_ACCESS_KEY": "brew/secret"}
    data = {"litellm_release": sandbox.sources["release"]}

    deployed = in_mount_namespace(brew, "/usr/local/bin", pyinfra_command(
        "@local", "deploy.py", data=data, json_output=False), env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    verified = in_mount_namespace(brew, "/usr/local/bin", pyinfra_command(
        "@local", "verify.py", data=data, json_output=False), env)

    assert not sandbox.path(".local/share/openclaude/uv").exists()  # no second uv pip-installed
    assert sandbox.path(".local/share/uv/tools/litellm").is_dir()  # Homebrew's uv installed it
    output = verified.stdout + verified.stderr
    assert verified.returncode == 0, output
    assert re.search(r"PASS  claude on PATH\s+/usr/local/bin/claude", output), output


def test_claude_from_the_native_installer_is_found_off_path(sandbox, tmp_path):
    native = sandbox.path(".claude/local")
    native.mkdir(parents=True)
    (native / "claude").write_text('#!/bin/sh\necho "2.1.197 (Claude Code)"\n')
    (native / "claude").chmod(0o755)
    sandbox.env.update(PATH=bsd_path(sandbox, tmp_path / "bin", claude=None),
                       AWS_ACCESS_KEY_ID="AKIAOPENCLAUDENATIVE", AWS_SECRET_ACCESS_KEY="n/secret")
    assert sandbox.pyinfra("deploy.py").returncode == 0

    result = sandbox.pyinfra("verify.py")

    assert checks(result)["claude on PATH"] == (True, str(native / "claude")), result.output


def test_converged_rerun_on_a_case_insensitive_home_runs_one_command(casefold_sandbox, tmp_path):
    assert casefold_sandbox.pyinfra("deploy.py").returncode == 0
    shell, log = logging_shell(tmp_path)

    again = casefold_sandbox.pyinfra("deploy.py", "--shell-executable", str(shell))

    assert (again.returncode, again.changed) == (0, 0), again.output
    commands = logged_commands(log)
    assert len(commands) == 1, commands


# --- PATH: the launcher's directory on the login shell's PATH ------------------------------------

PATH_CHECK = "launcher's directory on the login shell's PATH"
NOT_ON_PATH = "~/.local/bin is not on your login shell's PATH"


def test_deploy_says_once_when_the_login_path_lacks_the_launcher_and_verify_fails_with_the_fix(
        sandbox, tmp_path):
    """bash as the login shell, HOME without a profile: its login PATH is the system's."""
    sandbox.env.update(PATH=bsd_path(sandbox, tmp_path / "bin").rsplit(os.pathsep, 1)[0],
                       SHELL=shutil.which("bash"), AWS_ACCESS_KEY_ID="AKIAOPENCLAUDEPATH01",
                       AWS_SECRET_ACCESS_KEY="path/secret")
    line = """echo 'export PATH="$HOME/.local/bin:$PATH"' >> ~/.profile"""

    deployed = sandbox.pyinfra("deploy.py")
    assert deployed.returncode == 0, deployed.output
    assert deployed.output.count(NOT_ON_PATH) == 1, deployed.output
    assert line in deployed.output
    verified = sandbox.pyinfra("verify.py")
    assert verified.returncode != 0
    assert failed(verified) == {PATH_CHECK: f"{NOT_ON_PATH} ({shutil.which('bash')})"}
    assert f"fix: {line}, then open a new terminal" in verified.output

    # The fix, as the user would run it, makes both content.
    subprocess.run(["sh", "-c", line.replace("~", "$HOME")], env=sandbox.env, check=True)
    assert NOT_ON_PATH not in sandbox.pyinfra("deploy.py").output
    verified = sandbox.pyinfra("verify.py")
    assert verified.returncode == 0, verified.output
    assert checks(verified)[PATH_CHECK][0]


def test_a_profile_that_adds_the_directory_once_it_exists_gets_no_warning(sandbox, tmp_path):
    """Debian's skeleton ~/.profile: the first deploy creates ~/.local/bin, then it is on PATH."""
    sandbox.path(".profile").write_text(
        'if [ -d "$HOME/.local/bin" ] ; then\n    PATH="$HOME/.local/bin:$PATH"\nfi\n')
    sandbox.env.update(PATH=bsd_path(sandbox, tmp_path / "bin").rsplit(os.pathsep, 1)[0],
                       SHELL=shutil.which("bash"))

    first = sandbox.pyinfra("deploy.py")

    assert first.returncode == 0, first.output
    assert NOT_ON_PATH not in first.output


@pytest.mark.parametrize("shell, system, profile, line", [
    ("zsh", "Darwin", ".zprofile", 'export PATH="$HOME/.local/bin:$PATH"'),
    ("bash", "Darwin", ".bash_profile", 'export PATH="$HOME/.local/bin:$PATH"'),
    ("bash", "Linux", ".profile", 'export PATH="$HOME/.local/bin:$PATH"'),
    ("fish", "Darwin", ".config/fish/config.fish", "fish_add_path $HOME/.local/bin"),
    ("sh", "Linux", ".profile", 'export PATH="$HOME/.local/bin:$PATH"'),
])
def test_the_fix_names_the_file_each_login_shell_reads(tmp_path, shell, system, profile, line):
    home = tmp_path / "home"
    home.mkdir()
    login_shell = tmp_path / "shells" / shell
    login_shell.parent.mkdir()
    login_shell.symlink_to("/bin/sh")  # answers -l -c like any login shell
    uname = f'#!/bin/sh\necho {system}\n'
    bin_dir = mac_bin(tmp_path / "bin", {"uname": uname})
    fact = OpenClaudeHost()
    command = fact.command(on_path=".local/bin")

    output = subprocess.run(["sh", "-c", command], env={
        "HOME": str(home), "PATH": str(bin_dir), "SHELL": str(login_shell)},
        capture_output=True, text=True, check=True).stdout
    facts = fact.process(output.splitlines())

    assert (facts["os"], facts["profile"], facts["on_path"]) == (system, profile, "no"), output
    assert path_fix(facts, ".local/bin") == (
        f"echo {shlex.quote(line)} >> ~/{profile}, then open a new terminal")


# --- the portable watchdog that replaced timeout(1) ------------------------------------------------

@pytest.mark.parametrize("shell", ["/bin/sh", "bash 3.2"])
def test_limited_stops_a_command_that_outlives_its_time_and_passes_other_statuses_on(shell):
    if shell != "/bin/sh":
        shell = str(bash32() or pytest.skip("bash 3.2 not found"))
    script = load("portable") + (
        'limited 1 sleep 30; echo "slow=$?"\n'
        'limited 30 sh -c "exit 7"; echo "quick=$? watchdog=$watchdog"\n')

    result = subprocess.run([shell, "-c", script], capture_output=True, text=True, timeout=25,
                            stdin=subprocess.DEVNULL)

    assert "slow=143" in result.stdout, result.stdout + result.stderr
    assert "quick=7" in result.stdout
    watchdog = int(result.stdout.rsplit("watchdog=", 1)[1])
    assert not alive(watchdog)


# --- the launcher itself on a case-insensitive home, under both bashes -----------------------------

@pytest.fixture
def casefold_launcher(tmp_path, launcher_bash):
    """A launcher rendered as ~/.local/bin/openClaude in a case-insensitive home, with the fakes."""
    reason = fuse_unavailable()
    if reason:
        pytest.skip(f"case-insensitive home needs FUSE: {reason}")
    with casefold_mount(tmp_path / "casefold") as mount:
        home = mount / "home"
        bin_dir = home / ".local" / "bin"
        bin_dir.mkdir(parents=True)
        values, env = fake_home(home, bin_dir / "records", config=LAUNCHER_CONFIG,
                                master_key=LAUNCHER_KEY, health_timeout=20)
        env["PATH"] = f"{launcher_bash}{os.pathsep}{env['PATH']}"
        instance = Launcher(bin_dir, home, int(values["LITELLM_PORT"]), values, env)
        instance.render()
        try:
            yield instance
        finally:
            for pid in {record["pid"] for record in instance.recorded("litellm")}:
                stop_fake(pid)


def test_launcher_through_either_name_on_a_case_insensitive_home(casefold_launcher):
    alias = casefold_launcher.root / "openclaude"

    first = subprocess.run([str(alias), "-p", "hi"], env=casefold_launcher.env,
                           capture_output=True, text=True, timeout=60)
    second = casefold_launcher.run("-p", "again")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert len(casefold_launcher.recorded("litellm")) == 1  # the second reused the proxy
    assert [claude_arguments(record) for record in casefold_launcher.recorded("claude")] == [
        ["-p", "hi"], ["-p", "again"]]
    stopped = subprocess.run([str(alias), "--stop"], env=casefold_launcher.env,
                             capture_output=True, text=True, timeout=60)
    assert "stopped the LiteLLM proxy" in stopped.stderr


# --- over SSH: a non-interactive shell's PATH ----------------------------------------------------

def test_over_ssh_claude_is_found_off_path_and_the_login_path_fix_works(tmp_path):
    """A developer machine over SSH: the non-interactive shell's PATH has neither ~/.local/bin
    nor ~/.claude/local (where Claude Code's installer put claude), and the login shell's PATH
    lacks ~/.local/bin, which the first deploy creates."""
    require_fleet()
    fleet = SSHFleet()
    try:
        fleet.start(1)
        [name] = fleet.names
        sources = make_sources(fleet.make_dir("sources", mode=0o755))
        trust_shared_repositories(fleet, name)
        fleet.run_as(name, "mkdir -p ~/.claude/local && printf '#!/bin/sh\\necho 2.1.197\\n' "
                     "> ~/.claude/local/claude && chmod 755 ~/.claude/local/claude", check=True)
        # Debian's skeleton ~/.profile adds ~/.local/bin once it exists; a Mac's has no such file.
        fleet.run_as(name, "rm -f ~/.profile ~/.bash_profile ~/.bash_login", check=True)
        team = Team(fleet, sources, fleet.inventory_file(tmp_path / "fleet.py"))

        deployed = team.pyinfra("deploy.py")
        assert deployed.returncode == 0, deployed.output
        assert deployed.output.count(NOT_ON_PATH) == 1, deployed.output
        verified = team.pyinfra("verify.py")
        lines = verified.output
        claude = f"{fleet.home_of(name)}/.claude/local/claude"
        assert re.search(rf"PASS  claude on PATH\s+{re.escape(claude)}", lines), lines
        fix = """echo 'export PATH="$HOME/.local/bin:$PATH"' >> ~/.profile"""
        assert re.search(rf"FAIL  {re.escape(PATH_CHECK)}\s+{re.escape(NOT_ON_PATH)}", lines), lines
        assert f"fix: {fix}, then open a new terminal" in lines

        fleet.run_as(name, fix, check=True)
        verified = team.pyinfra("verify.py")
        assert re.search(rf"PASS  {re.escape(PATH_CHECK)}", verified.output), verified.output
        again = team.pyinfra("deploy.py")
        assert (again.returncode, again.changed) == (0, 0), again.output
        assert NOT_ON_PATH not in again.output
    finally:
        fleet.stop()
