"""Whether the launcher's directory is on the user's login-shell PATH, and the line that puts it
there (a Mac's default PATH lacks ~/.local/bin, and so do many Linux desktops)."""

from __future__ import annotations

import shlex

from pyinfra import host, logger
from pyinfra.api import operation


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


@operation()
def launcher_dir_on_path(directory: str, *, facts: dict, command: str = "openclaude"):
    """
    Say once, with the line to add, when the launcher's directory is not on the login shell's
    PATH. Changes nothing: the user's shell files are theirs.

    + directory: home-relative directory of the launcher
    + facts: the ``OpenClaudeHost`` fact, read with ``on_path=directory``
    + command: the name the user types. Default "openclaude".

    **Example:**

    .. code:: python

        launcher_dir_on_path(name="The launcher is on PATH", directory=".local/bin", facts=facts)
    """
    problem = path_problem(facts, directory)
    if problem:
        host.log_styled(
            f"openClaude warning: {problem}, so '{command}' is not found in a new terminal. "
            f"Fix: {path_fix(facts, directory)}",
            fg="yellow", log_func=logger.warning,
        )
        host.noop(problem)
    else:
        host.noop(f"~/{directory} is on the login shell's PATH")
    yield from ()  # a warning only: nothing to run on the target
