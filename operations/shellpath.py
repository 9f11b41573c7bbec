"""Whether the launcher's directory is on the user's login-shell PATH, and the line that puts it
there (a Mac's default PATH lacks ~/.local/bin, and so do many Linux desktops)."""

from __future__ import annotations

import shlex

from pyinfra import host, logger, state
from pyinfra.api import operation

from operations.facts import OpenClaudeHost


def path_line(shell: str | None, directory: str) -> str:
    """The line for ``shell``'s login file that puts HOME/``directory`` first on PATH."""
    if (shell or "").rsplit("/", 1)[-1] == "fish":
        return f"fish_add_path $HOME/{directory}"
    return f'export PATH="$HOME/{directory}:$PATH"'


def path_fix(facts: dict, directory: str) -> str:
    """The command that adds the line to the file the login shell reads, and what then."""
    line = path_line(facts.get("shell"), directory)
    profile = facts.get("profile") or ".profile"
    return f"echo {shlex.quote(line)} >> ~/{profile}, then open a new terminal"


def path_problem(facts: dict, directory: str) -> str | None:
    """Why ``openclaude`` would not be found in a new terminal, or None."""
    shell = facts.get("shell") or "/bin/sh"
    if facts.get("on_path") == "no":
        return f"~/{directory} is not on your login shell's PATH ({shell})"
    if facts.get("on_path") == "unknown":
        return f"your login shell ({shell} -l) did not tell its PATH within 10 s"
    return None


def warn_when_not_on_path(facts: dict, directory: str, command: str = "openclaude") -> None:
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
        warn_when_not_on_path(facts, directory, command)
    host.noop(path_problem(facts, directory) or f"~/{directory} is on the login shell's PATH"
              if existed else f"~/{directory} checked once it exists")
    yield from ()  # a warning only: nothing to run on the target
