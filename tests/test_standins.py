"""The upstream stand-ins behave like the real Anthropic Messages and Bedrock Runtime APIs."""

from __future__ import annotations

import binascii
import json
import struct
import urllib.parse

import botocore.session
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError
from botocore.parsers import EventStreamJSONParser

from tests.standins.anthropic import AnthropicStandin
from tests.standins.bedrock import BedrockStandin

ACCESS_KEY = "AKIATESTSTANDIN00001"
SECRET_KEY = "test/standin/secret/0000000000000000000"
REGION = "us-west-2"
QWEN = "qwen.qwen3-next-80b-a3b"
OPUS_PROFILE = "us.anthropic.claude-opus-4-6-v1:0"
TOOL_CALL = {"name": "Bash", "input": {"command": "echo standin-tool-ok"}}
BASH_TOOL = {
    "name": "Bash",
    "description": "Run a shell command",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
}


# ---------------------------------------------------------------------------
# helpers


@pytest.fixture
def api():
    with AnthropicStandin() as standin:
        yield standin


@pytest.fixture
def bedrock():
    with BedrockStandin(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION) as standin:
        yield standin


def parse_sse(text: str) -> list[tuple[str, dict]]:
    """Server-sent events -> [(event name, parsed data)], by hand."""
    events = []
    for raw_event in text.replace("\r\n", "\n").split("\n\n"):
        if not raw_event.strip():
            continue
        name, data_lines = None, []
        for line in raw_event.split("\n"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data_lines.append(value)
        events.append((name, json.loads("\n".join(data_lines))))
    return events


def anthropic_post(api: AnthropicStandin, body: dict, path: str = "/v1/messages") -> requests.Response:
    return requests.post(
        api.url + path,
        json=body,
        headers={"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"},
        timeout=10,
    )


def messages_body(model: str = "claude-opus-4-6", stream: bool = False, messages: list | None = None) -> dict:
    return {
        "model": model,
        "max_tokens": 1024,
        "stream": stream,
        "tools": [BASH_TOOL],
        "messages": messages or [{"role": "user", "content": "Say hello."}],
    }


def tool_result_turns(tool_use: dict) -> list[dict]:
    return [
        {"role": "user", "content": "Run the command."},
        {"role": "assistant", "content": [tool_use]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "standin-tool-ok\n"}],
        },
    ]


def sigv4_post(
    url: str,
    body: dict | bytes,
    *,
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
    region: str = REGION,
) -> requests.Response:
    """POST signed with botocore's SigV4Auth exactly as LiteLLM signs Bedrock requests."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = AWSRequest(method="POST", url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(access_key, secret_key), "bedrock", region).add_auth(request)
    prepared = request.prepare()
    return requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=10)


def model_url(bedrock: BedrockStandin, model_id: str, operation: str = "converse") -> str:
    return f"{bedrock.url}/model/{urllib.parse.quote(model_id, safe='')}/{operation}"


def converse_body(messages: list | None = None, max_tokens: int = 512) -> dict:
    return {
        "messages": messages or [{"role": "user", "content": [{"text": "Say hello."}]}],
        "inferenceConfig": {"maxTokens": max_tokens},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "Bash",
                        "inputSchema": {"json": {"type": "object", "properties": {"command": {"type": "string"}}}},
                    }
                }
            ]
        },
    }


def decode_event_stream(raw: bytes) -> list[tuple[dict, dict]]:
    """Decode with botocore's EventStreamBuffer (which validates both CRCs) -> [(headers, payload)]."""
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    events = [(message.headers, json.loads(message.payload)) for message in buffer]
    consumed = sum(struct.unpack(">I", raw[offset : offset + 4])[0] for offset in _message_offsets(raw))
    assert consumed == len(raw), "trailing bytes after the last event-stream message"
    return events


def _message_offsets(raw: bytes) -> list[int]:
    offsets, offset = [], 0
    while offset < len(raw):
        offsets.append(offset)
        offset += struct.unpack(">I", raw[offset : offset + 4])[0]
    return offsets


def bedrock_client(bedrock: BedrockStandin, secret_key: str = SECRET_KEY):
    return botocore.session.Session().create_client(
        "bedrock-runtime",
        region_name=REGION,
        endpoint_url=bedrock.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secret_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


# ---------------------------------------------------------------------------
# Anthropic


def test_anthropic_root_answers_head_and_get_with_empty_200(api):
    head = requests.head(api.url + "/", timeout=10)
    get = requests.get(api.url + "/", timeout=10)

    assert (head.status_code, head.content) == (200, b"")
    assert (get.status_code, get.content) == (200, b"")


def test_anthropic_json_reply_is_a_message_echoing_the_model(api):
    response = anthropic_post(api, messages_body(model="claude-opus-4-6"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    message = response.json()
    assert message["type"] == "message"
    assert message["role"] == "assistant"
    assert message["id"].startswith("msg_01")
    assert message["model"] == "claude-opus-4-6"
    assert message["content"] == [{"type": "text", "text": "Hello from the Anthropic stand-in."}]
    assert message["stop_reason"] == "end_turn"
    assert message["stop_sequence"] is None
    assert message["usage"]["input_tokens"] > 0 and message["usage"]["output_tokens"] > 0


def test_anthropic_reply_text_is_configurable(api):
    api.reply_text = "Configured reply."

    assert anthropic_post(api, messages_body()).json()["content"][0]["text"] == "Configured reply."


def test_anthropic_stream_reply_is_server_sent_events_in_anthropic_order(api):
    response = anthropic_post(api, messages_body(model="claude-sonnet-4-6", stream=True))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[2:-3]) == {"content_block_delta"} and len(names[2:-3]) > 1
    assert all(data["type"] == name for name, data in events)

    start = events[0][1]["message"]
    assert start["model"] == "claude-sonnet-4-6"
    assert start["content"] == [] and start["stop_reason"] is None
    assert events[1][1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert all(d["type"] == "text_delta" for d in deltas)
    assert "".join(d["text"] for d in deltas) == "Hello from the Anthropic stand-in."
    message_delta = events[-2][1]
    assert message_delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert message_delta["usage"]["output_tokens"] > 0


def test_anthropic_count_tokens_returns_input_tokens(api):
    response = anthropic_post(
        api,
        {"model": "claude-opus-4-6", "messages": [{"role": "user", "content": "Count these tokens."}]},
        path="/v1/messages/count_tokens",
    )

    assert response.status_code == 200
    assert list(response.json()) == ["input_tokens"]
    assert response.json()["input_tokens"] > 0


def test_anthropic_records_method_path_lowercase_headers_and_json_body(api):
    body = messages_body()
    anthropic_post(api, body, path="/v1/messages?beta=true")

    (record,) = api.requests
    assert record["method"] == "POST"
    assert record["path"] == "/v1/messages"
    assert record["query"] == "beta=true"
    assert record["headers"]["x-api-key"] == "sk-ant-test"
    assert record["headers"]["anthropic-version"] == "2023-06-01"
    assert all(name == name.lower() for name in record["headers"])
    assert record["json"] == body
    assert json.loads(record["body"]) == body
    assert record["reply"] == "text" and record["stream"] is False


def test_anthropic_tool_call_answers_tool_use_then_text_after_tool_result(api):
    api.tool_call = TOOL_CALL

    first = anthropic_post(api, messages_body()).json()
    (tool_use,) = first["content"]
    assert first["stop_reason"] == "tool_use"
    assert tool_use["type"] == "tool_use"
    assert tool_use["id"].startswith("toolu_01")
    assert (tool_use["name"], tool_use["input"]) == ("Bash", {"command": "echo standin-tool-ok"})

    second = anthropic_post(api, messages_body(messages=tool_result_turns(tool_use))).json()
    assert second["stop_reason"] == "end_turn"
    assert second["content"] == [{"type": "text", "text": "Hello from the Anthropic stand-in."}]
    assert api.requests[1]["tool_results"] == [
        {"tool_use_id": tool_use["id"], "content": "standin-tool-ok\n", "is_error": False}
    ]
    assert [r["reply"] for r in api.requests] == ["tool_use", "text"]


def test_anthropic_tool_call_is_answered_only_once(api):
    api.tool_call = TOOL_CALL

    replies = [anthropic_post(api, messages_body()).json()["stop_reason"] for _ in range(2)]

    assert replies == ["tool_use", "end_turn"]


def test_anthropic_tool_call_filter_skips_requests_it_rejects(api):
    api.tool_call = TOOL_CALL
    api.tool_call_filter = lambda body: any(t.get("name") == "Bash" for t in body.get("tools", []))

    side_request = {"model": "claude-opus-4-6", "max_tokens": 32, "messages": [{"role": "user", "content": "title"}]}
    assert anthropic_post(api, side_request).json()["stop_reason"] == "end_turn"
    assert anthropic_post(api, messages_body()).json()["stop_reason"] == "tool_use"


def test_anthropic_streamed_tool_use_sends_input_json_deltas(api):
    api.tool_call = TOOL_CALL

    events = parse_sse(anthropic_post(api, messages_body(stream=True)).text)

    block = events[1][1]["content_block"]
    assert block["type"] == "tool_use" and block["name"] == "Bash" and block["input"] == {}
    assert block["id"].startswith("toolu_01")
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert all(d["type"] == "input_json_delta" for d in deltas)
    assert json.loads("".join(d["partial_json"] for d in deltas)) == {"command": "echo standin-tool-ok"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert events[-1][0] == "message_stop"

    tool_use = {"type": "tool_use", "id": block["id"], "name": "Bash", "input": {"command": "echo standin-tool-ok"}}
    after = parse_sse(anthropic_post(api, messages_body(stream=True, messages=tool_result_turns(tool_use))).text)
    text = "".join(d["delta"]["text"] for name, d in after if name == "content_block_delta")
    assert text == "Hello from the Anthropic stand-in."
    assert after[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_anthropic_unknown_path_returns_404_in_anthropic_error_shape(api):
    response = requests.post(api.url + "/v1/complete", json={}, timeout=10)

    assert response.status_code == 404
    error = response.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "not_found_error"
    assert isinstance(error["error"]["message"], str)


def test_anthropic_request_log_can_be_waited_on(api):
    anthropic_post(api, messages_body())

    assert len(api.requests.wait_for(1, lambda r: r["path"] == "/v1/messages", timeout=1)) == 1
    with pytest.raises(TimeoutError):
        api.requests.wait_for(2, timeout=0.1)


# ---------------------------------------------------------------------------
# Bedrock


def test_bedrock_accepts_botocore_sigv4_signed_converse(bedrock):
    response = sigv4_post(model_url(bedrock, QWEN), converse_body())

    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["output"]["message"] == {
        "role": "assistant",
        "content": [{"text": "Hello from the Bedrock stand-in."}],
    }
    assert reply["stopReason"] == "end_turn"
    usage = reply["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"] > 0
    assert "latencyMs" in reply["metrics"]
    (record,) = bedrock.requests
    assert record["sigv4_valid"] is True and record["sigv4_error"] is None
    assert record["model_id"] == QWEN
    assert record["operation"] == "converse"
    assert record["headers"]["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")


def test_bedrock_decodes_percent_encoded_model_id_and_verifies_its_double_encoded_signature(bedrock):
    url = model_url(bedrock, OPUS_PROFILE)
    assert "%3A" in url

    response = sigv4_post(url, converse_body())

    assert response.status_code == 200, response.text
    (record,) = bedrock.requests
    assert record["path"] == "/model/us.anthropic.claude-opus-4-6-v1%3A0/converse"
    assert record["model_id"] == OPUS_PROFILE
    assert record["sigv4_valid"] is True


def test_bedrock_rejects_wrong_secret_with_403(bedrock):
    response = sigv4_post(model_url(bedrock, QWEN), converse_body(), secret_key="not-the-secret")

    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "UnrecognizedClientException"
    assert response.json() == {"message": "The security token included in the request is invalid."}
    assert bedrock.requests[0]["sigv4_valid"] is False


def test_bedrock_rejects_wrong_access_key_and_wrong_region_with_403(bedrock):
    wrong_key = sigv4_post(model_url(bedrock, QWEN), converse_body(), access_key="AKIAOTHERKEY00000000")
    wrong_region = sigv4_post(model_url(bedrock, QWEN), converse_body(), region="us-east-1")

    assert (wrong_key.status_code, wrong_region.status_code) == (403, 403)
    assert [r["sigv4_valid"] for r in bedrock.requests] == [False, False]


def test_bedrock_rejects_bearer_token_with_403(bedrock):
    response = requests.post(
        model_url(bedrock, QWEN),
        json=converse_body(),
        headers={"Authorization": "Bearer sk-ant-oat01-fake"},
        timeout=10,
    )

    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "UnrecognizedClientException"
    assert response.json() == {"message": "The security token included in the request is invalid."}
    assert bedrock.requests[0]["sigv4_valid"] is False


def test_bedrock_rejects_unsigned_request_with_403(bedrock):
    response = requests.post(model_url(bedrock, QWEN), json=converse_body(), timeout=10)

    assert response.status_code == 403
    assert bedrock.requests[0]["sigv4_valid"] is False


def test_bedrock_rejects_body_changed_after_signing_with_403(bedrock):
    data = json.dumps(converse_body()).encode()
    request = AWSRequest(
        method="POST", url=model_url(bedrock, QWEN), data=data, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "bedrock", REGION).add_auth(request)
    prepared = request.prepare()

    tampered = data.replace(b"hello", b"HELLO")
    response = requests.post(prepared.url, data=tampered, headers=dict(prepared.headers), timeout=10)

    assert response.status_code == 403
    assert bedrock.requests[0]["sigv4_valid"] is False


def test_bedrock_converse_stream_decodes_with_botocore_and_crcs_validate(bedrock):
    response = sigv4_post(model_url(bedrock, QWEN, "converse-stream"), converse_body())

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    raw = response.content
    for offset in _message_offsets(raw):  # both CRCs, computed independently of botocore
        total, headers_length, prelude_crc = struct.unpack(">III", raw[offset : offset + 12])
        assert prelude_crc == binascii.crc32(raw[offset : offset + 8])
        (message_crc,) = struct.unpack(">I", raw[offset + total - 4 : offset + total])
        assert message_crc == binascii.crc32(raw[offset : offset + total - 4])
    events = decode_event_stream(raw)
    assert [h[":event-type"] for h, _ in events][:1] == ["messageStart"]
    assert [h[":event-type"] for h, _ in events][-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert all(h[":content-type"] == "application/json" and h[":message-type"] == "event" for h, _ in events)
    assert events[0][1]["role"] == "assistant"
    deltas = [p for h, p in events if h[":event-type"] == "contentBlockDelta"]
    assert len(deltas) > 1
    assert "".join(p["delta"]["text"] for p in deltas) == "Hello from the Bedrock stand-in."
    assert events[-2][1]["stopReason"] == "end_turn"
    assert events[-1][1]["usage"]["outputTokens"] > 0
    assert bedrock.requests[0]["operation"] == "converse-stream"


def test_bedrock_converse_stream_events_parse_against_the_botocore_service_model(bedrock):
    service = botocore.session.Session().get_service_model("bedrock-runtime")
    stream_shape = service.operation_model("ConverseStream").output_shape.members["stream"]
    raw = sigv4_post(model_url(bedrock, QWEN, "converse-stream"), converse_body()).content

    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    parsed = [EventStreamJSONParser().parse(m.to_response_dict(), stream_shape) for m in buffer]

    assert [next(iter(p)) for p in parsed][0] == "messageStart"
    assert parsed[-1]["metadata"]["usage"]["totalTokens"] > 0
    assert parsed[-2]["messageStop"]["stopReason"] == "end_turn"


def test_bedrock_output_limit_gives_400_validation_exception(bedrock):
    bedrock.output_limit = 8192

    response = sigv4_post(model_url(bedrock, QWEN), converse_body(max_tokens=32000))
    stream_response = sigv4_post(model_url(bedrock, QWEN, "converse-stream"), converse_body(max_tokens=32000))
    at_limit = sigv4_post(model_url(bedrock, QWEN), converse_body(max_tokens=8192))

    for rejected in (response, stream_response):
        assert rejected.status_code == 400
        assert rejected.headers["x-amzn-ErrorType"] == (
            "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"
        )
        assert rejected.json() == {"message": "The maximum tokens you requested exceeds the model limit of 8192"}
    assert at_limit.status_code == 200


def test_bedrock_output_limit_is_a_constructor_argument():
    with BedrockStandin(access_key=ACCESS_KEY, secret_key=SECRET_KEY, output_limit=100) as bedrock:
        response = sigv4_post(model_url(bedrock, QWEN), converse_body(max_tokens=101))

    assert response.status_code == 400
    assert response.json()["message"] == "The maximum tokens you requested exceeds the model limit of 100"


def test_bedrock_tool_call_answers_tool_use_then_text_after_tool_result(bedrock):
    bedrock.tool_call = TOOL_CALL

    first = sigv4_post(model_url(bedrock, QWEN), converse_body()).json()
    (block,) = first["output"]["message"]["content"]
    tool_use = block["toolUse"]
    assert first["stopReason"] == "tool_use"
    assert tool_use["toolUseId"].startswith("tooluse_")
    assert (tool_use["name"], tool_use["input"]) == ("Bash", {"command": "echo standin-tool-ok"})

    messages = [
        {"role": "user", "content": [{"text": "Run the command."}]},
        {"role": "assistant", "content": [block]},
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": tool_use["toolUseId"],
                        "content": [{"text": "standin-tool-ok\n"}],
                        "status": "success",
                    }
                }
            ],
        },
    ]
    second = sigv4_post(model_url(bedrock, QWEN), converse_body(messages=messages)).json()
    assert second["stopReason"] == "end_turn"
    assert second["output"]["message"]["content"] == [{"text": "Hello from the Bedrock stand-in."}]
    assert bedrock.requests[1]["tool_results"] == [
        {"tool_use_id": tool_use["toolUseId"], "content": "standin-tool-ok\n", "status": "success"}
    ]


def test_bedrock_streamed_tool_use_sends_start_delta_stop_and_tool_use_stop_reason(bedrock):
    bedrock.tool_call = TOOL_CALL

    events = decode_event_stream(sigv4_post(model_url(bedrock, QWEN, "converse-stream"), converse_body()).content)

    assert [h[":event-type"] for h, _ in events][:2] == ["messageStart", "contentBlockStart"]
    assert [h[":event-type"] for h, _ in events][-3:] == ["contentBlockStop", "messageStop", "metadata"]
    start = events[1][1]["start"]["toolUse"]
    assert start["name"] == "Bash" and start["toolUseId"].startswith("tooluse_")
    deltas = [p["delta"]["toolUse"]["input"] for h, p in events if h[":event-type"] == "contentBlockDelta"]
    assert all(isinstance(d, str) for d in deltas)
    assert json.loads("".join(deltas)) == {"command": "echo standin-tool-ok"}
    assert events[-2][1]["stopReason"] == "tool_use"
    assert events[-1][1]["usage"]["totalTokens"] > 0

    again = decode_event_stream(sigv4_post(model_url(bedrock, QWEN, "converse-stream"), converse_body()).content)
    assert again[-2][1]["stopReason"] == "end_turn"


def test_bedrock_unknown_operation_returns_404_when_signed(bedrock):
    response = sigv4_post(f"{bedrock.url}/model/{QWEN}/invoke", {"prompt": "hi"})

    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert bedrock.requests[0]["sigv4_valid"] is True


def test_bedrock_works_with_the_real_botocore_client(bedrock):
    client = bedrock_client(bedrock)
    messages = [{"role": "user", "content": [{"text": "Say hello."}]}]

    reply = client.converse(modelId=OPUS_PROFILE, messages=messages)
    stream = client.converse_stream(modelId=QWEN, messages=messages)["stream"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in stream if "contentBlockDelta" in e)

    assert reply["output"]["message"]["content"] == [{"text": "Hello from the Bedrock stand-in."}]
    assert text == "Hello from the Bedrock stand-in."
    assert [r["model_id"] for r in bedrock.requests] == [OPUS_PROFILE, QWEN]
    assert all(r["sigv4_valid"] for r in bedrock.requests)


def test_bedrock_errors_reach_the_botocore_client_as_aws_error_codes(bedrock):
    bedrock.output_limit = 100
    messages = [{"role": "user", "content": [{"text": "Say hello."}]}]

    with pytest.raises(ClientError) as too_long:
        bedrock_client(bedrock).converse(modelId=QWEN, messages=messages, inferenceConfig={"maxTokens": 200})
    with pytest.raises(ClientError) as bad_secret:
        bedrock_client(bedrock, secret_key="wrong").converse(modelId=QWEN, messages=messages)

    assert too_long.value.response["Error"]["Code"] == "ValidationException"
    assert too_long.value.response["Error"]["Message"] == (
        "The maximum tokens you requested exceeds the model limit of 100"
    )
    assert bad_secret.value.response["Error"]["Code"] == "UnrecognizedClientException"
