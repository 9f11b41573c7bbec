"""LiteLLM callback placed beside the LiteLLM config by the openClaude deploy: answers
``POST /v1/messages/count_tokens`` (Claude Code's ``/context``) on the tiers the pass-through
(``openclaude_passthrough``) does not relay to Anthropic.

LiteLLM's own route sends Bedrock Claude to a ``bedrock-mantle`` host whatever
``aws_bedrock_runtime_endpoint`` says, and gives Qwen a 404. This route takes its place and counts
with LiteLLM's own token counter, on the machine (no upstream call, no credential leaves it). The
proxy key is checked as on every LiteLLM route (``user_api_key_auth``).
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import TokenCountRequest
from litellm.proxy.auth.user_api_key_auth import user_api_key_auth

ROUTE = "/v1/messages/count_tokens"


def invalid_request(message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": "invalid_request_error", "message": message}}, 400)


class CountTokensRoute(CustomLogger):
    """Puts ``count_tokens`` ahead of LiteLLM's route of the same path on the proxy's app."""

    def __init__(self):
        super().__init__()
        from litellm.proxy.proxy_server import app

        app.add_api_route(ROUTE, self.count_tokens, methods=["POST"],
                          dependencies=[Depends(user_api_key_auth)])
        # Starlette serves the first matching route: the one just appended goes first.
        app.router.routes.insert(0, app.router.routes.pop())

    @staticmethod
    async def count_tokens(request: Request) -> JSONResponse:
        from litellm.proxy.proxy_server import count_request_tokens

        try:
            body = await request.json()
        except ValueError:
            return invalid_request("the request body is not JSON")
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            return invalid_request("model and messages are required")
        counted = await count_request_tokens(
            request=TokenCountRequest(model=body["model"], messages=body["messages"],
                                      tools=body.get("tools"), system=body.get("system")),
            call_endpoint=False, messages_format="anthropic")
        return JSONResponse({"input_tokens": counted.total_tokens})


count_tokens_route = CountTokensRoute()
