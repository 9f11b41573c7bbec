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
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyinfra import host, logger, state
from pyinfra.api import FunctionCommand, StringCommand
from pyinfra.api.state import BaseStateCallback

from operations.sh import call

LOCK_DIR = ".openclaude.lock"


@dataclass
class RunLock:
    """One run's lock on one host's home."""

    path: str
    about: str
    wait: int
    script: str
    digest: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex)

    def take_command(self) -> FunctionCommand:
        """Take the lock (waiting up to ``wait`` s), then re-read: go on only if unchanged."""
        return FunctionCommand(self._take, (), {})

    def _take(self, state, host) -> bool:
        # Run from the controller so that what the command says (waiting, taken over, refused)
        # is shown: pyinfra prints a command's output only with -vvv or when it fails.
        status, output = host.run_shell_command(StringCommand(call(
            ("digest", "lock"), "lock_unchanged", self.path, self.run, int(self.wait), self.about,
            self.script, self.digest)))
        for line in output.stdout_lines:
            if line.startswith("openClaude:"):
                host.log_styled(line, fg="yellow", log_func=logger.warning)
        for line in output.stderr_lines:
            host.log_styled(line, fg="red", log_func=logger.error)
        return status

    def release_command(self) -> StringCommand:
        return StringCommand(call("lock", "release_lock", self.path, self.run))


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
