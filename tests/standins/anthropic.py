"""A stand-in for the Anthropic Messages API (stdlib only).

    with AnthropicStandin() as api:
        api.url                     # "http://127.0.0.1:PORT"
        api.reply_text = "..."      # text every text reply carries
        api.tool_call = {"name": "Bash", "input": {"command": "echo standin-tool-ok"}}
        ...                         # point a client at api.url
        api.requests                # every request received, in order

Endpoints:
    HEAD / and GET /              200, empty body
    POST /v1/messages             a Messages API reply: JSON, or server-sent events when "stream": true
    POST /v1/messages/count_tokens  {"input_tokens": N}
    anything else                 404 with Anthropic's error shape

A query string (Claude Code sends ``/v1/messages?beta=true``) does not change the routing.

This module also holds the HTTP plumbing the Bedrock stand-in shares: ``RequestLog`` and ``StandinServer``.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import string
import sys
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_BASE62 = string.ascii_letters + string.digits

DEFAULT_REPLY_TEXT = "Hello from the Anthropic stand-in."

RATE_LIMITED = (429, "rate_limit_error",
                "This request would exceed your account's rate limit. Please try again later.")
# Answers the real API gives a subscription's requests, by name (AnthropicStandin.fail_with).
ERRORS = {
    "rate_limit": RATE_LIMITED,
    # The plan's own limit answers alike; only the unified headers say whose limit it is.
    "plan_limit": RATE_LIMITED,
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "oauth_refused": (401, "authentication_error", "OAuth authentication is currently not supported."),
    "token_expired": (401, "authentication_error",
                      "OAuth token has expired. Please obtain a new token or refresh your existing token."),
    "invalid_request": (400, "invalid_request_error",
                        "Third-party apps now draw from your extra usage, not your plan limits."),
    "prompt_too_long": (400, "invalid_request_error", "prompt is too long: 212345 tokens > 200000 maximum"),
    "permission": (403, "permission_error", "OAuth authentication is currently not allowed for this organization."),
    "not_found": (404, "not_found_error", "model: claude-opus-4-6"),
    "request_too_large": (413, "request_too_large", "Request exceeds the maximum allowed number of bytes."),
    "claude_code_only": (400, "invalid_request_error",
                         "This credential is only authorized for use with Claude Code and cannot be "
                         "used for other API requests."),
}
# Whether the client may retry (x-should-retry), per status; a 429 also says when (retry-after).
SHOULD_RETRY = {429: "true", 529: "true", 500: "true"}
RETRY_AFTER_SECONDS = 17


def plan_standing(status: str = "allowed", five_hour: float = 0.42, seven_day: float = 0.17,
                  claim: str = "five_hour", reset: int = 1796421060) -> dict:
    """The ``anthropic-ratelimit-unified-*`` headers Anthropic puts on a subscription's answers:
    the plan's 5-hour and 7-day windows (utilization 0-1, status, reset in epoch seconds) and the
    window that decides (``claim``). ``reset`` is fixed so two runs read the same message."""
    week = reset + 4 * 86400
    window_status = {"five_hour": status if claim == "five_hour" else "allowed",
                     "seven_day": status if claim == "seven_day" else "allowed"}
    prefix = "anthropic-ratelimit-unified-"
    return {
        f"{prefix}status": status,
        f"{prefix}reset": str(reset if claim == "five_hour" else week),
        f"{prefix}representative-claim": claim,
        f"{prefix}5h-status": window_status["five_hour"],
        f"{prefix}5h-utilization": str(five_hour),
        f"{prefix}5h-reset": str(reset),
        f"{prefix}7d-status": window_status["seven_day"],
        f"{prefix}7d-utilization": str(seven_day),
        f"{prefix}7d-reset": str(week),
        f"{prefix}fallback-percentage": "0.5",
        f"{prefix}overage-status": "rejected",
        f"{prefix}overage-disabled-reason": "org_level_disabled",
    }


def random_id(prefix: str, length: int = 22) -> str:
    """An id like Anthropic's (``msg_01...``/``toolu_01...``) or Bedrock's (``tooluse_...``)."""
    return prefix + "".join(secrets.choice(_BASE62) for _ in range(length))


class RequestLog(list):
    """A list of recorded requests that can be appended to from server threads and waited on from tests.

    Each entry is a dict with at least:
        method   "POST"
        target   the request target exactly as sent ("/v1/messages?beta=true")
        path     the path part of target, still percent-encoded as sent ("/v1/messages")
        query    the query string as sent ("beta=true", or "")
        headers  dict of lowercase header name -> value (repeated headers joined with ", ")
        raw_headers  list of (name, value) pairs exactly as received
        body     the raw body bytes (b"" when there is none)
        json     the body parsed as JSON, or None when it is empty or not JSON
    plus whatever the stand-in adds (see each stand-in's docstring).
    """

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()

    def append(self, item: dict) -> None:  # type: ignore[override]
        with self._cond:
            super().append(item)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            super().clear()

    def snapshot(self) -> list[dict]:
        """A copy of the entries so far."""
        with self._cond:
            return list(list.__iter__(self))

    def __iter__(self) -> Iterator[dict]:
        return iter(self.snapshot())

    def matching(self, method: str | None = None, path: str | None = None) -> list[dict]:
        """Entries with this method and/or path (path compared without the query string)."""
        return [
            r
            for r in self.snapshot()
            if (method is None or r["method"] == method) and (path is None or r["path"] == path)
        ]

    def wait_for(
        self, count: int = 1, predicate: Callable[[dict], bool] | None = None, timeout: float = 10.0
    ) -> list[dict]:
        """Block until at least ``count`` entries satisfy ``predicate`` (all entries when None); return them.

        Raises TimeoutError when they do not arrive within ``timeout`` seconds.
        """

        def hits() -> list[dict]:
            return [r for r in list.__iter__(self) if predicate is None or predicate(r)]

        with self._cond:
            if not self._cond.wait_for(lambda: len(hits()) >= count, timeout=timeout):
                raise TimeoutError(f"expected {count} matching request(s), have {len(hits())} after {timeout}s")
            return hits()


class Exchange:
    """One HTTP request/response pair, handed to a stand-in's ``_respond``."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self._h = handler
        self.responded = False

    def send(
        self, status: int, body: bytes = b"", content_type: str | None = None, headers: dict | None = None
    ) -> None:
        h = self._h
        h.send_response(status)
        if content_type is not None:
            h.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD" and body:
            h.wfile.write(body)
        h.wfile.flush()
        self.responded = True

    def send_json(self, status: int, obj: Any, headers: dict | None = None) -> None:
        self.send(status, json.dumps(obj).encode(), "application/json", headers)

    def start_stream(self, status: int, content_type: str, headers: dict | None = None) -> Callable[[bytes], None]:
        """Send the head of a chunked response; return a function that writes one chunk and flushes it.

        Call ``end_stream()`` after the last chunk.
        """
        h = self._h
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()
        self.responded = True

        def write(data: bytes) -> None:
            if data:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                h.wfile.flush()

        return write

    def end_stream(self) -> None:
        self._h.wfile.write(b"0\r\n\r\n")
        self._h.wfile.flush()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # As API servers do: a streamed answer's small writes go out at once, not after the client's
    # delayed ACK (40 ms on a kept-alive connection).
    disable_nagle_algorithm = True
    server_version = "standin"
    sys_version = ""
    standin: StandinServer  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        if self.standin.verbose:
            super().log_message(format, *args)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        body = self._read_body()
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        split = urllib.parse.urlsplit(self.path)
        record: dict[str, Any] = {
            "method": self.command,
            "target": self.path,
            "path": split.path,
            "query": split.query,
            "headers": headers,
            "raw_headers": list(self.headers.items()),
            "body": body,
            "json": parsed,
        }
        standin = self.standin
        exchange = Exchange(self)
        try:
            try:
                standin._annotate(record)
            finally:
                standin.requests.append(record)
            standin._respond(exchange, record)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a stand-in bug: answer 500 so the client does not hang
            record["error"] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
            if not exchange.responded:
                exchange.send_json(500, {"message": f"stand-in error: {record['error']}"})
            self.close_connection = True

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive connections must not make stop() wait
    allow_reuse_address = True


class StandinServer:
    """An HTTP server on 127.0.0.1 (ephemeral port) run in a background thread; a context manager.

    Subclasses implement ``_respond(exchange, record)`` and may implement ``_annotate(record)`` to add
    fields to a request's record before it is appended to ``requests``.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        self.requests = RequestLog()
        self.verbose = verbose
        self._lock = threading.Lock()
        self.tool_call_filter: Callable[[dict], bool] | None = None
        self._tool_call: dict | None = None
        self._tool_call_pending = False
        self.tool_use_ids: list[str] = []  # ids of the tool-use blocks answered so far
        self._bind = (host, port)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- one armed tool call ---------------------------------------------
    @property
    def tool_call(self) -> dict | None:
        return self._tool_call

    @tool_call.setter
    def tool_call(self, value: dict | None) -> None:
        with self._lock:
            self._tool_call = copy.deepcopy(value)
            self._tool_call_pending = value is not None

    def _take_tool_call(self, body: dict, tool_results: list) -> dict | None:
        """The armed tool call, once, for a request without tool results that passes the filter."""
        with self._lock:
            if tool_results or not self._tool_call_pending:
                return None
            if self.tool_call_filter is not None and not self.tool_call_filter(body):
                return None
            self._tool_call_pending = False
            return self._tool_call

    # -- lifecycle -------------------------------------------------------
    def start(self) -> StandinServer:
        if self._httpd is not None:
            return self
        handler = type(f"{type(self).__name__}Handler", (_Handler,), {"standin": self})
        self._httpd = _Server(self._bind, handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return self._bind[0]

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:43125``."""
        return f"http://{self.host}:{self.port}"

    # -- hooks -----------------------------------------------------------
    def _annotate(self, record: dict) -> None:
        pass

    def _respond(self, exchange: Exchange, record: dict) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------------
# Anthropic


def _text_of(content: Any) -> str:
    """All text in a message/system/tool_result content value (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for block in content:
            if isinstance(block, str):
                out.append(block)
            elif isinstance(block, dict):
                if isinstance(block.get("text"), str):
                    out.append(block["text"])
                if "content" in block:
                    out.append(_text_of(block["content"]))
                if isinstance(block.get("input"), dict):
                    out.append(json.dumps(block["input"]))
        return "\n".join(out)
    return ""


def estimate_tokens(text: str) -> int:
    """About four characters a token; at least 1."""
    return max(1, (len(text) + 3) // 4)


def _text_pieces(text: str) -> list[str]:
    """The reply text cut at word boundaries, so a streamed reply has several deltas."""
    return re.findall(r"\s*\S+\s*", text) or [text]


def _json_pieces(text: str, size: int = 12) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class AnthropicStandin(StandinServer):
    """Stand-in for ``https://api.anthropic.com`` (see the module docstring).

    Attributes you may set at any time:
        reply_text        text of every text reply (default "Hello from the Anthropic stand-in.")
        tool_call         None, or {"name": ..., "input": {...}}: the first eligible POST /v1/messages whose
                          messages hold no ``tool_result`` block is answered with that ``tool_use`` block
                          (stop_reason "tool_use"); every later request is answered with text. Assigning
                          it again re-arms it.
        tool_call_filter  None, or a callable(body) -> bool restricting which requests are eligible for the
                          tool_use answer, e.g. ``lambda b: any(t.get("name") == "Bash" for t in b.get("tools", []))``
                          so Claude Code's side requests (title, quota) are not picked.
        send_ping         emit Anthropic's ``ping`` event after message_start when streaming (default False)
        fail_with         None, or a key of ``ERRORS``: every valid POST /v1/messages is answered with that
                          error (status, Anthropic's error shape, ``request-id``, ``x-should-retry``, a
                          429's ``retry-after``) until it is set back to None; ``plan_limit`` also
                          carries the plan's standing, rejected on its 5-hour window
        standing          None, or ``plan_standing(...)``: headers every Messages answer carries

    Each ``requests`` entry for POST /v1/messages also carries:
        reply         "text", "tool_use" or "error" (what the stand-in answered)
        failed_with   the ``ERRORS`` key answered (only when reply == "error")
        stream        whether the reply was streamed
        tool_results  list of {"tool_use_id", "content" (text), "is_error"} found in the request's messages
        tool_use_id   the id of the tool_use block answered (only when reply == "tool_use")
    """

    def __init__(self, *, reply_text: str = DEFAULT_REPLY_TEXT, verbose: bool = False) -> None:
        super().__init__(verbose=verbose)
        self.reply_text = reply_text
        self.send_ping = False
        self.fail_with: str | None = None
        self.standing: dict | None = None

    # -- routing ---------------------------------------------------------
    def _respond(self, exchange: Exchange, record: dict) -> None:
        method, path = record["method"], record["path"].rstrip("/") or "/"
        if path == "/" and method in ("GET", "HEAD"):
            exchange.send(200)
        elif path == "/v1/messages" and method == "POST":
            self._messages(exchange, record)
        elif path == "/v1/messages/count_tokens" and method == "POST":
            self._count_tokens(exchange, record)
        else:
            self._error(exchange, 404, "not_found_error", f"Not found: {method} {record['path']}")

    def _error(self, exchange: Exchange, status: int, error_type: str, message: str,
               headers: dict | None = None) -> None:
        request_id = random_id("req_01")
        exchange.send_json(
            status,
            {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id},
            headers={"request-id": request_id, **(headers or {})},
        )

    def _failure_headers(self, failure: str, status: int) -> dict:
        headers = dict(self.standing or {})
        if failure == "plan_limit":
            headers.update(plan_standing("rejected", five_hour=1.0))
        headers["x-should-retry"] = SHOULD_RETRY.get(status, "false")
        if status == 429:
            headers["retry-after"] = str(RETRY_AFTER_SECONDS)
        return headers

    @staticmethod
    def _input_text(body: dict) -> str:
        parts = [_text_of(body.get("system"))]
        parts += [_text_of(m.get("content")) for m in body.get("messages", []) if isinstance(m, dict)]
        parts += [json.dumps(t) for t in body.get("tools", []) or []]
        return "\n".join(parts)

    def _count_tokens(self, exchange: Exchange, record: dict) -> None:
        body = record["json"]
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._error(exchange, 400, "invalid_request_error", "messages: Field required")
            return
        exchange.send_json(200, {"input_tokens": estimate_tokens(self._input_text(body))})

    def _messages(self, exchange: Exchange, record: dict) -> None:
        body = record["json"]
        if not isinstance(body, dict):
            self._error(exchange, 400, "invalid_request_error", "The request body is not valid JSON.")
            return
        for field in ("model", "messages", "max_tokens"):
            if field not in body:
                self._error(exchange, 400, "invalid_request_error", f"{field}: Field required")
                return
        failure = self.fail_with
        if failure is not None:
            record.update(reply="error", failed_with=failure)
            status, error_type, message = ERRORS[failure]
            self._error(exchange, status, error_type, message, self._failure_headers(failure, status))
            return

        tool_results = [
            {
                "tool_use_id": block.get("tool_use_id"),
                "content": _text_of(block.get("content", "")),
                "is_error": bool(block.get("is_error", False)),
            }
            for message in body["messages"]
            if isinstance(message, dict) and isinstance(message.get("content"), list)
            for block in message["content"]
            if isinstance(block, dict) and block.get("type") == "tool_result"
        ]
        tool_call = self._take_tool_call(body, tool_results)
        stream = bool(body.get("stream", False))
        record.update(reply="tool_use" if tool_call else "text", stream=stream, tool_results=tool_results)

        model = body["model"]
        message_id = random_id("msg_01")
        input_tokens = estimate_tokens(self._input_text(body))
        if tool_call is not None:
            tool_use_id = random_id("toolu_01")
            record["tool_use_id"] = tool_use_id
            self.tool_use_ids.append(tool_use_id)
            tool_input = tool_call.get("input", {})
            block: dict = {"type": "tool_use", "id": tool_use_id, "name": tool_call["name"], "input": tool_input}
            output_tokens = estimate_tokens(json.dumps(tool_input)) + 10
            stop_reason = "tool_use"
        else:
            block = {"type": "text", "text": self.reply_text}
            output_tokens = estimate_tokens(self.reply_text)
            stop_reason = "end_turn"

        usage = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }
        headers = {"request-id": random_id("req_01"), **(self.standing or {})}
        if not stream:
            exchange.send_json(
                200,
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [block],
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": usage,
                },
                headers=headers,
            )
            return

        write = exchange.start_stream(
            200, "text/event-stream; charset=utf-8", headers={**headers, "Cache-Control": "no-cache"}
        )

        def event(kind: str, data: dict) -> None:
            write(f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode())

        event(
            "message_start",
            {
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {**usage, "output_tokens": 1},
                }
            },
        )
        if self.send_ping:
            event("ping", {})
        if block["type"] == "tool_use":
            event("content_block_start", {"index": 0, "content_block": {**block, "input": {}}})
            for piece in ["", *_json_pieces(json.dumps(block["input"]))]:
                event("content_block_delta", {"index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}})
        else:
            event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            for piece in _text_pieces(block["text"]):
                event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
        event("content_block_stop", {"index": 0})
        event(
            "message_delta",
            {"delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": {"output_tokens": output_tokens}},
        )
        event("message_stop", {})
        exchange.end_stream()
