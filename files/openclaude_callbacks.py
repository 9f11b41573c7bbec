"""LiteLLM callback placed beside ``~/.litellm/config.yaml`` by the openClaude deploy.

Claude Code asks for 32000 output tokens on the haiku slot; Bedrock rejects any request above
the model's limit, and ``max_tokens`` in a deployment does not lower the client's value. This
lowers a request's ``max_tokens`` to its model group's ``model_info.openclaude_output_limit``
from the config beside this file; other tiers keep the client's value.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from litellm.integrations.custom_logger import CustomLogger

CONFIG = Path(__file__).with_name("config.yaml")


def output_limits(config: dict) -> dict:
    """``{model_name: limit}`` for the deployments that set one."""
    limits = {}
    for deployment in config.get("model_list") or []:
        limit = (deployment.get("model_info") or {}).get("openclaude_output_limit")
        if limit:
            limits[deployment["model_name"]] = int(limit)
    return limits


def capped_max_tokens(requested, limit: int | None):
    """The request's max_tokens lowered to ``limit``; absent or smaller values pass unchanged."""
    if limit is None or requested is None:
        return requested
    return min(int(requested), limit)


class OutputLimit(CustomLogger):
    """Lowers ``max_tokens`` before the proxy calls the upstream."""

    def __init__(self, limits: dict):
        super().__init__()
        self.limits = limits

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        limit = self.limits.get(data.get("model"))
        if "max_tokens" in data:
            data["max_tokens"] = capped_max_tokens(data["max_tokens"], limit)
        return data


output_limit = OutputLimit(output_limits(yaml.safe_load(CONFIG.read_text()) or {}))
