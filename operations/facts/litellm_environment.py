"""The fact verify.py reads of LiteLLM's tool environment, in one command."""

from __future__ import annotations

import json
import shlex

from pyinfra.api import FactBase

from operations.model.supply_chain import DAEMON_LOCK, INDICATOR_FILES, MARKER_READER
from operations.sh import load


class LitellmEnvironment(FactBase):
    """
    LiteLLM's uv tool environment: its distributions (``*.dist-info``), the files the
    compromised releases left (``INDICATOR_FILES`` where Python loads them), the 1.107.0
    daemon's lock, and the PEP 508 marker values of its Python (to evaluate the lock's markers).

    + env: the tool environment's directory (``<uv tool dir>/litellm``)
    + daemon_lock: the path of the daemon's lock. Default ``DAEMON_LOCK``.

    **Example:**

    .. code:: python

        {"present": True, "dists": [".../site-packages/zipp-4.1.2.dist-info", ...],
         "indicators": [".../site-packages/cook.pth"],
         "markers": {"python_full_version": "3.11.7", "sys_platform": "darwin", ...}}
    """

    def command(self, env: str, daemon_lock: str = DAEMON_LOCK) -> str:
        arguments = " ".join(shlex.quote(arg) for arg in (env, daemon_lock, MARKER_READER,
                                                          *INDICATOR_FILES))
        return f"sh -c {shlex.quote(load('litellm_environment'))} litellm-environment {arguments}"

    @staticmethod
    def default() -> dict:
        return {"present": False, "dists": [], "indicators": [], "markers": None}

    def process(self, output) -> dict:
        found = self.default()
        for line in output:
            field, _, value = line.partition("\t")
            if field == "present":
                found["present"] = True
            elif field == "dist":
                found["dists"].append(value)
            elif field == "indicator":
                found["indicators"].append(value)
            elif field == "markers":
                try:
                    found["markers"] = json.loads(value)
                except ValueError:
                    found["markers"] = None
        return found
