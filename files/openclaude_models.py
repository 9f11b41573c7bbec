"""Which deployment of the config a requested model name resolves to, asked of LiteLLM's router:
the config's ``model_list`` (exact names and wildcard patterns such as ``claude-*``) is the one
truth, for the proxy's routing and for openClaude's callbacks alike.

``unknown_model`` answers a name no deployment matches with a 400 naming the tiers, before
LiteLLM's own "Invalid model name" (which names none of them).
"""

from __future__ import annotations

from fastapi import HTTPException
from litellm.integrations.custom_logger import CustomLogger

TIER_KEY = "openclaude_tier"  # model_info: the tier a deployment serves (operations' routes)
ANY_CLAUDE = "claude"  # the tier of the catch-all claude-* deployment


def _router():
    from litellm.proxy.proxy_server import llm_router

    return llm_router


def resolved_deployment(model) -> dict | None:
    """The deployment (``model_name``, ``litellm_params`` with the wildcard filled in,
    ``model_info``) the router sends ``model`` to, or None when no deployment answers it."""
    router = _router()
    if router is None or not isinstance(model, str) or not model:
        return None
    for model_id in sorted(router.get_candidate_model_ids_for_route(model)):
        deployment = router.get_deployment(model_id=model_id)
        if deployment is None:
            continue
        found = deployment.model_dump(exclude_none=True)
        pattern = router.pattern_router.route(model) if "*" in found["model_name"] else None
        if pattern:
            found["litellm_params"]["model"] = pattern[0]["litellm_params"]["model"]
        return found
    return None


def provider(model) -> str | None:
    """``anthropic`` or ``bedrock``: where the deployment ``model`` resolves to calls."""
    deployment = resolved_deployment(model)
    return deployment and deployment["litellm_params"]["model"].split("/", 1)[0]


def tiers_summary(model_list: list) -> str:
    """``tier: names -> upstream`` for each tier of the config, in its order."""
    tiers: dict = {}
    for deployment in model_list:
        info = deployment.get("model_info") or {}
        tier = info.get(TIER_KEY)
        if not tier:
            continue
        names, upstreams = tiers.setdefault(tier, ([], []))
        names.append(deployment["model_name"])
        upstream = deployment["litellm_params"]["model"]
        if upstream not in upstreams:
            upstreams.append(upstream)
    return "; ".join(
        f"{'any other Claude model' if tier == ANY_CLAUDE else tier}: {', '.join(names)} -> "
        f"{', '.join(upstreams)}" for tier, (names, upstreams) in tiers.items())


class UnknownModel(CustomLogger):
    """A 400 naming the tiers for a model name the config does not route."""

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        model = data.get("model")
        router = _router()
        if router is None or model is None or resolved_deployment(model) is not None:
            return data
        raise HTTPException(status_code=400, detail={"error": (
            f"openClaude: no tier answers the model {model!r}. The proxy routes "
            f"{tiers_summary(router.get_model_list() or [])}. Ask for one of these names, e.g. "
            "--model opus, sonnet, haiku or fable.")})


unknown_model = UnknownModel()
