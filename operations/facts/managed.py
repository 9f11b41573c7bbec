"""Managed settings (set by an organisation, above every other layer of Claude Code's settings):
the fact that reads them on the target, for verify.py's check."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

from files.openclaude_layers import MANAGED_DIRS
from operations.facts.unprinted import printed_files
from operations.sh import load


class ManagedSettings(FactBase):
    """
    ``{path: text}`` of the managed settings Claude Code reads on the target: the directory of
    its system (``uname -s``), ``managed-settings.json`` then ``managed-settings.d/*.json``; a
    file Claude Code cannot read either (not UTF-8) is left out. Read it unprinted
    (``operations/facts/unprinted.py``): an organisation's settings may hold tokens, and pyinfra
    prints a fact's output at -vv.

    **Example:**

    .. code:: python

        {"/etc/claude-code/managed-settings.json": '{"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}}'}
    """

    def command(self) -> str:
        return (f"sh -c {shlex.quote(load('private_files', 'managed_settings'))} managed "
                f"{shlex.quote(MANAGED_DIRS['Linux'])} {shlex.quote(MANAGED_DIRS['Darwin'])}")

    @staticmethod
    def default() -> dict:
        return {}

    def process(self, output) -> dict:
        texts = {}
        for path, content in printed_files(output).items():
            try:
                texts[path] = content.decode("utf-8")
            except UnicodeDecodeError:
                continue
        return texts
