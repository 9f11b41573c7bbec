"""verify.py's facts: what its table needs beyond the deploy's fact, and the live prompts."""

from __future__ import annotations

import json
import shlex

from pyinfra.api import FactBase

from files.openclaude_usage import FIELDS as USAGE_FIELDS
from operations.model.layout import CLAUDE_DIRS, shell_words
from operations.sh import load


class VerifyProbe(FactBase):
    """
    What verify.py needs beyond the deploy's fact, in one command (``operations/sh/probe.sh``):
    ``claude`` on PATH, the launcher's syntax, whether the launcher and its alias each run it
    (``--help``), and the AWS identity the proxy would sign with (``files/openclaude_aws.py
    check``: no secret in it).

    + launcher: absolute path of the launcher
    + alias: absolute path of the launcher's alias
    + aws: absolute paths of LiteLLM's Python, the AWS helper, the user's settings, the config
      and the generated export config, in that order

    **Example:**

    .. code:: python

        {"claude": "/usr/bin/claude", "launcher_syntax": "0",
         "runs": {"/home/dev/.local/bin/openClaude": "0", "/home/dev/.local/bin/openclaude": "0"},
         "aws_identity": {"ok": True, "summary": "profile dev, credentials from ...", "note": ""}}
    """

    def command(self, launcher: str, alias: str, aws) -> str:
        quoted = " ".join(shlex.quote(arg) for arg in (launcher, alias, *aws))
        script = shlex.quote(load("portable", "probe"))
        return f"sh -c {script} probe {quoted} {shell_words(CLAUDE_DIRS)}"

    @staticmethod
    def default() -> dict:
        return {}

    def process(self, output) -> dict:
        probe: dict = {"runs": {}}
        for line in output:
            field, _, rest = line.partition("\t")
            if field == "runs":
                name, _, status = rest.rpartition("\t")
                probe["runs"][name] = status
            elif field == "aws_identity":
                try:
                    probe["aws_identity"] = json.loads(rest)
                except ValueError:
                    probe["aws_identity"] = {"ok": False, "problem": "the AWS helper failed"}
            else:
                probe[field] = rest
        return probe


class LiveProbe(FactBase):
    """
    One tiny prompt per tier through the launcher (the user's own Claude Code login), then the
    proxy's health (``operations/sh/live.sh``). Starts the proxy if needed; only with
    ``--data live=true``.

    + launcher: absolute path of the launcher
    + usage_record: absolute path of the proxy's usage record
    + models: the tier names to prompt

    **Example:**

    .. code:: python

        {"prompts": {"claude-opus-4-6": ("0", "OK")}, "health": ("0", "proxy healthy ..."),
         "usage": [{"group": "claude-opus-4-6", "upstream": "anthropic/claude-opus-4-6",
                    "status": "200", ...}]}
    """

    def command(self, launcher: str, usage_record: str, models) -> str:
        quoted = " ".join(shlex.quote(model) for model in models)
        return (f"sh -c {shlex.quote(load('portable', 'live'))} live {shlex.quote(launcher)} "
                f"{shlex.quote(usage_record)} {quoted}")

    @staticmethod
    def default() -> dict:
        return {"prompts": {}, "usage": []}

    def process(self, output) -> dict:
        live: dict = {"prompts": {}, "usage": []}
        for line in output:
            field, _, rest = line.partition("\t")
            if field == "usage":
                live["usage"].append(dict(zip(USAGE_FIELDS, rest.split("\t"))))
            elif field == "prompt":
                model, status, text = (rest.split("\t", 2) + ["", ""])[:3]
                live["prompts"][model] = (status, text.strip())
            elif field == "health":
                status, _, text = rest.partition("\t")
                live["health"] = (status, text.strip())
        return live
