"""The operation that says when the launcher's directory is not on the login shell's PATH."""

from __future__ import annotations

from pyinfra import host, logger, state
from pyinfra.api import operation

from operations.facts.host import OpenClaudeHost
from operations.model.shellpath import path_fix, path_problem


def _warn_when_not_on_path(facts: dict, directory: str, command: str = "openclaude") -> None:
    """Say, with the line to add, when the launcher's directory is not on the login shell's
    PATH. Changes nothing: the user's shell files are theirs."""
    problem = path_problem(facts, directory)
    if problem:
        host.log_styled(
            f"openClaude warning: {problem}, so '{command}' is not found in a new terminal. "
            f"Fix: {path_fix(facts, directory)}",
            fg="yellow", log_func=logger.warning,
        )


@operation()
def launcher_dir_on_path(directory: str, *, facts: dict, command: str = "openclaude"):
    """
    Say once when the launcher's directory is not on the login shell's PATH, with the line to
    add for that shell. Changes nothing.

    Uses the deploy's fact when the directory existed then. A directory this run created is
    asked about again once it exists (one more command, first run only): many login profiles
    (Debian's ~/.profile, for one) add ~/.local/bin only when it exists.

    + directory: home-relative directory of the launcher
    + facts: the ``OpenClaudeHost`` fact, read with ``on_path=directory``
    + command: the name the user types. Default "openclaude".

    **Example:**

    .. code:: python

        launcher_dir_on_path(name="~/.local/bin is on the login shell's PATH",
                             directory=".local/bin", facts=facts)
    """
    existed = facts["entries"].get(directory) and facts["entries"][directory].kind == "dir"
    # pyinfra may run this twice (a change check, then the run): speak in the run only.
    if state.is_executing:
        if not existed:
            facts = host.get_fact(OpenClaudeHost, on_path=directory)
        _warn_when_not_on_path(facts, directory, command)
    host.noop(path_problem(facts, directory) or f"~/{directory} is on the login shell's PATH"
              if existed else f"~/{directory} checked once it exists")
    yield from ()  # a warning only: nothing to run on the target
