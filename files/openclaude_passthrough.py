"""LiteLLM callback placed beside the LiteLLM config by the openClaude deploy: the subscription
tiers pass straight through to Anthropic.

Claude Code's gateway protocol reference says a gateway in front of Anthropic's API relays:
LiteLLM's Messages route re-sends the request as its own (user-agent, re-sorted betas, dropped
fields) and answers errors with its own retries, cooldowns and bodies. This module wraps the
proxy's ASGI application. A ``POST /v1/messages`` or ``/v1/messages/count_tokens`` whose model
LiteLLM's router resolves to an ``anthropic/`` deployment, and that carries the proxy key in
``x-litellm-api-key`` (how the launcher sends it beside Claude Code's own credential), goes to
that deployment's ``api_base`` as it came: method, path, query, headers and body byte for byte,
less the proxy key and hop-by-hop headers. The answer comes back as it came, streamed as it
arrives; Claude Code retries by itself. Everything else is LiteLLM's, unchanged (the Bedrock
tiers, a wrong key, the health checks).

The request's model is looked up in LiteLLM's own router (``get_model_list``): a wildcard entry
(``claude-*`` -> ``anthropic/claude-*``) passes through like a named one.

Per upstream attempt it appends a line to the usage record (``openclaude_usage``), and keeps the
last ``anthropic-ratelimit-unified-*`` headers Anthropic sent (no other header, no secret) in
the plan's standing file (``plan.json``) for ``openclaude --usage``. With ``fallback_to_bedrock``, a
limit, an overload or the OAuth policy refusal (``openclaude_usage.FALLBACK_REASONS``) is handed
to LiteLLM as a request for the tier's Bedrock fallback group; any other answer (an expired
sign-in, an organisation's refusal, a bad request) reaches Claude Code as Anthropic sent it, and so
does every answer while Bedrock has no usable AWS credentials.
"""

from __future__ import annotations

import hmac
import json
import os
import time
from urllib.parse import urlsplit

import httpx
import openclaude_relay as relay
import openclaude_usage as usage
from litellm._logging import verbose_proxy_logger
from litellm.integrations.custom_logger import CustomLogger

ROUTES = (b"/v1/messages", b"/v1/messages/count_tokens")
ANTHROPIC_API = "https://api.anthropic.com"
# Where Claude Code's credential may go: Anthropic's API, or a stand-in on this machine (the same
# hosts as operations/data.py's ANTHROPIC_HOSTS and LOOPBACK_HOSTS, which the deploy warns about).
TRUSTED_HOSTS = ("api.anthropic.com", "127.0.0.1", "localhost", "::1")
FALLBACK_SUFFIX = "-bedrock-fallback"
FALLBACK_HEADER = usage.FALLBACK_HEADER.encode()


def anthropic_deployment(model: str):
    """``(upstream model id, api_base)`` of the ``anthropic/`` deployment LiteLLM's router serves
    ``model`` from, else None (a Bedrock tier, an unknown name, a mixed group, an api_base on a
    host Claude Code's credential must not reach)."""
    from litellm.proxy import proxy_server

    router = proxy_server.llm_router
    if router is None or not isinstance(model, str) or not model:
        return None
    deployments = router.get_model_list(model_name=model) or []
    params = [dict(d.get("litellm_params") or {}) for d in deployments]
    if not params or not all(str(p.get("model", "")).startswith("anthropic/") for p in params):
        return None
    api_base = params[0].get("api_base") or ANTHROPIC_API
    if urlsplit(api_base).hostname not in TRUSTED_HOSTS:
        return None  # LiteLLM's own route, as before: the deploy warned about this api_base
    upstream = params[0]["model"].split("/", 1)[1]
    if "*" in upstream:
        upstream = model  # a wildcard deployment serves the name it was asked for
    return upstream, api_base


def proxy_key_matches(headers: list) -> bool:
    """The proxy key, checked as LiteLLM checks its master key (constant time)."""
    from litellm.proxy import proxy_server
    from litellm.proxy.auth.user_api_key_auth import _get_bearer_token_or_received_api_key

    master_key = proxy_server.master_key
    sent = [value for name, value in headers if name == relay.PROXY_KEY_HEADER]
    if not master_key or len(sent) != 1:
        return False
    key = _get_bearer_token_or_received_api_key(sent[0].decode("latin-1"))
    return hmac.compare_digest(key.encode(), str(master_key).encode())


class PassThrough(CustomLogger):
    """Wraps the proxy's ASGI application (see the module docstring)."""

    def __init__(self, usage_record: str, plan_standing: str):
        super().__init__()
        self.usage_file = usage_record
        self.plan_file = plan_standing
        self.client = None
        from litellm.proxy.proxy_server import app

        if app.middleware_stack is None:
            app.middleware_stack = app.build_middleware_stack()
        self.inner = app.middleware_stack
        app.middleware_stack = self

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope["method"] != "POST"
                or scope.get("raw_path", b"").split(b"?")[0] not in ROUTES):
            return await self.inner(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its request arrived
            body += message.get("body", b"")
            more = message.get("more_body", False)
        replayed = self.replay(body, receive)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        model = parsed.get("model") if isinstance(parsed, dict) else None
        deployment = anthropic_deployment(model) if proxy_key_matches(scope["headers"]) else None
        if deployment is None or relay.carries_master_key(scope["headers"], self.master_key()):
            # Only the pass-through names a fallback's reason to the callbacks.
            scope = {**scope, "headers": [h for h in scope["headers"] if h[0] != FALLBACK_HEADER]}
            return await self.translated(scope, replayed, send, parsed)
        await self.forward(scope, replayed, send, body, parsed, deployment)

    async def translated(self, scope, receive, send, parsed) -> None:
        """LiteLLM's answer, with pings in the silent gaps of an event stream."""
        if not (isinstance(parsed, dict) and parsed.get("stream") is True):
            return await self.inner(scope, receive, send)
        pinger = relay.Pinger(send)
        try:
            await self.inner(scope, receive, pinger)
        finally:
            pinger.stop()

    @staticmethod
    def master_key() -> str:
        from litellm.proxy import proxy_server

        return str(proxy_server.master_key)

    @staticmethod
    def replay(body: bytes, receive):
        """A ``receive`` that hands LiteLLM the body already read, then the client's own."""
        sent = False

        async def replayed():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replayed

    def http(self) -> httpx.AsyncClient:
        if self.client is None:
            # No timeout but the connect one: Claude Code keeps its own (API_TIMEOUT_MS).
            self.client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=30.0))
        return self.client

    async def forward(self, scope, receive, send, body, parsed, deployment):
        model, (upstream, api_base) = parsed["model"], deployment
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        url = api_base.rstrip("/") + raw_path.decode("latin-1")
        if query:
            url += "?" + query.decode("latin-1")
        client = self.http()
        content = relay.with_model(body, model, upstream)
        request = client.build_request("POST", url, content=content)
        # Only Claude Code's headers: none of the HTTP client's defaults (user-agent, accept...).
        request.headers = httpx.Headers(relay.upstream_headers(
            scope["headers"], request.headers["host"].encode(), len(content)))
        streamed = parsed.get("stream") is True
        started = time.time()
        try:
            answer = await client.send(request, stream=True)
        except httpx.HTTPError as error:
            verbose_proxy_logger.warning("openClaude: %s: cannot reach %s: %s", model, api_base, error)
            self.record(model, upstream, 502, "unreachable", None, started)
            await self.answer(send, 502, {"type": "error", "error": {
                "type": "api_error", "message": f"openClaude proxy: cannot reach {api_base}: {error}"}})
            return
        try:
            self.keep_plan_standing(answer.headers)
            messages = raw_path.split(b"?")[0] == ROUTES[0]
            if answer.status_code >= 400:
                # As sent (the client gets the same encoding); read decoded.
                error_body = b"".join([chunk async for chunk in answer.aiter_raw()])
                encoding = answer.headers.get("content-encoding", "")
                message = relay.error_of(relay.decoded(error_body, encoding))[1]
                if messages:
                    self.record(model, upstream, answer.status_code,
                                usage.error_kind(answer.status_code, message), None, started)
                reason = messages and self.fallback_reason(answer.status_code, message, model)
                if reason:
                    await answer.aclose()
                    await self.fall_back(scope, receive, send, parsed, reason)
                    return
                await self.start(send, answer)
                await send({"type": "http.response.body", "body": error_body, "more_body": False})
                return
            await self.start(send, answer)
            counter = relay.TokenCounter(streamed, answer.headers.get("content-encoding", ""))
            async for chunk in answer.aiter_raw():
                counter.feed(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            counter.finish()
            if messages:
                self.record(model, upstream, answer.status_code, None, counter, started)
        finally:
            await answer.aclose()

    @staticmethod
    async def start(send, answer: httpx.Response) -> None:
        await send({"type": "http.response.start", "status": answer.status_code,
                    "headers": relay.answer_headers(answer.headers.raw)})

    @staticmethod
    async def answer(send, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def fallback_reason(self, status: int, message: str, model: str) -> str | None:
        """Why ``model``'s Bedrock fallback answers instead, or None (no fallback group, or an
        answer a fallback must not mask)."""
        from litellm.proxy import proxy_server

        router = proxy_server.llm_router
        # The deploy's fallback group for this tier only (a wildcard entry may match its name too).
        group = router.get_model_list(model_name=model + FALLBACK_SUFFIX) if router else []
        if not any((d.get("model_info") or {}).get("openclaude_fallback_for") == model for d in group or []):
            return None
        kind = usage.error_kind(status, message)
        if kind in usage.FALLBACK_REASONS and os.environ.get(usage.AWS_PROBLEM_ENV):
            verbose_proxy_logger.warning(
                "openClaude: %s: not falling back to Bedrock, which has no usable AWS credentials (%s)",
                model, os.environ[usage.AWS_PROBLEM_ENV])
            return None
        if kind in usage.FALLBACK_REASONS:
            return kind
        verbose_proxy_logger.warning(
            "openClaude: %s: Anthropic answered %s; not falling back to Bedrock (Claude Code shows "
            "Anthropic's answer: it refreshes its sign-in or asks for /login)", model, kind)
        return None

    async def fall_back(self, scope, receive, send, parsed, reason):
        """The request, for the tier's Bedrock fallback group, handed to LiteLLM."""
        model = parsed["model"]
        verbose_proxy_logger.warning("openClaude: %s fell back to Bedrock (%s from Anthropic)", model, reason)
        rewritten = json.dumps({**parsed, "model": model + FALLBACK_SUFFIX}).encode()
        headers = [(name, value) for name, value in scope["headers"]
                   if name not in (b"content-length", FALLBACK_HEADER)]
        headers += [(b"content-length", str(len(rewritten)).encode()), (FALLBACK_HEADER, reason.encode())]
        await self.translated({**scope, "headers": headers}, self.replay(rewritten, receive), send, parsed)

    def record(self, model, upstream, status, error, counter, started) -> None:
        line = usage.usage_line({
            "time": started, "group": model, "upstream": f"anthropic/{upstream}", "status": status,
            "error": error, "input": counter.input if counter else None,
            "output": counter.output if counter else None,
            "latency_ms": round((time.time() - started) * 1000)})
        try:
            usage.append(self.usage_file, line)
        except OSError as error:
            verbose_proxy_logger.warning("openClaude: cannot record usage in %s: %s", self.usage_file, error)

    def keep_plan_standing(self, headers: httpx.Headers) -> None:
        """The last ``anthropic-ratelimit-unified-*`` headers, with the time they came."""
        unified = {name: value for name, value in headers.items()
                   if name.lower().startswith(usage.UNIFIED_PREFIX)}
        if not unified:
            return
        try:
            usage.write_private(self.plan_file, json.dumps({"time": time.time(), "headers": unified}))
        except OSError as error:
            verbose_proxy_logger.warning("openClaude: cannot keep the plan's standing in %s: %s",
                                         self.plan_file, error)


passthrough = PassThrough(os.environ[usage.USAGE_RECORD_ENV], os.environ[usage.PLAN_STANDING_ENV])
