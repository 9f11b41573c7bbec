"""Whether the launcher's directory is on the user's login-shell PATH, and the line that puts it
there (a Mac's default PATH lacks ~/.local/bin, and so do many Linux desktops)."""

from __future__ import annotations

import shlex


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
