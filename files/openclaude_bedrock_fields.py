"""LiteLLM callback placed beside the LiteLLM config by the openClaude deploy: only what
AWS documents for Claude on Bedrock reaches it.

Claude Code writes its requests for Anthropic's API; LiteLLM passes ``thinking`` and
``output_config`` into Converse's ``additionalModelRequestFields`` and the ``anthropic-beta``
header into its ``anthropic_beta`` list. Claude Code 2.1.332 sends ``thinking.display``, which
Bedrock does not document (Claude Code itself leaves it out when it talks to Bedrock). For each
model group with ``model_info.openclaude_bedrock_claude`` (the deploy sets it from the data keys
``bedrock_claude_fields`` and ``bedrock_claude_betas``) this keeps, before the proxy calls
Bedrock, only the listed keys of each listed field and only the listed betas.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from litellm.integrations.custom_logger import CustomLogger

# The launcher starts the proxy with the config's path (files/openClaude): it may have any name.
CONFIG = Path(os.environ["OPENCLAUDE_LITELLM_CONFIG"])
BETA_HEADER = "anthropic-beta"


def bedrock_claude_rules(config: dict) -> dict:
    """``{model_name: {"fields": {field: [keys]}, "betas": [names]}}`` from the config."""
    return {deployment["model_name"]: deployment["model_info"]["openclaude_bedrock_claude"]
            for deployment in config.get("model_list") or []
            if (deployment.get("model_info") or {}).get("openclaude_bedrock_claude")}


def documented_fields(data: dict, fields: dict) -> None:
    """Drop the keys of ``fields`` the rule does not list, and a field left empty."""
    for field, kept in fields.items():
        value = data.get(field)
        if not isinstance(value, dict):
            continue
        value = {key: item for key, item in value.items() if key in kept}
        if value:
            data[field] = value
        else:
            del data[field]


def documented_betas(header: str, betas: list) -> str:
    """The comma-separated ``anthropic-beta`` value with only the listed betas."""
    return ",".join(name for name in (part.strip() for part in header.split(",")) if name in betas)


def documented_beta_headers(data: dict, betas: list) -> None:
    """Filter ``anthropic-beta`` where the proxy keeps it for the provider call."""
    scoped = data.get("provider_specific_header")
    for entry in scoped if isinstance(scoped, list) else [scoped] if scoped else []:
        headers = entry.get("extra_headers") or {}
        for name in [name for name in headers if name.lower() == BETA_HEADER]:
            kept = documented_betas(headers[name], betas)
            if kept:
                headers[name] = kept
            else:
                del headers[name]


class DocumentedFieldsOnly(CustomLogger):
    """Applies each Bedrock Claude model group's rule before the upstream call."""

    def __init__(self, rules: dict):
        super().__init__()
        self.rules = rules

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        rule = self.rules.get(data.get("model"))
        if rule:
            documented_fields(data, rule.get("fields") or {})
            documented_beta_headers(data, rule.get("betas") or [])
        return data


documented_fields_only = DocumentedFieldsOnly(bedrock_claude_rules(yaml.safe_load(CONFIG.read_text()) or {}))
