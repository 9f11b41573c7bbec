"""deploy.py and rollback.py over SSH to a fleet of developer machines, in parallel.

The fleet is a real OpenSSH server on loopback with three throw-away local users
(``tests/sshfleet.py``), each a non-root "developer machine" with its own home, no uv and no
sudo. pyinfra runs from the repository root with an inventory file, as a team would run it
with ``inventory/team.py``; LiteLLM comes from the local git stand-ins of
``tests/litellm_sources.py``. The module shares one fleet: the tests run in file order and
each states what it expects of the hosts' state.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from operations.deploys.openclaude import DEFAULTS
from operations.model.data import load_data
from operations.model.render import config_text
from operations.model.sources import installed_source, wanted_source
from tests.faults_support import LOCK, write_run_lock
from tests.litellm_sources import make_sources
from tests.sshfleet import SSHD, SSHFleet
from tests.support.processes import alive, boot_id, passwd_names, start_token
from tests.support.runs import REPO, Result, pyinfra_command, scrubbed_environment

HOSTS = ("dev1", "dev2", "dev3")
# dev3 is in the eu_team group (group_data/eu_team.py); dev2 has a per-host port.
GROUPS = {"developers": list(HOSTS), "eu_team": ["dev3"]}
HOST_DATA = {"dev2": {"litellm_port": 4100}}


def routes_of(config: dict) -> dict:
    """A config's model names and the upstream model each routes to."""
    return {d["model_name"]: d["litellm_params"]["model"] for d in config["model_list"]}


# What each state routes, as the deploy renders it from group_data (models: docs/models.md).
OAUTH_ROUTES, BEDROCK_ROUTES = (
    routes_of(yaml.safe_load(config_text(load_data(DEFAULTS, mode)))) for mode in ("oauth", "bedrock"))
MALFORMED = '{"model": "x",\n  "env": {'


def require_fleet() -> None:
    """The fleet needs root and sshd; CI must have both (it fails there instead of skipping)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (useradd, sshd)")
    if not os.access(SSHD, os.X_OK):
        missing.append(f"{SSHD} (apt-get install -y openssh-server)")
    if missing:
        message = "the SSH fleet needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def trust_shared_repositories(fleet: SSHFleet, name: str) -> None:
    """Let a fleet user's git read the root-owned source repositories.

    git refuses repositories owned by someone else ("dubious ownership"). safe.directory from
    the environment (GIT_CONFIG_COUNT/KEY/VALUE) does not help: for a file:// fetch git runs
    upload-pack with those variables unset, so it has to be in the user's ~/.gitconfig.
    """
    fleet.run_as(name, "git config --global --replace-all safe.directory '*'", check=True)


@dataclass
class FleetResult(Result):
    failed_hosts: list = field(default_factory=list)


@dataclass
class Team:
    """The fleet, its LiteLLM sources and its inventory, run with the real pyinfra CLI."""

    fleet: SSHFleet
    sources: dict
    inventory: Path

    def pyinfra(self, script: str, *options: str, inventory: Path | None = None,
                data: dict | None = None) -> FleetResult:
        merged = {"litellm_release": self.sources["release"],
                  "litellm_fork": self.sources["fork"], **(data or {})}
        completed = subprocess.run(
            pyinfra_command(inventory or self.inventory, script, *options, data=merged),
            cwd=REPO, env=scrubbed_environment(), capture_output=True, text=True, timeout=600,
            stdin=subprocess.DEVNULL,
        )
        try:
            failed = json.loads(completed.stdout)["results"]["failed_hosts"]
        except (ValueError, KeyError, TypeError):
            failed = None
        return FleetResult.of(completed, failed_hosts=failed)

    def path(self, name: str, relative: str) -> Path:
        return Path(self.fleet.home_of(name)) / relative

    def config(self, name: str) -> dict:
        return yaml.safe_load(self.path(name, ".litellm/config.yaml").read_text())

    def routes(self, name: str) -> dict:
        return routes_of(self.config(name))

    def regions(self, name: str) -> set:
        return {d["litellm_params"].get("aws_region_name")
                for d in self.config(name)["model_list"]} - {None}

    def launcher(self, name: str) -> str:
        return self.path(name, ".local/bin/openClaude").read_text()

    def receipt_source(self, name: str):
        receipt = self.path(name, ".local/share/uv/tools/litellm/uv-receipt.toml")
        return installed_source(receipt.read_text()) if receipt.exists() else None

    def snapshot(self, name: str) -> dict:
        """Every file in a user's home but uv's tools and caches: path -> (bytes, mode)."""
        home = Path(self.fleet.home_of(name))
        files = {}
        for path in sorted(home.rglob("*")):
            relative = path.relative_to(home).as_posix()
            if relative.startswith((".local/share/uv", ".local/share/openclaude/uv", ".cache")):
                continue
            if path.is_symlink():
                files[relative] = ("link", os.readlink(path))
            elif path.is_file():
                files[relative] = (path.read_bytes(), path.stat().st_mode & 0o7777)
        return files


def converged(result: FleetResult, hosts=HOSTS) -> bool:
    return all(result.per_host.get(name, {}).get("errors", 1) == 0 for name in hosts)


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    require_fleet()
    fleet = SSHFleet()
    try:
        fleet.start(len(HOSTS))
        # Per-user uv caches (uv's default ~/.cache/uv): a shared one would have several owners.
        sources = make_sources(fleet.make_dir("sources", mode=0o755))
        for name in HOSTS:
            trust_shared_repositories(fleet, name)
            readable = fleet.run_as(name, f"git ls-remote {sources['release_repo']}")
            assert readable.returncode == 0 and "v1.108.5" in readable.stdout, readable.stderr
        inventory = fleet.inventory_file(
            tmp_path_factory.mktemp("inventory") / "fleet.py", groups=GROUPS, host_data=HOST_DATA
        )
        yield Team(fleet, sources, inventory)
    finally:
        users, pid, tmpdir = fleet.users, fleet.pid, fleet.tmpdir
        fleet.stop()
    assert not set(users) & passwd_names()
    assert pid is None or not alive(pid)
    assert tmpdir is None or not tmpdir.exists()


@pytest.fixture(scope="module")
def first_deploy(team):
    """deploy.py on fresh hosts, once for the module."""
    return team.pyinfra("deploy.py")


def test_deploy_converges_every_host_in_one_run(first_deploy):
    result = first_deploy
    assert result.returncode == 0, result.output
    assert result.failed_hosts == []
    # One pyinfra run, every host in it (pyinfra runs each operation on all hosts at once).
    assert set(result.per_host) == set(HOSTS), result.output
    for name in HOSTS:
        assert result.per_host[name]["errors"] == 0
        assert result.per_host[name]["changed"] > 0


def test_each_developer_is_deployed_in_their_own_home_without_root(team, first_deploy):
    assert first_deploy.returncode == 0, first_deploy.output
    system_uv = shutil.which("uv", path="/usr/local/bin:/usr/bin:/bin")
    for name in HOSTS:
        host = team.fleet.host(name)
        home = host["home"]
        for relative in (".litellm/config.yaml", ".litellm/master.key", ".local/bin/openClaude",
                         ".openClaude/settings.json", ".local/share/uv/tools/litellm"):
            path = team.path(name, relative)
            assert path.exists(), f"{name}: ~/{relative} is missing"
            assert path.stat().st_uid == host["uid"], f"{name}: ~/{relative} is not the user's"
        assert team.receipt_source(name) == wanted_source(team.sources["release"])
        launcher = team.launcher(name)
        assert f"LITELLM_CONFIG={home}/.litellm/config.yaml" in launcher
        assert "OPENCLAUDE_MODE=oauth" in launcher
        if not system_uv:  # uv came from pip --target, found again without a login shell
            uv = team.path(name, ".local/bin/uv")
            assert os.readlink(uv) == f"{home}/.local/share/openclaude/uv/bin/uv"
            assert os.access(uv, os.X_OK)
    keys = {team.path(name, ".litellm/master.key").read_text() for name in HOSTS}
    assert len(keys) == len(HOSTS), "every machine gets its own master key"


def test_group_and_host_data_reach_only_their_hosts(team, first_deploy):
    assert first_deploy.returncode == 0, first_deploy.output
    # group_data/eu_team.py: dev3 only.
    assert team.regions("dev3") == {"eu-west-1"}
    assert team.regions("dev1") == team.regions("dev2") == {"us-west-2"}
    # litellm_port in dev2's inventory entry: dev2 only.
    assert "LITELLM_PORT=4100" in team.launcher("dev2")
    for name in ("dev1", "dev3"):
        assert "LITELLM_PORT=4000" in team.launcher(name)


def test_second_deploy_changes_nothing_on_any_host(team, first_deploy):
    assert first_deploy.returncode == 0, first_deploy.output
    second = team.pyinfra("deploy.py")
    assert second.returncode == 0, second.output
    assert second.failed_hosts == []
    assert set(second.per_host) == set(HOSTS)
    for name in HOSTS:
        before = first_deploy.per_host[name]
        assert second.per_host[name] == {
            "changed": 0, "unchanged": before["changed"] + before["unchanged"], "errors": 0,
        }, second.output


def test_rollback_converges_every_host_and_rerun_changes_nothing(team, first_deploy):
    rollback = team.pyinfra("rollback.py")
    assert rollback.returncode == 0, rollback.output
    assert rollback.failed_hosts == [] and converged(rollback)
    assert set(rollback.per_host) == set(HOSTS)
    for name in HOSTS:
        assert team.routes(name) == BEDROCK_ROUTES
        assert "OPENCLAUDE_MODE=bedrock" in team.launcher(name)
        assert team.receipt_source(name) == wanted_source(team.sources["release"])
    assert team.regions("dev3") == {"eu-west-1"} and team.regions("dev1") == {"us-west-2"}

    again = team.pyinfra("rollback.py")
    assert again.returncode == 0, again.output
    for name in HOSTS:
        assert again.per_host[name]["changed"] == 0, again.output
        assert again.per_host[name]["errors"] == 0, again.output


def test_malformed_settings_fail_one_host_and_the_others_converge(team):
    settings = team.path("dev2", ".claude/settings.json")
    written = team.fleet.run_as(
        "dev2", f"mkdir -p ~/.claude && printf %s {shlex.quote(MALFORMED)} > ~/.claude/settings.json"
    )
    assert written.returncode == 0, written.stderr
    assert settings.read_text() == MALFORMED
    try:
        before = team.snapshot("dev2")
        result = team.pyinfra("deploy.py")

        assert result.returncode != 0, "a failed host must fail the run"
        assert result.failed_hosts == ["dev2"]
        assert "[dev2] openClaude: ~/.claude/settings.json: invalid JSON at line 2" in result.stderr
        assert result.per_host["dev2"]["errors"] == 1 and result.per_host["dev2"]["changed"] == 0
        assert team.snapshot("dev2") == before
        assert converged(result, ("dev1", "dev3")), result.output
        for name in ("dev1", "dev3"):
            assert team.routes(name) == OAUTH_ROUTES
            assert "OPENCLAUDE_MODE=oauth" in team.launcher(name)
    finally:
        settings.unlink(missing_ok=True)


def test_unreachable_host_is_reported_and_the_others_converge(team, tmp_path):
    inventory = team.fleet.inventory_file(
        tmp_path / "fleet.py", groups=GROUPS, host_data=HOST_DATA,
        extra_hosts=[team.fleet.unreachable_host("deadhost")],
    )
    result = team.pyinfra("rollback.py", inventory=inventory)

    assert result.returncode != 0, "an unreachable host must fail the run"
    assert result.failed_hosts == ["deadhost"]
    assert "[deadhost] Could not connect" in result.stderr
    assert "deadhost" not in result.per_host
    assert set(result.per_host) == set(HOSTS) and converged(result), result.output
    for name in HOSTS:
        assert team.routes(name) == BEDROCK_ROUTES


def test_limit_deploys_only_the_named_group(team):
    assert converged(team.pyinfra("rollback.py"))
    limited = team.pyinfra("deploy.py", "--limit", "eu_team")
    assert limited.returncode == 0, limited.output
    assert set(limited.per_host) == {"dev3"}
    assert team.routes("dev3") == OAUTH_ROUTES
    assert team.routes("dev1") == team.routes("dev2") == BEDROCK_ROUTES


def test_fixture_stops_only_its_own_sshd_and_users(team, make_ssh_fleet):
    other = make_ssh_fleet(1)
    trust_shared_repositories(other, "dev1")
    inventory = other.inventory_file(Path(other.make_dir("inventory", mode=0o700)) / "other.py")
    deployed = team.pyinfra("deploy.py", inventory=inventory)
    assert deployed.returncode == 0 and converged(deployed, ("dev1",)), deployed.output
    users, pid, tmpdir, home = other.users, other.pid, other.tmpdir, other.home_of("dev1")

    other.stop()  # what the fixture does at teardown (idempotent)

    assert not alive(pid)
    assert not set(users) & passwd_names()
    assert not Path(home).exists() and not tmpdir.exists()
    # The module's fleet, its sshd and its users are untouched and still deployable.
    assert alive(team.fleet.pid)
    assert set(team.fleet.users) <= passwd_names()
    again = team.pyinfra("rollback.py")
    assert again.returncode == 0 and converged(again), again.output


def test_team_inventory_example_loads_with_its_group_data():
    """inventory/team.py and inventory/local.py, as pyinfra reads them (nothing is contacted)."""
    listed = subprocess.run(
        pyinfra_command("inventory/team.py", "debug-inventory", yes=False),
        cwd=REPO, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert listed.returncode == 0, listed.stderr
    hosts = {entry["name"]: entry for entry in json.loads(listed.stdout)}
    assert len(hosts) >= 3
    eu = {name for name, entry in hosts.items() if "eu_team" in entry["groups"]}
    assert eu and all("developers" in entry["groups"] for entry in hosts.values())
    for name, entry in hosts.items():
        assert entry["data"]["aws_region"] == ("eu-west-1" if name in eu else "us-west-2")
        assert entry["data"]["ssh_user"]
    ports = [entry["data"]["litellm_port"] for entry in hosts.values()]
    assert 4000 in ports and any(port != 4000 for port in ports), "a per-host port override"

    local = subprocess.run(
        pyinfra_command("inventory/local.py", "debug-inventory", yes=False),
        cwd=REPO, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert local.returncode == 0, local.stderr
    assert [entry["name"] for entry in json.loads(local.stdout)] == ["@local"]


def test_the_run_lock_is_per_target_user(team):
    """A live openClaude run holding dev1's home stops only dev1; dev2's stale lock is taken
    over; dev3 has none."""
    users = {name: pwd.getpwnam(team.fleet.user_of(name)) for name in HOSTS}
    live = write_run_lock(Path(team.fleet.home_of("dev1")), pid=os.getpid(),
                          started=start_token(os.getpid()), boot=boot_id())
    done = subprocess.Popen(["true"])
    done.wait()
    stale = write_run_lock(Path(team.fleet.home_of("dev2")), pid=done.pid, started="1",
                           boot=boot_id())
    for lock, name in ((live, "dev1"), (stale, "dev2")):
        for path in (lock, lock / "owner"):
            os.chown(path, users[name].pw_uid, users[name].pw_gid)
    try:
        before = team.snapshot("dev1")
        result = team.pyinfra("deploy.py", data={"lock_wait": 1, "aws_region": "ca-central-1"})
        assert result.returncode != 0
        assert result.failed_hosts == ["dev1"], result.output
        assert f"deploy.py run from elsewhere (pid {os.getpid()}" in result.output
        assert team.snapshot("dev1") == before
        for name in ("dev2", "dev3"):
            assert team.regions(name) == {"ca-central-1"}, name
            assert not team.path(name, LOCK).exists(), name
        assert "took over" in result.output and f"pid {done.pid}" in result.output
    finally:
        shutil.rmtree(live, ignore_errors=True)
    again = team.pyinfra("deploy.py", data={"aws_region": "ca-central-1"})
    assert converged(again) and team.regions("dev1") == {"ca-central-1"}, again.output
    assert not team.path("dev1", LOCK).exists()
