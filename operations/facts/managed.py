"""Managed settings (set by an organisation, above every other layer of Claude Code's settings):
the fact that reads them on the target, for verify.py's check."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

from files.openclaude_layers import MANAGED_DIRS
from operations.sh import load


class ManagedSettings(FactBase):
    """
    The managed settings files Claude Code reads on the target, in its order: the directory of
    its system (``uname -s``), ``managed-settings.json`` then ``managed-settings.d/*.json``.
    Paths only: verify.py reads them unprinted (an organisation's settings may hold tokens, and
    pyinfra prints a fact's output at -vv).

    **Example:**

    .. code:: python

        ["/etc/claude-code/managed-settings.json"]
    """

    def command(self) -> str:
        return (f"sh -c {shlex.quote(load('managed_settings'))} managed "
                f"{shlex.quote(MANAGED_DIRS['Linux'])} {shlex.quote(MANAGED_DIRS['Darwin'])}")

    @staticmethod
    def default() -> list:
        return []

    def process(self, output) -> list:
        return [line.partition("\t")[2] for line in output if line.startswith("file\t")]
