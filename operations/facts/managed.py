"""Managed settings (set by an organisation, above every other layer of Claude Code's settings):
the fact that reads them on the target, for verify.py's check."""

from __future__ import annotations

import base64
import binascii
import shlex

from pyinfra.api import FactBase

from files.openclaude_layers import MANAGED_DIRS
from operations.sh import load


class ManagedSettings(FactBase):
    """
    ``{path: text}`` of the managed settings Claude Code reads on the target: the directory of
    its system (``uname -s``), ``managed-settings.json`` then ``managed-settings.d/*.json``.

    **Example:**

    .. code:: python

        {"/etc/claude-code/managed-settings.json": '{"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}}'}
    """

    def command(self) -> str:
        return (f"sh -c {shlex.quote(load('managed_settings'))} managed {shlex.quote(MANAGED_DIRS['Linux'])} "
                f"{shlex.quote(MANAGED_DIRS['Darwin'])}")

    @staticmethod
    def default() -> dict:
        return {}

    def process(self, output) -> dict:
        texts = {}
        for line in output:
            field, _, rest = line.partition("\t")
            path, _, encoded = rest.rpartition("\t")
            if field != "file" or not path:
                continue
            try:
                texts[path] = base64.b64decode(encoded).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue  # Claude Code cannot read it either
        return texts
