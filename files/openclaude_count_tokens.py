"""LiteLLM callback placed beside the LiteLLM config by the openClaude deploy: answers
``POST /v1/messages/count_tokens`` (Claude Code's ``/context``) on every tier.

LiteLLM's own route counts with the deployment's API key (none in the OAuth state: 401 "No
Anthropic API key is set"), sends Bedrock Claude to a ``bedrock-mantle`` host whatever
``aws_bedrock_runtime_endpoint`` says, and gives Qwen a 404. This route takes its place:

* a model group whose ``model_info.openclaude_count_tokens`` is ``anthropic`` (the deploy sets it
  for the Anthropic tiers in the OAuth state, when the upstream is Anthropic's API or loopback)
  is counted by that upstream with the client's own ``Authorization`` and ``anthropic-beta``,
  through LiteLLM's Anthropic count-tokens handler;
* every other model group, and a request without a subscription token, is counted locally by
  LiteLLM's own token counter (no upstream call, no credential leaves the machine).

The proxy key is checked as on every LiteLLM route (``user_api_key_auth``).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from litellm.integrations.custom_logger import CustomLogger
from litellm.llms.anthropic.common_utils import AnthropicError
from litellm.llms.anthropic.count_tokens.handler import AnthropicCountTokensHandler
from litellm.proxy._types import TokenCountRequest
from litellm.proxy.auth.user_api_key_auth import user_api_key_auth

# The launcher starts the proxy with the config's path (files/openClaude): it may have any name.
CONFIG = Path(os.environ["OPENCLAUDE_LITELLM_CONFIG"])
ROUTE = "/v1/messages/count_tokens"
OAUTH_TOKEN_PREFIX = "Bearer sk-ant-oat"


def upstream_counted(config: dict) -> dict:
    """``{model_name: (upstream model id, api_base or None)}`` for the groups the upstream counts."""
    counted = {}
    for deployment in config.get("model_list") or []:
        if (deployment.get("model_info") or {}).get("openclaude_count_tokens") != "anthropic":
            continue
        params = deployment.get("litellm_params") or {}
        counted[deployment["model_name"]] = (params["model"].split("/", 1)[1], params.get("api_base"))
    return counted


def error_body(status: int, message: str) -> JSONResponse:
    kind = "authentication_error" if status == 401 else "invalid_request_error"
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status)


class CountTokensRoute(CustomLogger):
    """Puts ``count_tokens`` ahead of LiteLLM's route of the same path on the proxy's app."""

    def __init__(self, counted: dict):
        super().__init__()
        self.counted = counted
        self.handler = AnthropicCountTokensHandler()
        from litellm.proxy.proxy_server import app

        app.add_api_route(ROUTE, self.count_tokens, methods=["POST"],
                          dependencies=[Depends(user_api_key_auth)])
        # Starlette serves the first matching route: the one just appended goes first.
        app.router.routes.insert(0, app.router.routes.pop())

    async def count_tokens(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return error_body(400, "the request body is not JSON")
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            return error_body(400, "model and messages are required")
        authorization = request.headers.get("authorization", "")
        upstream = self.counted.get(body["model"])
        if upstream is not None and authorization.startswith(OAUTH_TOKEN_PREFIX):
            return await self.upstream_count(body, upstream, authorization,
                                             request.headers.get("anthropic-beta"))
        return await self.local_count(body)

    async def upstream_count(self, body: dict, upstream: tuple, authorization: str,
                             betas: str | None) -> JSONResponse:
        model_id, api_base = upstream
        auth_header = {"authorization": authorization}
        if betas:
            auth_header["anthropic-beta"] = betas
        try:
            counted = await self.handler.handle_count_tokens_request(
                model=model_id, messages=body["messages"], auth_header=auth_header,
                api_base=api_base, tools=body.get("tools"), system=body.get("system"))
        except AnthropicError as error:
            return error_body(error.status_code, str(error.message))
        return JSONResponse(counted)

    @staticmethod
    async def local_count(body: dict) -> JSONResponse:
        from litellm.proxy.proxy_server import count_request_tokens

        counted = await count_request_tokens(
            request=TokenCountRequest(model=body["model"], messages=body["messages"],
                                      tools=body.get("tools"), system=body.get("system")),
            call_endpoint=False, messages_format="anthropic")
        return JSONResponse({"input_tokens": counted.total_tokens})


count_tokens_route = CountTokensRoute(upstream_counted(yaml.safe_load(CONFIG.read_text()) or {}))
