"""The shell the facts and operations send to targets, one .sh file per program or library.

Each file is POSIX sh for a Mac's and a Linux target's userland alike (tests/test_shell.py
shellchecks every .sh file in the repository and looks for GNU-only flags). Libraries define
functions only; a command is a library's text followed by the call, built by the Python that
sends it.
"""

from __future__ import annotations

import shlex
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent


@cache
def load(*names: str) -> str:
    """The text of ``operations/sh/<name>.sh`` for each name, in order."""
    return "".join((HERE / f"{name}.sh").read_text(encoding="utf-8") for name in names)


def call(libraries: str | tuple[str, ...], function: str, *arguments) -> str:
    """A command: the ``libraries``' text, then ``function`` called with ``arguments`` quoted."""
    names = (libraries,) if isinstance(libraries, str) else libraries
    return load(*names) + " ".join([function, *(shlex.quote(str(a)) for a in arguments)])
