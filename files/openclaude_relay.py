"""The wire-level pieces of openClaude's pass-through (``openclaude_passthrough``), standard
library only so they are tested on their own: which headers go upstream, what an answer's
tokens were, Anthropic's error body, and the ``ping`` events a translated stream gets in its
silent gaps (Claude Code's gateway protocol reference asks for them).
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib

PROXY_KEY_HEADER = b"x-litellm-api-key"
# RFC 9110 section 7.6.1.
HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
              b"trailer", b"transfer-encoding", b"upgrade"}
# The proxy's HTTP server writes its own Date; an answer carries one.
SERVER_WRITTEN = {b"date"}
PING = b'event: ping\ndata: {"type": "ping"}\n\n'
# Anthropic's own streams carry a ping about this often when the model is silent.
PING_AFTER_SECONDS = 10.0


def carries_master_key(headers: list, master_key: str) -> bool:
    """Whether a header other than the proxy key's own carries the master key (such a request
    never leaves the machine)."""
    return any(master_key.encode() in value for name, value in headers if name != PROXY_KEY_HEADER)


def upstream_headers(headers: list, host: bytes, length: int) -> list:
    """Claude Code's headers for Anthropic, in their order: less the proxy key and hop-by-hop
    ones, with ``host`` and the body's ``length`` in the places of the client's own."""
    named_in_connection = {token.strip().lower().encode() for name, value in headers
                           if name == b"connection" for token in value.decode("latin-1").split(",")}
    replaced = {b"host": host, b"content-length": str(length).encode()}
    kept = [(name, replaced.get(name, value)) for name, value in headers
            if name != PROXY_KEY_HEADER and name not in HOP_BY_HOP and name not in named_in_connection]
    present = {name for name, _ in kept}
    return kept + [(name, value) for name, value in replaced.items() if name not in present]


def answer_headers(headers: list) -> list:
    """An upstream answer's headers for the client: all but hop-by-hop ones and Date."""
    return [(name.lower(), value) for name, value in headers
            if name.lower() not in SERVER_WRITTEN and name.lower() not in HOP_BY_HOP]


def with_model(body: bytes, model: str, upstream: str) -> bytes:
    """The body as sent, or re-serialised with the upstream id when the tier's name differs."""
    if model == upstream:
        return body
    parsed = json.loads(body)
    parsed["model"] = upstream
    return json.dumps(parsed, separators=(",", ":")).encode()


def decoded(body: bytes, encoding: str) -> bytes:
    """A whole body with its gzip or deflate content-encoding undone (any other as it is)."""
    window = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}.get(encoding.strip().lower())
    if window is None:
        return body
    try:
        return zlib.decompress(body, window)
    except zlib.error:
        return body


def error_of(body: bytes) -> tuple:
    """``(error.type, error.message)`` of an Anthropic error body, ``("", "")`` if it has none."""
    try:
        error = json.loads(body).get("error") or {}
        return str(error.get("type") or ""), str(error.get("message") or "")
    except (ValueError, AttributeError):
        return "", ""


class TokenCounter:
    """Input and output tokens of an answer, read from its JSON or its event stream as it
    passes (a gzip or deflate encoding is decoded for the count; the bytes pass unchanged)."""

    def __init__(self, streamed: bool, encoding: str = ""):
        self.streamed = streamed
        self.pending = b""
        self.input = None
        self.output = None
        window = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}.get(encoding.strip().lower())
        self.decoder = zlib.decompressobj(window) if window else None
        self.readable = window is not None or not encoding.strip() or encoding.strip().lower() == "identity"

    def feed(self, chunk: bytes) -> None:
        if not self.readable:
            return
        if self.decoder is not None:
            try:
                chunk = self.decoder.decompress(chunk)
            except zlib.error:
                self.readable = False
                return
        if not self.streamed:
            self.pending += chunk
            return
        lines = (self.pending + chunk).split(b"\n")
        self.pending = lines.pop()
        for line in lines:
            if line.startswith(b"data:") and b"usage" in line:
                self.take(line[5:])

    def take(self, data: bytes) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        usage = (event.get("message") if isinstance(event.get("message"), dict) else event).get("usage")
        if not isinstance(usage, dict):
            return
        if "input_tokens" in usage:
            self.input = usage["input_tokens"]
        if "output_tokens" in usage:
            self.output = usage["output_tokens"]

    def finish(self) -> None:
        if self.readable and not self.streamed and self.pending:
            self.take(self.pending)


class Pinger:
    """An ASGI ``send`` for a translated Messages stream: when a 200 event stream has been silent
    for ``interval`` seconds between two events, it sends Anthropic's ``ping`` event."""

    def __init__(self, send, interval: float = PING_AFTER_SECONDS):
        self.send = send
        self.interval = interval
        self.lock = asyncio.Lock()
        self.streaming = False
        self.between_events = True
        self.last = time.monotonic()
        self.task = None

    async def __call__(self, message: dict) -> None:
        async with self.lock:
            if message["type"] == "http.response.start":
                self.streaming = message["status"] == 200 and any(
                    name.lower() == b"content-type" and value.startswith(b"text/event-stream")
                    for name, value in message.get("headers") or [])
                if self.streaming:
                    self.task = asyncio.ensure_future(self.keep_alive())
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    self.between_events = message["body"].endswith(b"\n\n")
                if not message.get("more_body", False):
                    self.streaming = False
            await self.send(message)
            self.last = time.monotonic()

    async def keep_alive(self) -> None:
        while self.streaming:
            await asyncio.sleep(max(0.0, self.last + self.interval - time.monotonic()))
            async with self.lock:
                if (self.streaming and self.between_events
                        and time.monotonic() - self.last >= self.interval):
                    await self.send({"type": "http.response.body", "body": PING, "more_body": True})
                    self.last = time.monotonic()

    def stop(self) -> None:
        self.streaming = False
        if self.task is not None:
            self.task.cancel()
