"""One openClaude run per home at a time: a lock directory taken before anything changes.

``mkdir`` is the lock (atomic everywhere; macOS has no ``flock``). It is taken only by a run
that will change something, so a converged re-run still costs one command on the target. The
owner file names the run: the process that lives as long as it (the pyinfra process for
``@local``, the SSH session's ``sshd`` over SSH: the first ancestor of the command's shell that
is not a shell), that process's start time, and the boot. A lock whose process is gone, or
that was taken in another boot, is stale and taken over: a killed run never blocks the next.
Under the lock the run re-reads the target with the fact's own script and goes on only if the
output is what it read at its start, so two runs never interleave their changes.
"""

from __future__ import annotations

import logging
import shlex
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyinfra import host, logger, state
from pyinfra.api import FunctionCommand, StringCommand
from pyinfra.api.state import BaseStateCallback

from operations.facts.host import redigest

LOCK_DIR = ".openclaude.lock"

# Shell helpers, POSIX sh and BSD userland: /proc where it exists (Linux), ps and sysctl otherwise.
_PROCESS = r"""
boot_id() {
  if [ -r /proc/sys/kernel/random/boot_id ]; then read -r b < /proc/sys/kernel/random/boot_id; echo "$b"
  else sysctl -n kern.boottime 2>/dev/null | tr -d ' '; fi
}
stat_of() { [ -r "/proc/$1/stat" ] && read -r s < "/proc/$1/stat" && echo "$s"; }
parent_of() {
  if s=$(stat_of "$1"); then s=${s##*) }; set -- $s; echo "$2"
  else ps -o ppid= -p "$1" 2>/dev/null | tr -d ' '; fi
}
name_of() {
  if s=$(stat_of "$1"); then s=${s#*(}; echo "${s%)*}"
  else n=$(ps -o comm= -p "$1" 2>/dev/null); echo "${n##*/}"; fi
}
# A token that changes when the pid is reused; empty when the process is gone (or a zombie).
started_of() {
  if s=$(stat_of "$1"); then s=${s##*) }; set -- $s; [ "$1" = Z ] || echo "${20}"
  elif [ ! -d /proc/self ]; then ps -o lstart= -p "$1" 2>/dev/null | tr -d ' '; fi
}
anchor=$$
while parent=$(parent_of "$anchor") && [ -n "$parent" ] && [ "$parent" -gt 1 ]; do
  case $(name_of "$anchor") in sh|bash|dash|zsh|ksh|mksh|ash|-*) anchor=$parent ;; *) break ;; esac
done
"""

_TAKE = r"""
boot=$(boot_id); said=""; deadline=$(( $(date +%s) + wait ))
while ! mkdir "$lock" 2>/dev/null; do
  opid=""; ostarted=""; oboot=""; osince="an unknown time"; oabout="another openClaude run"
  if [ -r "$lock/owner" ]; then
    while IFS='=' read -r key value; do
      case $key in pid) opid=$value ;; started) ostarted=$value ;; boot) oboot=$value ;;
        since) osince=$value ;; about) oabout=$value ;; esac
    done < "$lock/owner"
  fi
  stale=""
  if [ -z "$opid" ]; then
    # mkdir done, owner not written yet: a run starting now, unless it was killed in between.
    [ -n "$(find "$lock" -prune -mmin +1 2>/dev/null)" ] && stale="its owner file is missing"
  elif [ "$oboot" != "$boot" ]; then stale="it was taken before this machine last booted"
  elif [ -z "$ostarted" ] || [ "$(started_of "$opid")" != "$ostarted" ]; then
    stale="its process $opid is gone"
  fi
  if [ -n "$stale" ]; then
    moved="$lock.stale.$$"
    if mv "$lock" "$moved" 2>/dev/null; then
      rm -rf "$moved"
      echo "openClaude: took over $lock from $oabout (pid ${opid:-unknown}, started $osince): $stale"
    fi
    continue
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "openClaude: another openClaude run is changing this home: $oabout (pid ${opid:-unknown}, started $osince; lock $lock). Waited ${wait}s; nothing was changed. Re-run once it has finished (remove $lock only if no such run exists)." >&2
    exit 1
  fi
  [ -n "$said" ] || echo "openClaude: waiting up to ${wait}s for $oabout (pid ${opid:-unknown}, started $osince) to finish"
  said=1
  sleep 1
done
printf 'run=%s\npid=%s\nstarted=%s\nboot=%s\nsince=%s\nabout=%s\n' "$run" "$anchor" \
  "$(started_of "$anchor")" "$boot" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$about" > "$lock/owner"
"""

_RELEASE = 'grep -qx "run=$run" "$lock/owner" 2>/dev/null && rm -rf "$lock"; true'


@dataclass
class RunLock:
    """One run's lock on one host's home."""

    path: str
    about: str
    wait: int
    script: str
    digest: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex)

    def variables(self) -> str:
        return (f"lock={shlex.quote(self.path)}; run={self.run}; wait={int(self.wait)}; "
                f"about={shlex.quote(self.about)}")

    def take_command(self) -> FunctionCommand:
        """Take the lock (waiting up to ``wait`` s), then re-read: go on only if unchanged."""
        return FunctionCommand(self._take, (), {})

    def _take(self, state, host) -> bool:
        # Run from the controller so that what the command says (waiting, taken over, refused)
        # is shown: pyinfra prints a command's output only with -vvv or when it fails.
        changed = shlex.quote(
            "openClaude: this home changed after this run read it (another openClaude run "
            "finished meanwhile?); nothing was changed; re-run"
        )
        status, output = host.run_shell_command(StringCommand(
            f"{self.variables()}; want={shlex.quote(self.digest)}\n{_PROCESS}{_TAKE}"
            f'{redigest(self.script)}\nif [ "$digest" != "$want" ]; then {_RELEASE}; '
            f"echo {changed} >&2; exit 1; fi"
        ))
        for line in output.stdout_lines:
            if line.startswith("openClaude:"):
                host.log_styled(line, fg="yellow", log_func=logger.warning)
        for line in output.stderr_lines:
            host.log_styled(line, fg="red", log_func=logger.error)
        return status

    def release_command(self) -> StringCommand:
        return StringCommand(f"{self.variables()}; {_RELEASE}")


class _ReleaseOnError(BaseStateCallback):
    """Releases a host's lock when one of its operations fails (pyinfra stops that host)."""

    locks: dict = {}

    @classmethod
    def operation_host_error(cls, state, host, op_hash, retry_count=0, max_retries=0):
        lock = cls.locks.pop(host.name, None)
        if lock:
            host.run_shell_command(lock.release_command())


def registered_operations() -> set:
    """This host's operations so far: ``lock_changes`` covers only the ones added after."""
    return set(state.ops[host._get_module()])


def lock_changes(home: str, facts: dict, *, mode: str, wait: int, since: set) -> None:
    """
    Hold this home's openClaude lock while this run changes anything: the first operation
    (added after ``since``) that changes something takes it first, the last one releases it.
    Decided from the facts once every operation is known, as pyinfra's change detection does;
    a run that changes nothing takes no lock and runs no extra command.
    """
    host_ops = state.ops[host._get_module()]
    with _quiet():
        changing = [op_hash for op_hash in state.get_op_order()
                    if op_hash in host_ops and op_hash not in since
                    and host_ops[op_hash].operation_meta.will_change]
    if not changing:
        return
    script = "deploy.py" if mode == "oauth" else "rollback.py"
    lock = RunLock(path=f"{home}/{LOCK_DIR}", wait=wait, script=facts.get("script") or "",
                   digest=facts.get("digest") or "",
                   about=f"{script} run from {socket.gethostname()}")
    first, last = host_ops[changing[0]], host_ops[changing[-1]]
    first.command_generator = _before(lock.take_command, first.command_generator)
    last.command_generator = _after(lock.release_command, last.command_generator)
    if not any(isinstance(handler, _ReleaseOnError) for handler in state.callback_handlers):
        state.add_callback_handler(_ReleaseOnError())
    _ReleaseOnError.locks[host.name] = lock


# Hosts whose operations are being asked whether they will change something. Hosts are
# prepared in parallel greenlets: only the asking host's log lines are held back.
_ASKING: set = set()


class _SkipAsking(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = host._get_module()
        return current is None or current.name not in _ASKING


@contextmanager
def _quiet():
    """Operations asked whether they will change something print their warnings when they
    run, not also while asked."""
    pyinfra_logger = logging.getLogger("pyinfra")
    if not any(isinstance(existing, _SkipAsking) for existing in pyinfra_logger.filters):
        pyinfra_logger.addFilter(_SkipAsking())
    _ASKING.add(host.name)
    try:
        yield
    finally:
        _ASKING.discard(host.name)


def _before(command, generator):
    def commands():
        yield command()
        yield from generator()
    return commands


def _after(command, generator):
    def commands():
        yield from generator()
        yield command()
        _ReleaseOnError.locks.pop(host.name, None)
    return commands
