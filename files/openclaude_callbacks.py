"""LiteLLM callbacks placed beside the LiteLLM config by the openClaude deploy.

``usage_record`` writes where every request went (see ``UsageRecord``). ``output_limit``: Claude
Code asks for as many output tokens as its own model allows (32000 on the haiku slot, 128000 for
its sonnet); Bedrock rejects any request above the model's limit, and ``max_tokens`` in a
deployment does not lower the client's value. This lowers a request's ``max_tokens`` to the
``model_info.openclaude_output_limit`` of the deployment its model resolves to
(``openclaude_models``: LiteLLM's router), else, for a Bedrock model, to its output limit in
LiteLLM's model map (Claude Sonnet 4.6 on Bedrock takes 64000); Anthropic's tiers keep the
client's value.

LiteLLM loads each callback by its file path; the modules beside the config import each other by
name, from the config's directory the launcher puts on the proxy's ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

import litellm
import openclaude_bedrock_fields as bedrock_fields
import openclaude_models as models
import openclaude_usage as usage
from fastapi import HTTPException
from litellm._logging import verbose_proxy_logger
from litellm.integrations.custom_logger import CustomLogger


def capped_max_tokens(requested, limit: int | None):
    """The request's max_tokens lowered to ``limit``; absent or smaller values pass unchanged."""
    if limit is None or requested is None:
        return requested
    return min(int(requested), limit)


def output_limit_of(model) -> int | None:
    """The most output tokens ``model``'s deployment takes: its tier's cap, else a Bedrock
    model's limit in LiteLLM's model map, else None (the client's value stands)."""
    deployment = models.resolved_deployment(model) or {}
    limit = (deployment.get("model_info") or {}).get("openclaude_output_limit")
    upstream = (deployment.get("litellm_params") or {}).get("model", "")
    if limit is None and upstream.startswith("bedrock/"):
        limit = (litellm.model_cost.get(upstream.rsplit("/", 1)[-1]) or {}).get("max_output_tokens")
    return limit


class OutputLimit(CustomLogger):
    """Lowers ``max_tokens`` before the proxy calls the upstream."""

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        limit = output_limit_of(data.get("model"))
        if "max_tokens" in data:
            data["max_tokens"] = capped_max_tokens(data["max_tokens"], limit)
        return data


output_limit = OutputLimit()


def request_metadata(kwargs) -> dict:
    """The router's metadata of one call (its bucket depends on the route)."""
    params = kwargs.get("litellm_params") or {}
    for bucket in (kwargs.get("litellm_metadata"), kwargs.get("metadata"),
                   params.get("litellm_metadata"), params.get("metadata")):
        if isinstance(bucket, dict) and bucket.get("model_group"):
            return bucket
    return {}


def fallback_for(metadata: dict) -> str | None:
    """The subscription tier a Bedrock fallback deployment stands in for, else None."""
    return (metadata.get("model_info") or {}).get("openclaude_fallback_for")


# LiteLLM's exceptions for Anthropic's 5xx answers (529 too), by its exception mapping: with a 429
# and the policy refusal, the only attempts that may fall back. Any other error, a kind added by
# a later LiteLLM included, reaches Claude Code as Anthropic gave it.
SERVER_ERRORS = ("InternalServerError", "ServiceUnavailableError", "BadGatewayError",
                 "MidStreamFallbackError", "Timeout", "APIConnectionError")
OTHER_ERRORS = {"AuthenticationError": "auth", "PermissionDeniedError": "forbidden",
                "BadRequestError": "bad_request", "ContextWindowExceededError": "prompt_too_long",
                "NotFoundError": "not_found"}


def handed_over_reason(metadata: dict) -> str | None:
    """The fallback reason the pass-through named on the request, if it handed it over."""
    return (metadata.get("headers") or {}).get(usage.FALLBACK_HEADER)


def tier_of(metadata: dict) -> str | None:
    """The tier of the deployment a call went to (its model group when the config names none)."""
    return (metadata.get("model_info") or {}).get(models.TIER_KEY) or metadata.get("model_group")


def attempt_reason(attempt: dict) -> str:
    """The error kind of a failed attempt the router recorded (``previous_models``)."""
    text = str(attempt.get("exception_string") or "")
    kind = str(attempt.get("exception_type") or "")
    if kind == "RateLimitError":
        return "rate_limit"
    if kind in SERVER_ERRORS:
        return "overloaded" if "overloaded" in text.lower() else "server_error"
    if kind == "AuthenticationError" and "OAuth authentication is currently not supported" in text:
        return "oauth_refused"
    return OTHER_ERRORS.get(kind, "unknown")


class TokenNotMasked(Exception):
    """Raised on a fallback hop after a 401 that is not a policy refusal, or when Bedrock has no
    usable AWS credentials: the router then answers Claude Code with Anthropic's own error."""

    # A status the router never retries, so the hop is given up at once.
    status_code = 400


class UsageRecord(CustomLogger):
    """Appends one line per upstream request to ``usage.tsv`` (openclaude_usage's format)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def record(self, **fields) -> None:
        try:
            usage.append(self.path, usage.usage_line({"time": time.time(), **fields}))
        except OSError as error:
            verbose_proxy_logger.warning("openClaude: cannot record usage in %s: %s", self.path, error)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        payload = kwargs.get("standard_logging_object") or {}
        metadata = request_metadata(kwargs)
        tier = fallback_for(metadata)
        previous = (metadata.get("previous_models") or [{}])[-1]
        provider = payload.get("custom_llm_provider") or ""
        self.record(
            group=tier or tier_of(metadata) or payload.get("model_group"),
            upstream=payload.get("model") or kwargs.get("model"),
            status=200,
            input=payload.get("prompt_tokens"),
            output=payload.get("completion_tokens"),
            latency_ms=round((end_time - start_time).total_seconds() * 1000),
            fallback=(handed_over_reason(metadata) or attempt_reason(previous)) if tier else None,
            cost=payload.get("response_cost") if provider == "bedrock" else None,
        )

    async def async_post_call_failure_deployment_hook(self, request_data, exception, call_type,
                                                      fallback_depth=None):
        # The Bedrock adapter calls completion inside anthropic_messages: count the outer call only.
        if not str(call_type).endswith("anthropic_messages") or isinstance(exception, TokenNotMasked):
            return
        metadata = request_metadata(request_data)
        status = getattr(exception, "status_code", None) or 500
        started = getattr(request_data.get("litellm_logging_obj"), "start_time", None)
        self.record(
            group=fallback_for(metadata) or tier_of(metadata),
            upstream=request_data.get("model"),
            status=status,
            error=usage.error_kind(int(status), str(exception)),
            latency_ms=round((datetime.now() - started).total_seconds() * 1000) if started else None,
        )


usage_record = UsageRecord(os.environ[usage.USAGE_RECORD_ENV])


class BedrockFallbackGuard(CustomLogger):
    """Keeps the Bedrock fallback honest (configured only with ``fallback_to_bedrock``): Claude
    Code's headers stay off it, a token error is not masked, the proxy log says which tier fell
    back and why. LiteLLM's router would fall back on any error and carry the forwarded headers
    over to the fallback deployment."""

    async def async_pre_call_deployment_hook(self, kwargs, call_type):
        metadata = request_metadata(kwargs)
        tier = fallback_for(metadata)
        if tier is None:
            return None
        previous = (metadata.get("previous_models") or [{}])[-1]
        if previous.get("exception_type") == TokenNotMasked.__name__:
            raise TokenNotMasked(f"{tier}: already refused")
        if os.environ.get(usage.AWS_PROBLEM_ENV):
            if str(call_type).endswith("anthropic_messages"):
                verbose_proxy_logger.warning(
                    "openClaude: %s: not falling back to Bedrock, which has no usable AWS "
                    "credentials (%s)", tier, os.environ[usage.AWS_PROBLEM_ENV])
            raise TokenNotMasked(f"{tier}: Bedrock has no usable AWS credentials")
        reason = handed_over_reason(metadata) or attempt_reason(previous)
        outer_call = str(call_type).endswith("anthropic_messages")
        if reason not in usage.FALLBACK_REASONS:
            if outer_call:
                verbose_proxy_logger.warning(
                    "openClaude: %s: Anthropic answered %s; not falling back to Bedrock (Claude Code "
                    "refreshes its sign-in or asks for /login)", tier, reason)
            raise TokenNotMasked(f"{tier}: {reason} is not a reason to fall back")
        if outer_call and not handed_over_reason(metadata):  # the pass-through said so already
            verbose_proxy_logger.warning("openClaude: %s fell back to Bedrock (%s from Anthropic)",
                                         tier, reason)
        kwargs.pop("headers", None)  # Claude Code's own headers are for Anthropic only
        # The proxy applied the all-Bedrock rule (openclaude_bedrock_fields) by the requested,
        # Anthropic, model group: on the way to Claude on Bedrock it applies here.
        rule = (metadata.get("model_info") or {}).get("openclaude_bedrock_claude")
        if rule:
            bedrock_fields.documented_fields(kwargs, rule.get("fields") or {})
            bedrock_fields.documented_beta_headers(kwargs, rule.get("betas") or [])
        return kwargs


bedrock_fallback = BedrockFallbackGuard()


class BedrockWithoutCredentials(CustomLogger):
    """Answers a Bedrock tier's request at once, before the router, with why it cannot work and
    the fix: no upstream call botocore cannot sign, no retries, and a status (400) Claude Code
    does not retry either."""

    def __init__(self, problem: str | None):
        super().__init__()
        self.problem = problem

    def message(self, group: str) -> str:
        return (f"openClaude: {group} runs on AWS Bedrock, and no usable AWS credentials were "
                f"found when openClaude started the proxy: {self.problem}. After the fix, start "
                "openClaude again: the next launch picks the credentials up.")

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        if self.problem and models.provider(data.get("model")) == "bedrock":
            raise HTTPException(status_code=400, detail=self.message(data["model"]))
        return data


bedrock_credentials = BedrockWithoutCredentials(os.environ.get(usage.AWS_PROBLEM_ENV))
