"""The operation that prints verify.py's table and fails the host when a check failed."""

from __future__ import annotations

from pyinfra import host, logger, state
from pyinfra.api import operation

from operations.model.verify_checks import table


# Hosts whose table this run printed: pyinfra runs an operation's body once for change
# detection (without -y, and with --dry) and again to execute; the table belongs once.
_REPORTED: set = set()


@operation()
def checks_pass(checks: list):
    """
    Print this host's checks as a table, once; mark the host failed when any check failed, so
    pyinfra exits non-zero. Runs no command and changes nothing: never counted as a change.

    + checks: ``Check`` results

    **Example:**

    .. code:: python

        checks_pass(name="openClaude checks", checks=[Check("claude on PATH", True)])
    """
    failed = [check.name for check in checks if not check.passed]
    if host.name not in _REPORTED:
        _REPORTED.add(host.name)
        for line in table(checks).splitlines():
            host.log(line, logger.info)
        if failed:
            host.log_styled("openClaude: failed: " + "; ".join(failed), fg="red",
                            log_func=logger.error)
    if failed:
        # pyinfra's exit status is non-zero when a host failed; failing the operation instead
        # would also stop the host ("No hosts remaining!") for a check that changed nothing.
        state.failed_hosts.add(host._get_module())
        host.noop(f"{len(failed)} of {len(checks)} checks failed")
    else:
        host.noop(f"all {len(checks)} checks passed")
    yield from ()
