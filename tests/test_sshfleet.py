"""Tests for the SSHFleet fixture itself, driven through the real pyinfra CLI."""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.sshfleet import SSHFleet
from tests.support.processes import alive, passwd_names, wait_until
from tests.support.runs import pyinfra_command

HOST_LINE = re.compile(r"^\[(?P<host>[^\]]+)\]\s?(?P<out>.*)$")


def pyinfra(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PYINFRA_YES", None)
    return subprocess.run(
        pyinfra_command(*args, json_output=False),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def host_output(text: str) -> dict[str, list[str]]:
    """Command output lines per host.  pyinfra 3.10 logs EVERYTHING to stderr
    (stdout only carries the --json document); command output lines are
    "[host]     line" at column 0, status lines ("    [host] Success") are
    indented."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        m = HOST_LINE.match(line)
        if m:
            out.setdefault(m["host"], []).append(m["out"].strip())
    return out


# --------------------------------------------------------------------------- (a)


def test_exec_reaches_each_user_with_env(make_ssh_fleet, tmp_path):
    fleet = make_ssh_fleet(3, extra_env={"UV_CACHE_DIR": "/var/cache/uv test"})
    assert len(fleet.hosts) == 3
    assert len(set(fleet.users)) == 3
    assert all(re.fullmatch(r"oc[0-9a-f]{6}", u) for u in fleet.users)
    # host key checking is really on: known_hosts holds exactly our key
    assert fleet.known_hosts.read_text().split() == [
        f"[127.0.0.1]:{fleet.port}",
        *fleet.host_key_pub.split(),
    ]

    inv = fleet.inventory_file(
        tmp_path / "inventory.py",
        groups={"developers": ["dev1", "dev2"], "leads": ["dev3"]},
    )
    r = pyinfra(
        str(inv),
        "exec",
        "--",
        'id -un; echo "home=$HOME"; echo "ssl=$SSL_CERT_FILE"; echo "uv=$UV_CACHE_DIR"',
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    out = host_output(r.stderr)
    assert set(out) == {"dev1", "dev2", "dev3"}, (r.stdout, r.stderr)
    for h in fleet.hosts:
        lines = out[h["name"]]
        assert lines[0] == h["user"]
        assert f"home={h['home']}" in lines
        assert "uv=/var/cache/uv test" in lines
        if os.environ.get("SSL_CERT_FILE"):
            assert f"ssl={os.environ['SSL_CERT_FILE']}" in lines


def test_per_user_env_and_shared_dir(make_ssh_fleet, tmp_path):
    fleet = make_ssh_fleet(2, extra_env={"UV_CACHE_DIR": "{home}/.cache/uv-{user}", "PLAIN": "x"})
    shared = fleet.make_dir("wheels")
    inv = fleet.inventory_file(tmp_path / "inventory.py")
    r = pyinfra(
        str(inv), "exec", "--",
        f'echo "uv=$UV_CACHE_DIR plain=$PLAIN"; touch {shared}/$(id -un) && echo wrote',
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    out = host_output(r.stderr)
    for h in fleet.hosts:
        assert out[h["name"]] == [f"uv={h['home']}/.cache/uv-{h['user']} plain=x", "wrote"]
        assert (shared / h["user"]).stat().st_uid == h["uid"]
        assert fleet.env_for(h["name"])["UV_CACHE_DIR"] == f"{h['home']}/.cache/uv-{h['user']}"


def test_groups_and_host_data_in_inventory(ssh_fleet, tmp_path):
    inv = ssh_fleet.inventory_file(
        tmp_path / "inventory.py",
        groups={"developers": ["dev1", "dev2", "dev3"], "leads": ["dev2"]},
        host_data={"dev2": {"team": "blue"}},
    )
    r = pyinfra(str(inv), "debug-inventory", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    text = json.dumps(data)
    assert "blue" in text and "leads" in text and ssh_fleet.user_of("dev3") in text


# --------------------------------------------------------------------------- (b)


def test_dead_host_fails_others_succeed(ssh_fleet, tmp_path):
    inv = ssh_fleet.inventory_file(
        tmp_path / "inventory.py",
        extra_hosts=[ssh_fleet.unreachable_host("deadhost")],
    )
    r = pyinfra("--json", str(inv), "exec", "--", "id -un", cwd=tmp_path)
    assert r.returncode != 0, r.stdout + r.stderr
    result = json.loads(r.stdout)  # --json: pure JSON on stdout, log on stderr
    assert result["results"]["failed_hosts"] == ["deadhost"]
    (op,) = result["results"]["operations"]
    assert sorted(op["success"]) == ["dev1", "dev2", "dev3"]
    assert op["error"] == []
    assert "[deadhost] Could not connect" in r.stderr
    out = host_output(r.stderr)
    for h in ssh_fleet.hosts:
        assert out[h["name"]] == [h["user"]]


def test_host_key_mismatch_is_rejected(ssh_fleet, tmp_path):
    """Strict host key checking is on: a wrong key in known_hosts fails."""
    other = tmp_path / "other_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True
    )
    bad_known_hosts = tmp_path / "known_hosts"
    pub = " ".join(Path(f"{other}.pub").read_text().split()[:2])
    bad_known_hosts.write_text(f"[127.0.0.1]:{ssh_fleet.port} {pub}\n")
    inv = ssh_fleet.inventory_file(
        tmp_path / "inventory.py",
        groups={"developers": ["dev1"]},
        host_data={"dev1": {"ssh_known_hosts_file": str(bad_known_hosts)}},
    )
    r = pyinfra(str(inv), "exec", "--", "true", cwd=tmp_path)
    assert r.returncode != 0
    assert "host key" in (r.stdout + r.stderr).lower()
    assert bad_known_hosts.read_text().count("\n") == 1  # nothing appended


# --------------------------------------------------------------------------- SFTP


def test_files_put_over_sftp(ssh_fleet, tmp_path):
    src = tmp_path / "payload.txt"
    src.write_text("hello from pyinfra\n")
    deploy = tmp_path / "deploy.py"
    deploy.write_text(
        "from pyinfra import host\n"
        "from pyinfra.operations import files\n"
        "files.put(\n"
        "    name='put payload',\n"
        f"    src={str(src)!r},\n"
        "    dest=host.data.home + '/payload.txt',\n"
        "    mode='640',\n"
        ")\n"
    )
    inv = ssh_fleet.inventory_file(
        tmp_path / "inventory.py",
        host_data={h["name"]: {"home": h["home"]} for h in ssh_fleet.hosts},
    )
    r = pyinfra(str(inv), str(deploy), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    for h in ssh_fleet.hosts:
        c = ssh_fleet.run_as(h["name"], "cat ~/payload.txt; stat -c '%U %a' ~/payload.txt")
        assert c.returncode == 0, c.stderr
        assert c.stdout == f"hello from pyinfra\n{h['user']} 640\n"
    # second run: idempotent, no change
    r = pyinfra("--json", str(inv), str(deploy), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    totals = json.loads(r.stdout)["results"]["totals"]
    assert totals["error"] == 0 and totals["no_change"] == 3, totals


def test_run_as_clean_env(ssh_fleet):
    h = ssh_fleet.hosts[1]
    r = ssh_fleet.run_as("dev2", 'id -un; pwd; echo "x=${SSL_CERT_FILE:-unset}"', check=True)
    assert r.stdout.splitlines() == [h["user"], h["home"], "x=unset"]
    r = ssh_fleet.run_as(h["user"], "echo $FOO", env={"FOO": "a b"}, check=True)
    assert r.stdout == "a b\n"


# --------------------------------------------------------------------------- (c)


def test_stop_cleans_up_only_its_own(tmp_path):
    unrelated = subprocess.Popen(["sleep", "300"])  # ours-looking name, not ours
    hanging = None
    fleet = SSHFleet()
    try:
        t0 = time.monotonic()
        fleet.start(2)
        started = time.monotonic() - t0
        users, uids = fleet.users, [h["uid"] for h in fleet.hosts]
        pid, tmpdir = fleet.pid, fleet.tmpdir
        assert alive(pid)

        # a daemonised leftover process of a test user (re-parented to init)
        fleet.run_as("dev1", "nohup sleep 300 >/dev/null 2>&1 &", check=True)
        # an SSH session still open while stopping
        inv = fleet.inventory_file(tmp_path / "inventory.py")
        hanging = subprocess.Popen(
            pyinfra_command(inv, "exec", "--", "sleep 301", json_output=False),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def user_procs():
            pids = []
            for p in os.listdir("/proc"):
                try:
                    if p.isdigit() and os.stat(f"/proc/{p}").st_uid in uids and alive(int(p)):
                        pids.append(int(p))
                except FileNotFoundError:
                    pass
            return pids

        # dev1's nohup sleep + one "sleep 301" session per host
        assert wait_until(lambda: len(user_procs()) >= 3, 60), user_procs()

        t0 = time.monotonic()
        fleet.stop()
        stopped = time.monotonic() - t0
        fleet.stop()  # idempotent

        assert not alive(pid)
        assert not user_procs()
        names = passwd_names()
        assert not set(users) & names
        for u in users:
            with pytest.raises(KeyError):
                pwd.getpwnam(u)
        groups = {l.split(":", 1)[0] for l in Path("/etc/group").read_text().splitlines()}
        assert not set(users) & groups
        assert not tmpdir.exists()
        # the pyinfra client loses its connection and exits with an error
        assert hanging.wait(30) != 0
        # the unrelated process survived
        assert unrelated.poll() is None and alive(unrelated.pid)
        print(f"fleet start {started:.2f}s, stop {stopped:.2f}s")
    finally:
        fleet.stop()
        if hanging is not None and hanging.poll() is None:
            hanging.kill()
            hanging.wait()
        unrelated.send_signal(signal.SIGTERM)
        unrelated.wait(10)


def test_two_fleets_side_by_side(make_ssh_fleet, tmp_path):
    a = make_ssh_fleet(1)
    b = make_ssh_fleet(1)
    assert a.port != b.port and a.users != b.users
    a.stop()
    assert alive(b.pid)
    inv = b.inventory_file(tmp_path / "inventory.py")
    r = pyinfra(str(inv), "exec", "--", "id -un", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert host_output(r.stderr)["dev1"] == [b.users[0]]


def test_a_fleet_with_latency_is_reached_through_its_relay(make_ssh_fleet, tmp_path):
    fleet = make_ssh_fleet(2, rtt=0.1)
    assert fleet.connect_port == fleet.relay.port != fleet.port
    assert {h["port"] for h in fleet.hosts} == {fleet.relay.port}
    assert fleet.known_hosts.read_text().split()[0] == f"[127.0.0.1]:{fleet.relay.port}"
    inv = fleet.inventory_file(tmp_path / "inventory.py")
    r = pyinfra(str(inv), "exec", "--", "id -un", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    out = host_output(r.stderr)
    assert {name: lines[0] for name, lines in out.items()} == {
        h["name"]: h["user"] for h in fleet.hosts}
    fleet.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", fleet.relay.port), timeout=5)
