"""A real OpenSSH server on loopback standing in for a fleet of developer machines.

``SSHFleet`` starts a private ``/usr/sbin/sshd`` (its own host key, config, port
and log) plus N throw-away local users, each reachable with one shared client
key.  pyinfra talks to it exactly as it would talk to real machines: paramiko,
strict host key checking against a generated ``known_hosts``, SFTP for
``files.put``.

Requirements: run as root (``useradd``/``userdel``, sshd), ``/usr/sbin/sshd``
and ``ssh-keygen`` installed (Debian: ``apt-get install -y openssh-server``).
The fixtures skip the test when these are missing.

Usage from pytest -- pick ONE of:

* in ``tests/conftest.py`` (recommended, works with any invocation)::

      from tests.sshfleet import make_ssh_fleet, ssh_fleet, ssh_fleet_module  # noqa: F401

  (``tests.sshfleet`` needs the project root on ``sys.path``: true for
  ``python -m pytest`` from the root, with a root ``conftest.py``, with
  ``pythonpath = .`` in the pytest ini, or with ``tests/__init__.py``.  Without
  those, ``from sshfleet import ...`` works because pytest's default
  "prepend" import mode puts ``tests/`` on ``sys.path``.)

* ``pytest_plugins = ["tests.sshfleet"]`` in the ROOT ``conftest.py``
  (``/work/main/conftest.py``).  pytest refuses ``pytest_plugins`` in a
  non-root conftest when that conftest is collected lazily.

* directly in a test module: ``from tests.sshfleet import ssh_fleet``.

Fixtures:

* ``ssh_fleet``          -- function scope, a started 3-user fleet.
* ``ssh_fleet_module``   -- module scope, a started 3-user fleet.
* ``make_ssh_fleet``     -- function scope factory:
  ``make_ssh_fleet(n_users=3, extra_env=None, **SSHFleet kwargs)``; every fleet
  it made is stopped at teardown.

``extra_env`` values may contain ``{user}`` / ``{home}``, expanded per user
(e.g. ``{"UV_CACHE_DIR": "{home}/.cache/uv"}``); ``fleet.make_dir(name)`` gives
a directory the fleet users can reach (pytest's ``tmp_path`` is under
``/tmp/pytest-of-root``, mode 0700: they cannot).

``SSHFleet(rtt=0.05)`` puts a ``tests/latency_relay.py`` relay in front of sshd
that delays each direction by half of ``rtt`` seconds: clients (the inventory,
``known_hosts``) connect to it, as over a network with that round-trip time.

Plain use::

    with SSHFleet(extra_env={"UV_CACHE_DIR": "/var/cache/uv"}) as fleet:
        fleet.start(3)
        inv = fleet.inventory_file(tmp_path / "inventory.py")
        subprocess.run(["pyinfra", "-y", str(inv), "exec", "--", "id"])
"""

from __future__ import annotations

import atexit
import os
import pprint
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from tests.latency_relay import LatencyRelay
from tests.support.processes import add_local_user, alive, free_port

__all__ = [
    "CA_ENV_VARS",
    "SSHFleet",
    "SSHFleetError",
    "free_port",
    "make_ssh_fleet",
    "ssh_fleet",
    "ssh_fleet_module",
]

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"

#: Environment variables forwarded into every SSH session (via sshd ``SetEnv``)
#: when present in the test runner's environment.  An SSH session does not
#: inherit the environment of whoever started sshd.
CA_ENV_VARS = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "PIP_CERT",
    "GIT_SSL_CAINFO",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "AWS_CA_BUNDLE",
    "PIP_FIND_LINKS",
)

#: Parent of the per-fleet temp dirs.  NOT /tmp: sshd's StrictModes walks every
#: directory above the AuthorizedKeysFile up to "/" and rejects any that is
#: group/world writable -- /tmp and /var/tmp (mode 1777) fail that check.
DEFAULT_BASE_DIR = "/var/lib/sshfleet"


class SSHFleetError(RuntimeError):
    pass


# --------------------------------------------------------------------------- /proc


def _proc_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _proc_ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid ..." -- comm may contain spaces and parentheses.
    try:
        return int(stat[stat.rindex(")") + 2 :].split()[1])
    except (ValueError, IndexError):
        return None


def _proc_uids(pid: int) -> set[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return {int(x) for x in line.split()[1:]}
    except OSError:
        pass
    return set()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in _proc_pids():
        ppid = _proc_ppid(pid)
        if ppid is not None:
            children.setdefault(ppid, []).append(pid)
    out: list[int] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def _pids_of_uids(uids: Iterable[int]) -> list[int]:
    wanted = set(uids)
    me = os.getpid()
    # Zombies are skipped: they cannot be killed, only reaped by their parent
    # (often PID 1 after re-parenting, which may take a while in containers).
    return [p for p in _proc_pids() if p != me and _proc_uids(p) & wanted and alive(p)]


def _kill_pids(pids: Iterable[int], grace: float = 2.0) -> None:
    pids = list(pids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [p for p in pids if alive(p)]
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(0.05)


# --------------------------------------------------------------------------- fleet


class SSHFleet:
    """A private sshd on 127.0.0.1 plus ``n_users`` throw-away local users.

    Attributes after ``start()``: ``port``, ``pid``, ``tmpdir``, ``config_file``,
    ``log_file``, ``client_key`` (private, ed25519), ``client_pubkey``,
    ``host_key_pub`` (``"ssh-ed25519 AAAA..."``), ``known_hosts``, ``hosts``,
    ``env`` (the variables passed to sessions with ``SetEnv``).
    """

    def __init__(
        self,
        extra_env: Mapping[str, str] | None = None,
        *,
        prefix: str = "oc",
        alias_prefix: str = "dev",
        base_dir: str | os.PathLike = DEFAULT_BASE_DIR,
        sshd: str = SSHD,
        log_level: str = "VERBOSE",
        forward_env: Iterable[str] = CA_ENV_VARS,
        start_timeout: float = 15.0,
        rtt: float = 0.0,
    ):
        self.extra_env = dict(extra_env or {})
        self.prefix = prefix
        self.alias_prefix = alias_prefix
        self.base_dir = Path(base_dir)
        self.sshd = sshd
        self.log_level = log_level
        self.forward_env = tuple(forward_env)
        self.start_timeout = start_timeout
        self.rtt = rtt
        self.relay: LatencyRelay | None = None

        self.tmpdir: Path | None = None
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.config_file: Path | None = None
        self.log_file: Path | None = None
        self.host_key: Path | None = None
        self.host_key_pub: str | None = None
        self.client_key: Path | None = None
        self.client_pubkey: str | None = None
        self.known_hosts: Path | None = None
        self.ssh_config: Path | None = None
        self.authorized_keys_dir: Path | None = None
        self.home_dir: Path | None = None
        self.env: dict[str, str] = {}
        self._hosts: list[dict[str, Any]] = []
        self._uids: set[int] = set()
        self._started = False
        self._stopped = False

    # ------------------------------------------------------------ context manager

    def __enter__(self) -> "SSHFleet":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ properties

    @property
    def connect_port(self) -> int | None:
        """Where clients connect: the latency relay when ``rtt`` is set, else sshd itself."""
        return self.relay.port if self.relay else self.port

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def hosts(self) -> list[dict[str, Any]]:
        """``[{"name": "dev1", "user": "oc1a2b3c", "home": "/...", "port": 40123,
        "uid": 1001}, ...]`` -- a copy."""
        return [dict(h) for h in self._hosts]

    @property
    def users(self) -> list[str]:
        return [h["user"] for h in self._hosts]

    @property
    def names(self) -> list[str]:
        return [h["name"] for h in self._hosts]

    def host(self, name_or_user: str) -> dict[str, Any]:
        for h in self._hosts:
            if name_or_user in (h["name"], h["user"]):
                return dict(h)
        raise KeyError(name_or_user)

    def user_of(self, name: str) -> str:
        return self.host(name)["user"]

    def home_of(self, name: str) -> str:
        return self.host(name)["home"]

    def sshd_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace") if self.log_file else ""
        except OSError:
            return ""

    # ------------------------------------------------------------ start

    def start(self, n_users: int = 3) -> "SSHFleet":
        if self._started:
            raise SSHFleetError("SSHFleet.start() called twice")
        if os.geteuid() != 0:
            raise SSHFleetError("SSHFleet needs root (useradd, sshd)")
        if not os.access(self.sshd, os.X_OK):
            raise SSHFleetError(f"{self.sshd} missing: apt-get install -y openssh-server")
        if n_users < 1:
            raise ValueError("n_users must be >= 1")
        self._started = True
        atexit.register(self.stop)
        try:
            self._setup_dirs()
            self._make_keys()
            for i in range(1, n_users + 1):
                self._add_user(f"{self.alias_prefix}{i}")
            self._compute_env()
            self._start_sshd()
            if self.rtt:
                self.relay = LatencyRelay(self.port, self.rtt / 2).start()
                for h in self._hosts:
                    h["port"] = self.relay.port
            self._write_known_hosts()
        except BaseException:
            self.stop()
            raise
        return self

    def _setup_dirs(self) -> None:
        # Every directory from "/" down to the AuthorizedKeysFile must be owned
        # by root and not group/world-writable (StrictModes), and traversable by
        # the users (sshd opens the file with the user's uid).
        self.base_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        os.chmod(self.base_dir, 0o755)
        self.tmpdir = Path(tempfile.mkdtemp(prefix="fleet-", dir=self.base_dir))
        os.chmod(self.tmpdir, 0o755)
        self.authorized_keys_dir = self.tmpdir / "authorized_keys"
        self.home_dir = self.tmpdir / "home"
        for d in (self.authorized_keys_dir, self.home_dir):
            d.mkdir(mode=0o755)
            os.chmod(d, 0o755)
        self.config_file = self.tmpdir / "sshd_config"
        self.log_file = self.tmpdir / "sshd.log"
        self.known_hosts = self.tmpdir / "known_hosts"
        self.ssh_config = self.tmpdir / "ssh_config"
        self.ssh_config.write_text("# intentionally empty (see SSHFleet.host_data)\n")
        os.chmod(self.ssh_config, 0o644)
        # sshd refuses to start without its privilege separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    def _make_keys(self) -> None:
        assert self.tmpdir is not None
        self.host_key = self.tmpdir / "ssh_host_ed25519_key"
        self.client_key = self.tmpdir / "client_ed25519"
        for path, comment in ((self.host_key, "sshfleet-host"), (self.client_key, "sshfleet-client")):
            subprocess.run(
                [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                check=True,
                capture_output=True,
            )
        # Only "type base64" -- drop the comment.
        self.host_key_pub = " ".join(Path(f"{self.host_key}.pub").read_text().split()[:2])
        self.client_pubkey = " ".join(Path(f"{self.client_key}.pub").read_text().split()[:2])

    def _add_user(self, alias: str) -> None:
        assert self.home_dir is not None and self.authorized_keys_dir is not None
        try:
            pw = add_local_user(self.prefix, self.home_dir, shell="/bin/bash",
                                comment=f"sshfleet test user ({self.tmpdir})")
        except RuntimeError as error:
            raise SSHFleetError(str(error)) from None
        user, home = pw.pw_name, Path(pw.pw_dir)
        self._uids.add(pw.pw_uid)
        self._hosts.append(
            {"name": alias, "user": user, "home": str(home), "port": None, "uid": pw.pw_uid}
        )
        ak = self.authorized_keys_dir / user
        ak.write_text(self.client_pubkey + "\n")
        os.chown(ak, 0, 0)
        os.chmod(ak, 0o644)

    def _compute_env(self) -> None:
        # extra_env values may use "{user}" and "{home}" (expanded per user).
        env = {k: os.environ[k] for k in self.forward_env if os.environ.get(k)}
        env.update({k: str(v) for k, v in self.extra_env.items()})
        for k, v in env.items():
            if not k.replace("_", "a").isalnum() or k[0].isdigit():
                raise SSHFleetError(f"bad environment variable name {k!r}")
            if any(c in v for c in '"\n\r\\'):
                raise SSHFleetError(f"unsupported character in {k}={v!r}")
        self.env = env

    def _write_config(self) -> None:
        assert self.config_file is not None
        lines = [
            "# generated by tests/sshfleet.py",
            "ListenAddress 127.0.0.1",
            f"Port {self.port}",
            f"HostKey {self.host_key}",
            f"PidFile {self.tmpdir}/sshd.pid",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "UsePAM no",
            f"AuthorizedKeysFile {self.authorized_keys_dir}/%u",
            "Subsystem sftp internal-sftp",
            "StrictModes yes",
            "PermitRootLogin no",
            f"AllowUsers {' '.join(self.users)}",
            "MaxStartups 64:30:100",
            "MaxSessions 64",
            "MaxAuthTries 10",
            "LoginGraceTime 30",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            f"LogLevel {self.log_level}",
        ]
        # ONE SetEnv line per scope: like most sshd keywords only the FIRST
        # SetEnv that applies counts -- later SetEnv lines (global or in a
        # Match block) are silently ignored.  Values with {user}/{home} need a
        # per-user line, so then every user gets its own Match block and there
        # is no global SetEnv at all.
        if self.env and not self._per_user_env():
            lines.append(self._setenv_line(self.env))
        elif self.env:
            for h in self._hosts:
                lines += [f"Match User {h['user']}", "    " + self._setenv_line(self.env_for(h["name"]))]
        self.config_file.write_text("\n".join(lines) + "\n")

    def _per_user_env(self) -> bool:
        return any("{user}" in v or "{home}" in v for v in self.env.values())

    @staticmethod
    def _setenv_line(env: Mapping[str, str]) -> str:
        return "SetEnv " + " ".join(
            f'"{k}={v}"' if any(c.isspace() for c in v) else f"{k}={v}" for k, v in env.items()
        )

    def env_for(self, name: str) -> dict[str, str]:
        """The environment sshd sets in this host's sessions ({user}/{home} expanded)."""
        h = self.host(name)
        return {
            k: v.replace("{user}", h["user"]).replace("{home}", h["home"])
            for k, v in self.env.items()
        }

    def make_dir(self, name: str, mode: int = 0o1777) -> Path:
        """A directory inside the fleet's temp dir (removed by ``stop()``) that
        the fleet users can reach -- pytest's ``tmp_path`` lives under
        ``/tmp/pytest-of-root`` (mode 0700), which they cannot.  Default mode
        1777 (shared, sticky); e.g. a shared wheel dir or per-user caches."""
        assert self.tmpdir is not None, "start() first"
        path = self.tmpdir / "shared" / name
        path.parent.mkdir(mode=0o755, exist_ok=True)
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
        return path
        os.chmod(self.config_file, 0o644)

    def _start_sshd(self) -> None:
        last_err = ""
        for _ in range(5):
            self.port = free_port()
            self._write_config()
            t = subprocess.run(
                [self.sshd, "-t", "-f", str(self.config_file)], capture_output=True, text=True
            )
            if t.returncode != 0:
                raise SSHFleetError(f"sshd -t rejected {self.config_file}: {t.stderr}")
            # Absolute path is required: sshd re-execs itself per connection.
            self.proc = subprocess.Popen(
                [self.sshd, "-D", "-f", str(self.config_file), "-E", str(self.log_file)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
            )
            if self._wait_ready():
                for h in self._hosts:
                    h["port"] = self.port
                return
            last_err = self.sshd_log()
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None
            if "Address already in use" not in last_err:
                break
        raise SSHFleetError(f"sshd did not come up on 127.0.0.1:{self.port}:\n{last_err}")

    def _wait_ready(self) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(64).startswith(b"SSH-"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _write_known_hosts(self) -> None:
        assert self.known_hosts is not None
        # Non-default port => OpenSSH/paramiko look the key up as "[host]:port".
        self.known_hosts.write_text(f"[127.0.0.1]:{self.connect_port} {self.host_key_pub}\n")
        os.chmod(self.known_hosts, 0o644)

    # ------------------------------------------------------------ pyinfra inventory

    def host_data(self, name: str) -> dict[str, Any]:
        """pyinfra host data for one fleet host (alias or user name)."""
        h = self.host(name)
        return {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": self.connect_port,
            "ssh_user": h["user"],
            "ssh_key": str(self.client_key),
            "ssh_known_hosts_file": str(self.known_hosts),
            "ssh_strict_host_key_checking": "yes",
            # An empty ssh_config: keeps the runner's ~/.ssh/config (Host *
            # HostName/ProxyJump/IdentityFile...) out of the picture.
            "ssh_config_file": str(self.ssh_config),
        }

    def unreachable_host(self, name: str = "deadhost", **data: Any) -> tuple[str, dict[str, Any]]:
        """An inventory entry for a port nothing listens on (for failure tests)."""
        d = self.host_data(self._hosts[0]["name"])
        d.update(ssh_port=free_port(), **data)
        return (name, d)

    def inventory_file(
        self,
        path: str | os.PathLike,
        groups: Mapping[str, Iterable[str]] | None = None,
        host_data: Mapping[str, Mapping[str, Any]] | None = None,
        extra_hosts: Iterable[Any] = (),
        extra_group: str = "developers",
    ) -> Path:
        """Write a pyinfra inventory ``.py`` file and return its path.

        ``groups``: group name -> fleet aliases (or user names); default
        ``{"developers": <all aliases>}``.  Aliases not in any group are not in
        the inventory.  ``host_data``: alias -> extra host data (merged over the
        connection data).  ``extra_hosts``: additional ``(name, data)`` tuples
        or plain host names, appended to group ``extra_group`` (created if
        needed), e.g. ``fleet.unreachable_host("deadhost")``.

        The file name (minus ``.py``) becomes a pyinfra group too, and any
        ``group_data/`` directory next to it is loaded -- so keep it alone in
        its directory and don't name it after a real group.
        """
        if groups is None:
            groups = {"developers": self.names}
        host_data = dict(host_data or {})
        group_members: dict[str, list[Any]] = {}
        for group, members in groups.items():
            if not group.isidentifier() or group.startswith("_") or group == "all":
                raise ValueError(f"invalid pyinfra group name {group!r}")
            entries = []
            for member in members:
                alias = self.host(member)["name"]
                data = self.host_data(alias)
                data.update(host_data.get(alias, host_data.get(self.user_of(alias), {})))
                entries.append((alias, data))
            group_members[group] = entries
        extra = list(extra_hosts)
        if extra:
            group_members.setdefault(extra_group, []).extend(extra)

        out = [
            '"""pyinfra inventory generated by tests/sshfleet.py.',
            "",
            "Every module-level list is a host group; names starting with '_' are ignored.",
            '"""',
            "",
        ]
        for group, entries in group_members.items():
            out.append(f"{group} = {pprint.pformat(entries, width=100, sort_dicts=False)}")
            out.append("")
        path = Path(path)
        path.write_text("\n".join(out))
        return path

    # ------------------------------------------------------------ local helpers

    def run_as(
        self,
        user: str,
        cmd: str,
        *,
        env: Mapping[str, str] | None = None,
        check: bool = False,
        timeout: float = 120,
        login: bool = True,
    ) -> subprocess.CompletedProcess:
        """Run ``cmd`` with bash as a fleet user (alias or user name) on this
        machine, without going through sshd; clean environment (``su -l``: HOME,
        USER, LOGNAME, SHELL, PATH from login.defs, cwd = home).  ``env`` is
        exported in front of the command.  Returns a text CompletedProcess."""
        user = self.host(user)["user"]
        if env:
            import shlex

            exports = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items())
            cmd = f"export {exports}; {cmd}"
        argv = ["su"] + (["-l"] if login else []) + ["-s", "/bin/bash", user, "-c", cmd]
        return subprocess.run(
            argv,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
            cwd="/",
        )

    # ------------------------------------------------------------ stop

    def stop(self) -> None:
        """Stop our sshd (by pid), kill our users' processes (by uid), delete
        our users and temp dir.  Idempotent; never touches anything else."""
        if self._stopped:
            return
        self._stopped = True
        try:
            atexit.unregister(self.stop)
        except Exception:
            pass
        errors: list[str] = []
        if self.relay is not None:
            self.relay.stop()

        if self.proc is not None:
            sshd_pid = self.proc.pid
            # 1. per-connection sshd processes (root-owned monitors and their
            #    children) are descendants of our listener -- kill them while
            #    the listener is still alive so the tree is intact.
            if self.proc.poll() is None:
                for _ in range(5):
                    kids = _descendants(sshd_pid)
                    if not kids:
                        break
                    _kill_pids(kids, grace=1.0)
            # 2. the listener itself.
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)

        # 3. anything still running as one of our users (daemonised children etc.)
        if self._uids:
            for _ in range(5):
                pids = _pids_of_uids(self._uids)
                if not pids:
                    break
                _kill_pids(pids, grace=1.0)
            else:
                errors.append(f"processes of {sorted(self._uids)} survived")

        # 4. users (+ their groups and homes)
        for h in self._hosts:
            user = h["user"]
            for attempt in range(30):
                try:
                    pwd.getpwnam(user)
                except KeyError:
                    break
                r = subprocess.run(["userdel", "-r", user], capture_output=True, text=True)
                try:
                    pwd.getpwnam(user)
                except KeyError:
                    break
                if r.returncode == 8:  # "currently used by process"
                    _kill_pids(_pids_of_uids({h["uid"]}), grace=1.0)
                    if attempt > 3:
                        subprocess.run(["userdel", "-f", "-r", user], capture_output=True)
                time.sleep(0.2)
            else:
                errors.append(f"could not delete user {user}: {r.stderr}")

        # 5. temp dir
        if self.tmpdir is not None and self.tmpdir.exists():
            shutil.rmtree(self.tmpdir, ignore_errors=True)

        if errors:
            raise SSHFleetError("; ".join(errors))


# --------------------------------------------------------------------------- pytest

try:
    import pytest
except ImportError:  # pragma: no cover - helpers usable without pytest
    pytest = None  # type: ignore[assignment]


def _skip_unless_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("SSHFleet needs root")
    if not os.access(SSHD, os.X_OK):
        pytest.skip(f"{SSHD} missing (apt-get install -y openssh-server)")


if pytest is not None:

    @pytest.fixture
    def make_ssh_fleet():
        """Factory: ``make_ssh_fleet(n_users=3, extra_env=None, **kwargs)`` ->
        started ``SSHFleet``; all fleets are stopped at teardown."""
        _skip_unless_possible()
        fleets: list[SSHFleet] = []

        def _make(n_users: int = 3, extra_env: Mapping[str, str] | None = None, **kwargs):
            fleet = SSHFleet(extra_env=extra_env, **kwargs)
            fleets.append(fleet)
            return fleet.start(n_users)

        yield _make
        for fleet in reversed(fleets):
            fleet.stop()

    @pytest.fixture
    def ssh_fleet():
        """A started 3-user ``SSHFleet`` (function scope)."""
        _skip_unless_possible()
        with SSHFleet() as fleet:
            yield fleet.start(3)

    @pytest.fixture(scope="module")
    def ssh_fleet_module():
        """A started 3-user ``SSHFleet`` shared by one test module."""
        _skip_unless_possible()
        with SSHFleet() as fleet:
            yield fleet.start(3)
