"""A stand-in for the Bedrock Runtime API (Converse and ConverseStream), stdlib only.

    with BedrockStandin(access_key="AK...", secret_key="...", region="us-west-2", output_limit=None) as bedrock:
        bedrock.url             # "http://127.0.0.1:PORT" (use as aws_bedrock_runtime_endpoint)
        bedrock.reply_text = "..."
        bedrock.tool_call = {"name": "Bash", "input": {"command": "echo standin-tool-ok"}}
        bedrock.requests        # every request received, in order

Endpoints (every request must carry a valid SigV4 signature for service "bedrock", else 403):
    POST /model/{modelId}/converse         Converse JSON reply
    POST /model/{modelId}/converse-stream  application/vnd.amazon.eventstream body in AWS event-stream framing
    anything else                          404 UnknownOperationException

Besides the fields every stand-in records (see ``RequestLog``), each ``requests`` entry carries:
    access_key    the access key id in the credential scope (None without one)
    scope_region  the region in the credential scope
    sigv4_valid   True/False
    sigv4_error   why the signature was rejected (None when valid)
    model_id      the model id from the path, percent-decoded ("us.anthropic.claude-opus-4-6-v1:0"), or None
    operation     "converse", "converse-stream" or None
and, for the two model operations once authorised:
    reply         "text", "tool_use" or "error" (the output limit)
    tool_results  list of {"tool_use_id", "content" (text), "status"} found in the request's messages
    tool_use_id   the id of the toolUse block answered (only when reply == "tool_use")
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import struct
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .anthropic import Exchange, StandinServer, estimate_tokens, random_id

DEFAULT_REPLY_TEXT = "Hello from the Bedrock stand-in."
DEFAULT_ACCESS_KEY = "AKIASTANDIN000000000"
DEFAULT_SECRET_KEY = "standin/secret/key/000000000000000000000"

INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."
VALIDATION_ERROR_TYPE = "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"

_CREDENTIAL_SCOPE = re.compile(r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[^/]+)/")
_MODEL_PATH = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>converse|converse-stream)$")
_MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


# ---------------------------------------------------------------------------
# AWS event-stream framing


def _event_stream_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack(">B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


def encode_event_stream_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One message in AWS event-stream framing (string headers only).

    total length (4B) | headers length (4B) | prelude CRC32 (4B) | headers | payload | message CRC32 (4B)
    """
    raw_headers = b"".join(_event_stream_header(n, v) for n, v in headers.items())
    prelude = struct.pack(">II", 12 + len(raw_headers) + len(payload) + 4, len(raw_headers))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + raw_headers + payload
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


def encode_event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """A ConverseStream event message as Bedrock sends it (payload padded with a "p" field, like AWS does)."""
    body = {**payload, "p": _PADDING[: 1 + len(event_type) % len(_PADDING)]}
    return encode_event_stream_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        json.dumps(body, separators=(",", ":")).encode(),
    )


# ---------------------------------------------------------------------------
# SigV4 verification


def _remove_dot_segments(path: str) -> str:
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment and segment != ".":
            out.append(segment)
    return ("/" if path.startswith("/") else "") + "/".join(out) + ("/" if path.endswith("/") and out else "")


def _canonical_query(query: str) -> str:
    pairs = []
    for pair in query.split("&") if query else []:
        key, _, value = pair.partition("=")
        pairs.append(
            (
                urllib.parse.quote(urllib.parse.unquote(key), safe="-_.~"),
                urllib.parse.quote(urllib.parse.unquote(value), safe="-_.~"),
            )
        )
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def verify_sigv4(
    *,
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    access_key: str,
    secret_key: str,
    region: str,
    service: str = "bedrock",
    session_token: str | None = None,
    now: dt.datetime | None = None,
) -> str | None:
    """Check an AWS4-HMAC-SHA256 ``Authorization`` header; return None when valid, else the reason.

    ``target`` is the request target exactly as sent (already percent-encoded); as SigV4 prescribes for
    services other than S3, the canonical URI is that path normalised and percent-encoded once more.
    ``headers`` is the list of (name, value) pairs as received.
    """
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name.lower(), []).append(value)

    authorization = ",".join(by_name.get("authorization", []))
    if not authorization:
        return "no Authorization header"
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        return f"Authorization is not AWS4-HMAC-SHA256 (got {algorithm!r})"
    fields = {}
    for part in rest.split(","):
        key, _, value = part.strip().partition("=")
        fields[key] = value
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        return "Authorization lacks Credential, SignedHeaders or Signature"

    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return f"malformed credential scope {fields['Credential']!r}"
    key_id, date, scope_region, scope_service, _ = scope
    if key_id != access_key:
        return f"unknown access key {key_id!r}"
    if scope_region != region:
        return f"credential scope region {scope_region!r}, expected {region!r}"
    if scope_service != service:
        return f"credential scope service {scope_service!r}, expected {service!r}"

    amz_date = (by_name.get("x-amz-date") or [""])[0]
    try:
        signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return f"missing or malformed X-Amz-Date {amz_date!r}"
    if amz_date[:8] != date:
        return f"X-Amz-Date {amz_date} does not match credential date {date}"
    if abs((now or dt.datetime.now(dt.timezone.utc)) - signed_at) > _MAX_CLOCK_SKEW:
        return f"signature expired or not yet valid (X-Amz-Date {amz_date})"

    signed_headers = fields["SignedHeaders"].split(";")
    if "host" not in signed_headers:
        return "host is not a signed header"
    missing = [h for h in signed_headers if h not in by_name]
    if missing:
        return f"signed headers missing from the request: {missing}"
    if session_token is not None and (by_name.get("x-amz-security-token") or [None])[0] != session_token:
        return "missing or wrong X-Amz-Security-Token"

    body_hash = hashlib.sha256(body).hexdigest()
    declared_hash = (by_name.get("x-amz-content-sha256") or [None])[0]
    if declared_hash is not None and declared_hash not in (body_hash, "UNSIGNED-PAYLOAD"):
        return "X-Amz-Content-SHA256 does not match the body"

    split = urllib.parse.urlsplit(target)
    canonical_request = "\n".join(
        [
            method.upper(),
            urllib.parse.quote(_remove_dot_segments(split.path), safe="/~"),
            _canonical_query(split.query),
            "".join(f"{h}:{','.join(' '.join(v.split()) for v in by_name[h])}\n" for h in signed_headers),
            ";".join(signed_headers),
            declared_hash or body_hash,
        ]
    )
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            f"{date}/{region}/{service}/aws4_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["Signature"]):
        return "signature mismatch"
    return None


# ---------------------------------------------------------------------------
# The stand-in


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    out = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict):
            if isinstance(block.get("text"), str):
                out.append(block["text"])
            if isinstance(block.get("json"), (dict, list)):
                out.append(json.dumps(block["json"]))
            if isinstance(block.get("toolResult"), dict):
                out.append(_block_text(block["toolResult"].get("content")))
            if isinstance(block.get("toolUse"), dict):
                out.append(json.dumps(block["toolUse"].get("input")))
    return "\n".join(out)


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class BedrockStandin(StandinServer):
    """Stand-in for ``https://bedrock-runtime.{region}.amazonaws.com`` (see the module docstring).

    Constructor: ``BedrockStandin(access_key=..., secret_key=..., region="us-west-2", output_limit=None,
    session_token=None)``; requests must be SigV4-signed with these credentials (or another pair in
    ``keys``) and region.

    Attributes you may set at any time:
        keys              {access key id: (secret key, session token or None)}: the pairs it accepts
        reply_text        text of every text reply (default "Hello from the Bedrock stand-in.")
        output_limit      None, or the model's output limit: maxTokens above it gets Bedrock's 400
        tool_call         None, or {"name": ..., "input": {...}}: the first eligible request whose messages hold
                          no ``toolResult`` block is answered with that ``toolUse`` (stopReason "tool_use");
                          every later request is answered with text. Assigning it again re-arms it.
        tool_call_filter  None, or a callable(body) -> bool restricting which requests are eligible for it
    """

    def __init__(
        self,
        access_key: str = DEFAULT_ACCESS_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        region: str = "us-west-2",
        output_limit: int | None = None,
        *,
        session_token: str | None = None,
        reply_text: str = DEFAULT_REPLY_TEXT,
        verbose: bool = False,
    ) -> None:
        super().__init__(verbose=verbose)
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.session_token = session_token
        # Every key pair it accepts: access key id -> (secret key, session token or None).
        self.keys = {access_key: (secret_key, session_token)}
        self.output_limit = output_limit
        self.reply_text = reply_text

    @property
    def endpoint_host(self) -> str:
        """What a real client would have signed as Host for this endpoint."""
        return f"{self.host}:{self.port}"

    # -- hooks -----------------------------------------------------------
    def _annotate(self, record: dict) -> None:
        match = _MODEL_PATH.match(record["path"])
        record["model_id"] = urllib.parse.unquote(match["model"]) if match else None
        record["operation"] = match["op"] if match else None
        scope = _CREDENTIAL_SCOPE.search(
            ",".join(value for name, value in record["raw_headers"] if name.lower() == "authorization"))
        record["access_key"] = scope["key"] if scope else None
        record["scope_region"] = scope["region"] if scope else None
        access_key = record["access_key"] if record["access_key"] in self.keys else self.access_key
        secret_key, session_token = self.keys.get(access_key, (self.secret_key, self.session_token))
        record["sigv4_error"] = verify_sigv4(
            method=record["method"],
            target=record["target"],
            headers=record["raw_headers"],
            body=record["body"],
            access_key=access_key,
            secret_key=secret_key,
            region=self.region,
            session_token=session_token,
        )
        record["sigv4_valid"] = record["sigv4_error"] is None

    def _respond(self, exchange: Exchange, record: dict) -> None:
        if not record["sigv4_valid"]:
            self._error(exchange, 403, "UnrecognizedClientException", INVALID_TOKEN_MESSAGE)
        elif record["operation"] is None or record["method"] != "POST":
            self._error(exchange, 404, "UnknownOperationException", None)
        else:
            self._converse(exchange, record)

    @staticmethod
    def _error(exchange: Exchange, status: int, error_type: str, message: str | None) -> None:
        exchange.send_json(
            status,
            {"message": message},
            headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())},
        )

    # -- Converse / ConverseStream -----------------------------------------
    def _converse(self, exchange: Exchange, record: dict) -> None:
        body = record["json"]
        if not isinstance(body, dict):
            record["reply"] = "error"
            message = "Malformed input request, please reformat your input and try again."
            self._error(exchange, 400, VALIDATION_ERROR_TYPE, message)
            return
        max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
        limit = self.output_limit
        if limit is not None and isinstance(max_tokens, int) and max_tokens > limit:
            record["reply"] = "error"
            message = f"The maximum tokens you requested exceeds the model limit of {limit}"
            self._error(exchange, 400, VALIDATION_ERROR_TYPE, message)
            return

        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        tool_results = [
            {
                "tool_use_id": block["toolResult"].get("toolUseId"),
                "content": _block_text(block["toolResult"].get("content")),
                "status": block["toolResult"].get("status"),
            }
            for message in messages
            for block in message.get("content") or []
            if isinstance(block, dict) and isinstance(block.get("toolResult"), dict)
        ]
        tool_call = self._take_tool_call(body, tool_results)
        record.update(reply="tool_use" if tool_call else "text", tool_results=tool_results)

        input_text = "\n".join(
            [_block_text(body.get("system"))]
            + [_block_text(m.get("content")) for m in messages]
            + ([json.dumps(body["toolConfig"])] if "toolConfig" in body else [])
        )
        input_tokens = estimate_tokens(input_text)
        if tool_call is not None:
            tool_use_id = random_id("tooluse_")
            record["tool_use_id"] = tool_use_id
            self.tool_use_ids.append(tool_use_id)
            tool_input = tool_call.get("input", {})
            output_tokens = estimate_tokens(json.dumps(tool_input)) + 10
            stop_reason = "tool_use"
            block: dict = {"toolUse": {"toolUseId": tool_use_id, "name": tool_call["name"], "input": tool_input}}
        else:
            output_tokens = estimate_tokens(self.reply_text)
            stop_reason = "end_turn"
            block = {"text": self.reply_text}
        usage = {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        }
        metrics = {"latencyMs": 42}
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}

        if record["operation"] == "converse":
            exchange.send_json(
                200,
                {
                    "output": {"message": {"role": "assistant", "content": [block]}},
                    "stopReason": stop_reason,
                    "usage": usage,
                    "metrics": metrics,
                },
                headers=headers,
            )
            return

        write = exchange.start_stream(200, "application/vnd.amazon.eventstream", headers=headers)
        write(encode_event("messageStart", {"role": "assistant"}))
        if "toolUse" in block:
            tool_use = block["toolUse"]
            start = {"toolUse": {"toolUseId": tool_use["toolUseId"], "name": tool_use["name"]}}
            write(encode_event("contentBlockStart", {"contentBlockIndex": 0, "start": start}))
            for piece in _pieces(json.dumps(tool_use["input"]), 12):
                delta = {"toolUse": {"input": piece}}
                write(encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta}))
        else:
            for piece in re.findall(r"\s*\S+\s*", block["text"]) or [block["text"]]:
                write(encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}}))
        write(encode_event("contentBlockStop", {"contentBlockIndex": 0}))
        write(encode_event("messageStop", {"stopReason": stop_reason}))
        write(encode_event("metadata", {"usage": usage, "metrics": metrics}))
        exchange.end_stream()
