"""What the proxy adds to a subscription tier's time to first byte: a streamed opus message, as
Claude Code sends it, straight to the Anthropic stand-in and through the real LiteLLM release
deploy.py installs, once as deployed (the pass-through) and once without the pass-through
callback (LiteLLM's own Messages route: the figure before it). Requests alternate; the figures
are proxied ÷ direct per pair. The stand-in answers at once, so the ratio is the proxy's whole
cost against the fastest possible upstream (Anthropic's own first byte takes hundreds of ms).
Goal for the pass-through: at most x10 against that instant stand-in (a few ms).
"""

from __future__ import annotations

import http.client
import json
import time

from recording import deployed_proxy
from toolkit import alternate, figure, ratio, spread

GOAL = 10.0
REQUESTS_PER_RUN = 20


def first_byte(port: int, headers: dict):
    """A function giving the median time to the first body byte of REQUESTS_PER_RUN streamed
    opus messages to ``port``, on one kept-alive connection (as Claude Code keeps one)."""
    body = json.dumps({"model": "claude-opus-4-6", "max_tokens": 64, "stream": True,
                       "messages": [{"role": "user", "content": "say hi"}]}).encode()
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01",
               "anthropic-beta": "oauth-2025-04-20", "authorization": "Bearer sk-ant-oat01-bench",
               **headers}

    def run() -> float:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        times = []
        try:
            for _ in range(REQUESTS_PER_RUN):
                started = time.perf_counter()
                connection.request("POST", "/v1/messages?beta=true", body=body, headers=headers)
                answer = connection.getresponse()
                answer.read(1)
                times.append(time.perf_counter() - started)
                answer.read()
        finally:
            connection.close()
        return spread(times)["median"]
    return run


def measure(settings: dict) -> list[dict]:
    with deployed_proxy("openclaude-bench-passthrough-") as world:
        configs = {"passthrough": world.config,
                   "litellm": world.config_copy("litellm-route")}
        key = {"x-litellm-api-key": f"Bearer {world.master_key}"}
        with world.proxies(configs) as ports:
            timers = {"direct": first_byte(world.api.port, {}),
                      **{name: first_byte(port, key) for name, port in ports.items()}}
            runs = alternate(settings["runs"], timers, warm_up=True)
    ms = {name: spread(values)["median"] * 1000 for name, values in runs.items()}
    return [
        figure("subscription tier, time to first byte: pass-through / direct",
               ratio(runs["passthrough"], runs["direct"]), "x", GOAL,
               f"{ms['passthrough']:.1f} ms vs {ms['direct']:.1f} ms straight at the stand-in"),
        figure("subscription tier, time to first byte: LiteLLM's route / direct (before)",
               ratio(runs["litellm"], runs["direct"]), "x", None,
               f"{ms['litellm']:.1f} ms vs {ms['direct']:.1f} ms straight at the stand-in"),
    ]
