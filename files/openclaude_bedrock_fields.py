"""LiteLLM callback placed beside the LiteLLM config by the openClaude deploy: only what
AWS documents for Claude on Bedrock reaches it.

Claude Code writes its requests for Anthropic's API; LiteLLM passes ``thinking`` and
``output_config`` into Converse's ``additionalModelRequestFields`` and the ``anthropic-beta``
header into its ``anthropic_beta`` list. Claude Code 2.1.332 sends ``thinking.display``, which
Bedrock does not document (Claude Code itself leaves it out when it talks to Bedrock). For each
deployment with ``model_info.openclaude_bedrock_claude`` (the deploy sets it from the data keys
``bedrock_claude_fields`` and ``bedrock_claude_betas``) this keeps, before the proxy calls
Bedrock, only the listed keys of each listed field and only the listed betas.
"""

from __future__ import annotations

from litellm.integrations.custom_logger import CustomLogger

BETA_HEADER = "anthropic-beta"


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


def deployment_rule(kwargs: dict) -> dict | None:
    """The rule in the ``model_info`` of the deployment the router chose for this call."""
    params = kwargs.get("litellm_params") or {}
    for bucket in (kwargs.get("litellm_metadata"), kwargs.get("metadata"),
                   params.get("litellm_metadata"), params.get("metadata")):
        if isinstance(bucket, dict) and bucket.get("model_info"):
            return bucket["model_info"].get("openclaude_bedrock_claude")
    return None


class DocumentedFieldsOnly(CustomLogger):
    """Applies the rule of the deployment a call goes to (whichever name, exact or wildcard,
    the request used) just before the upstream call."""

    async def async_pre_call_deployment_hook(self, kwargs: dict, call_type):
        rule = deployment_rule(kwargs)
        if rule:
            documented_fields(kwargs, rule.get("fields") or {})
            documented_beta_headers(kwargs, rule.get("betas") or [])
        return kwargs


documented_fields_only = DocumentedFieldsOnly()
