"""The pass-through's wire-level pieces (files/openclaude_relay.py), on their own."""

from __future__ import annotations

import asyncio
import gzip
import json

from files import openclaude_relay as relay

KEY = "sk-openclaude-master-0123456789"
CLAUDE_CODE = [(b"host", b"127.0.0.1:4000"), (b"accept", b"application/json"),
               (b"authorization", b"Bearer sk-ant-oat01-token"), (b"user-agent", b"claude-cli/2.1.332"),
               (b"x-litellm-api-key", f"Bearer {KEY}".encode()), (b"anthropic-beta", b"oauth-2025-04-20"),
               (b"connection", b"keep-alive, x-hop"), (b"x-hop", b"1"), (b"content-length", b"12")]


def test_upstream_headers_keep_claude_codes_in_order_less_the_proxy_key_and_hop_by_hop_ones():
    assert relay.upstream_headers(CLAUDE_CODE, b"api.anthropic.com", 12) == [
        (b"host", b"api.anthropic.com"), (b"accept", b"application/json"),
        (b"authorization", b"Bearer sk-ant-oat01-token"), (b"user-agent", b"claude-cli/2.1.332"),
        (b"anthropic-beta", b"oauth-2025-04-20"), (b"content-length", b"12")]
    assert relay.upstream_headers([(b"accept", b"*/*")], b"h", 3) == [
        (b"accept", b"*/*"), (b"host", b"h"), (b"content-length", b"3")]


def test_no_request_carrying_the_master_key_elsewhere_goes_upstream():
    assert not relay.carries_master_key(CLAUDE_CODE, KEY)
    assert relay.carries_master_key([*CLAUDE_CODE, (b"x-api-key", KEY.encode())], KEY)


def test_answer_headers_pass_all_but_date_and_hop_by_hop_ones_lowercased():
    answer = [(b"Date", b"x"), (b"Content-Type", b"application/json"), (b"request-id", b"req_1"),
              (b"Connection", b"keep-alive"), (b"retry-after", b"17"), (b"Content-Length", b"5")]
    assert relay.answer_headers(answer) == [(b"content-type", b"application/json"), (b"request-id", b"req_1"),
                                            (b"retry-after", b"17"), (b"content-length", b"5")]


def test_the_body_passes_as_sent_unless_the_tier_names_another_upstream_model():
    body = b'{"model": "claude-opus-4-6",  "max_tokens": 5}'
    assert relay.with_model(body, "claude-opus-4-6", "claude-opus-4-6") is body
    assert json.loads(relay.with_model(body, "opus", "claude-opus-4-6"))["model"] == "claude-opus-4-6"


def test_a_gzipped_error_is_read_decoded():
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    assert relay.error_of(relay.decoded(gzip.compress(body), "gzip"))[1] == "Overloaded"
    assert relay.decoded(body, "") == body and relay.decoded(b"x", "gzip") == b"x"


def test_error_of_reads_anthropics_envelope_and_nothing_else():
    assert relay.error_of(b'{"type":"error","error":{"type":"rate_limit_error","message":"m"}}') == (
        "rate_limit_error", "m")
    assert relay.error_of(b"<html>") == ("", "") and relay.error_of(b"[1]") == ("", "")


def events(*data: dict) -> bytes:
    return b"".join(f"event: {d['type']}\ndata: {json.dumps(d)}\n\n".encode() for d in data)


STREAM = events({"type": "message_start", "message": {"usage": {"input_tokens": 120, "output_tokens": 1}}},
                {"type": "content_block_delta", "delta": {"text": "usage"}},
                {"type": "message_delta", "usage": {"output_tokens": 42}})


def test_tokens_are_read_from_an_event_stream_cut_anywhere():
    counter = relay.TokenCounter(streamed=True)
    for start in range(0, len(STREAM), 7):
        counter.feed(STREAM[start:start + 7])
    counter.finish()
    assert (counter.input, counter.output) == (120, 42)


def test_tokens_are_read_from_a_json_answer_gzipped_or_not():
    answer = json.dumps({"type": "message", "usage": {"input_tokens": 9, "output_tokens": 3}}).encode()
    for encoding, body in (("", answer), ("gzip", gzip.compress(answer))):
        counter = relay.TokenCounter(streamed=False, encoding=encoding)
        counter.feed(body[:10])
        counter.feed(body[10:])
        counter.finish()
        assert (counter.input, counter.output) == (9, 3), encoding
    unreadable = relay.TokenCounter(streamed=False, encoding="br")
    unreadable.feed(b"\x8b\x00")
    unreadable.finish()
    assert (unreadable.input, unreadable.output) == (None, None)


def pinged(chunks: list, interval: float = 0.05) -> list:
    """What a client receives from a stream sending ``chunks`` as (delay, body), through a Pinger."""
    received = []

    async def send(message):
        received.append(message)

    async def stream():
        pinger = relay.Pinger(send, interval)
        await pinger({"type": "http.response.start", "status": 200,
                      "headers": [(b"content-type", b"text/event-stream; charset=utf-8")]})
        for delay, body in chunks:
            await asyncio.sleep(delay)
            await pinger({"type": "http.response.body", "body": body, "more_body": body != b""})
        await asyncio.sleep(3 * interval)
        pinger.stop()

    asyncio.run(stream())
    return [m.get("body") for m in received[1:]]


def test_a_silent_gap_between_events_gets_pings_and_a_busy_stream_none():
    start, stop = events({"type": "message_start"}), events({"type": "message_stop"})
    gap = pinged([(0, start), (0.3, stop), (0, b"")], interval=0.05)
    assert gap[0] == start and gap[-2:] == [stop, b""]
    assert set(gap[1:-2]) == {relay.PING} and 1 <= len(gap[1:-2]) <= 6, gap
    assert pinged([(0, start), (0, stop), (0, b"")], interval=1.0) == [start, stop, b""]


def test_no_ping_lands_inside_an_event_or_after_the_end():
    half = b'event: content_block_delta\ndata: {"type": "content'
    assert relay.PING not in pinged([(0, half), (0.15, b'_block_delta"}\n\n'), (0, b"")])
