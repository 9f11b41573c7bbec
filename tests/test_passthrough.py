"""The subscription tiers pass straight through (Anthropic's gateway protocol reference): the
real Claude Code run twice per case, once straight at the Anthropic stand-in and once through
the deployed launcher and the real LiteLLM (tests/support/end_to_end.py's world: one sandbox HOME,
one proxy), the stand-in answering as Anthropic answers a subscription. Both runs must read the
same, cost Anthropic no more requests, and send Anthropic the same request but for the proxy key.

Plain HTTP checks beside them send Claude Code's own request through the proxy, streaming and
not, and compare the answer with the stand-in's direct one: status, headers, body.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
from dataclasses import dataclass

import pytest

from tests.claude_cli import claude_cli  # noqa: F401  (fixture of e2e)
from tests.standins.anthropic import ERRORS, plan_standing
from tests.support.end_to_end import (  # noqa: F401  (e2e is the module's world fixture)
    ANTHROPIC_REPLY,
    BEDROCK_REPLY,
    OAUTH_TOKEN,
    Run,
    e2e,
    messages_posts,
)

# Each case: the stand-in's answer (a key of its ERRORS, or None for a reply) and whether Claude
# Code keeps its own retries (off where it would back off for minutes: 529, plain 429s).
CASES = {
    "reply at 92% of the plan": (None, True),
    "plan_limit": ("plan_limit", True),
    "overloaded": ("overloaded", False),
    "token_expired": ("token_expired", True),
    "prompt_too_long": ("prompt_too_long", True),
    "third_party_refused": ("invalid_request", False),
    "oauth_not_allowed": ("permission", True),
}
RESULT_FIELDS = ("is_error", "api_error_status", "api_error_type", "api_error", "result")
# Per request, what the two runs of one Claude Code differ in.
SESSION_HEADER = "x-claude-code-session-id"
# What an HTTP hop may change (RFC 9110 7.6.1), plus the proxy's own key.
HOP_BY_HOP = {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
              "proxy-authorization", "proxy-authenticate"}
PROXY_KEY = "x-litellm-api-key"


@dataclass
class Pair:
    through: Run  # openclaude, with what each side received
    direct: dict  # Claude Code's JSON result straight at the stand-in
    direct_requests: list  # what the stand-in received from that run


def result_of(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, stdout
    return json.loads(lines[-1])


def direct_run(e2e, through: Run) -> tuple:
    """The same Claude Code with the environment and arguments the launcher gave it, pointed
    straight at the stand-in, without the proxy key header."""
    env = {name: value for name, value in through.claude_env.items() if name != "ANTHROPIC_CUSTOM_HEADERS"}
    env["ANTHROPIC_BASE_URL"] = e2e.api.url
    # The launcher's --settings layer (the proxy's URL and key; its env is in claude_env) stays out.
    args = through.claude_args[2:] if through.claude_args[:1] == ["--settings"] else through.claude_args
    mark = len(e2e.api.requests.snapshot())
    done = subprocess.run([str(e2e.claude_dir / "claude"), *args], cwd=e2e.root / "project",
                          env=env, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert done.stdout.strip(), f"direct claude: exit {done.returncode}\n{done.stderr[-2000:]}"
    return result_of(done.stdout), e2e.api.requests.snapshot()[mark:]


@pytest.fixture(scope="module")
def pairs(e2e):
    pairs = {}
    for label, (failure, client_retries) in CASES.items():
        env = {} if client_retries else {"CLAUDE_CODE_MAX_RETRIES": "0"}
        e2e.api.standing = plan_standing(five_hour=0.92)
        e2e.api.fail_with = failure
        try:
            through = e2e.claude(label, "-p", "say hi", "--model", "opus", "--output-format", "json",
                                 oauth=True, env=env)
            direct, requests = direct_run(e2e, through)
        finally:
            e2e.api.fail_with = None
            e2e.api.standing = None
        pairs[label] = Pair(through, direct, requests)
    return pairs


def comparable(result: dict, base_url: str) -> dict:
    """A result's fields Claude Code shows, with the base URL it names (a 529's advice) masked."""
    host = base_url.split("://", 1)[1]
    return {field: re.sub(re.escape(host), "BASE", str(result.get(field))) for field in RESULT_FIELDS}


@pytest.mark.parametrize("label", CASES)
def test_claude_code_reads_the_same_answer_through_the_proxy(pairs, e2e, label):
    pair = pairs[label]
    through = result_of(pair.through.stdout)
    assert comparable(through, f"http://127.0.0.1:{e2e.tap.port}") == comparable(pair.direct, e2e.api.url)
    if CASES[label][0] is None:
        assert ANTHROPIC_REPLY in through["result"], through
    else:
        assert through["is_error"] and through["api_error_status"], through


@pytest.mark.parametrize("label", CASES)
def test_anthropic_gets_no_more_requests_through_the_proxy(pairs, label):
    pair = pairs[label]
    through, direct = messages_posts(pair.through), [r for r in pair.direct_requests if r["path"] == "/v1/messages"]
    assert direct and len(through) == len(direct), (len(through), len(direct))
    assert pair.through.bedrock == []


def normalised(record: dict) -> tuple:
    """A request's Host, its other headers (lowercase names, in order, less hop-by-hop ones) and
    its body, with its run's session id masked. (The proxy's HTTP client writes Host first, as
    RFC 9112 recommends; Claude Code writes it near the end.)"""
    session = record["headers"].get(SESSION_HEADER, "")
    headers = [(name.lower(), value.replace(session, "SESSION") if session else value)
               for name, value in record["raw_headers"] if name.lower() not in HOP_BY_HOP | {"host"}]
    body = record["body"].replace(session.encode(), b"SESSION") if session else record["body"]
    return record["headers"]["host"], headers, body


@pytest.mark.parametrize("label", CASES)
def test_anthropic_receives_the_direct_request_but_for_the_proxy_key(pairs, label):
    pair = pairs[label]
    through = [normalised(r) for r in messages_posts(pair.through)]
    direct = [normalised(r) for r in pair.direct_requests if r["path"] == "/v1/messages"]
    assert through and through == direct


def test_the_body_claude_code_sent_the_proxy_reaches_anthropic_byte_for_byte(pairs):
    run = pairs["reply at 92% of the plan"].through
    sent = [r for r in run.to_proxy if r["target"].split("?")[0] == "/v1/messages"]
    received = messages_posts(run)
    assert [r["target"] for r in sent] == [r["target"] for r in received]
    assert [r["body"] for r in sent] == [r["body"] for r in received]
    for to_proxy, at_anthropic in zip(sent, received):
        assert PROXY_KEY in to_proxy["headers"] and PROXY_KEY not in at_anthropic["headers"]
        # Host names the proxy there, the stand-in here: the one header a hop must change.
        expected = {n: v for n, v in to_proxy["headers"].items() if n not in HOP_BY_HOP | {PROXY_KEY, "host"}}
        assert {n: v for n, v in at_anthropic["headers"].items() if n not in HOP_BY_HOP | {"host"}} == expected
        assert at_anthropic["headers"]["authorization"] == f"Bearer {OAUTH_TOKEN}"


def test_one_usage_line_per_request_anthropic_received(pairs, e2e):
    """Before the plain HTTP checks below add their own."""
    lines = [line.split("\t") for line in (e2e.home / ".litellm/usage.tsv").read_text().splitlines()]
    received = [r for pair in pairs.values() for r in messages_posts(pair.through)]
    recorded = [fields for fields in lines if fields[2].startswith("anthropic/")]
    assert len(recorded) == len(received)
    answered = sorted(ERRORS[r["failed_with"]][0] if r.get("failed_with") else 200 for r in received)
    assert sorted(int(fields[3]) for fields in recorded) == answered
    assert {fields[4] for fields in recorded} >= {"rate_limit", "overloaded", "auth", "bad_request",
                                                  "third_party_refused", "oauth_not_allowed"}


def test_usage_shows_the_plans_standing_from_anthropics_last_headers(pairs, e2e):
    done = subprocess.run([str(e2e.alias), "--usage", "--json"], env=e2e.env(oauth=False),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)["plan"]
    # The last Claude Code run's answer (before the plain HTTP checks below send their own).
    assert plan["five_hour"]["utilization"] == 0.92 and plan["seven_day"]["utilization"] == 0.17
    assert plan["representative_claim"] == "five_hour"
    kept = (e2e.home / ".litellm/plan.json")
    assert kept.stat().st_mode & 0o777 == 0o600
    assert OAUTH_TOKEN not in kept.read_text() and e2e.master_key() not in kept.read_text()
    text = subprocess.run([str(e2e.alias), "--usage"], env=e2e.env(oauth=False), capture_output=True,
                          text=True, timeout=60).stdout
    assert "5-hour window: 92% used" in text and "7-day window: 17% used" in text, text
    assert "oauth_not_allowed:" in text and "third_party_refused:" in text, text


# --- the answer, byte for byte --------------------------------------------------------------------


def exchange(port: int, body: dict, headers: dict) -> tuple:
    """(status, [(name, value)] less Date and hop-by-hop ones, body) of one POST /v1/messages."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/v1/messages?beta=true", body=json.dumps(body).encode(), headers=headers)
        answer = connection.getresponse()
        # A value's surrounding whitespace is not part of it (RFC 9110 5.5).
        kept = [(name.lower(), value.strip()) for name, value in answer.getheaders()
                if name.lower() not in HOP_BY_HOP | {"date", "content-length"}]
        return answer.status, kept, answer.read()
    finally:
        connection.close()


def masked(text: bytes) -> bytes:
    """Ids the stand-in draws anew per answer."""
    return re.sub(rb"(msg|req)_01[A-Za-z0-9]{22}", rb"\1_01ID", text)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "event-stream"])
@pytest.mark.parametrize("failure", [None, "plan_limit", "overloaded", "token_expired", "prompt_too_long"])
def test_the_answer_reaches_the_client_as_anthropic_sent_it(e2e, pairs, failure, stream):
    """Through the proxy the Claude Code runs started (``pairs``)."""
    body = {"model": "claude-opus-4-6", "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": "say hi"}]}
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01",
               "anthropic-beta": "oauth-2025-04-20", "authorization": f"Bearer {OAUTH_TOKEN}"}
    e2e.api.standing = plan_standing()
    e2e.api.fail_with = failure
    try:
        direct = exchange(e2e.api.port, body, headers)
        through = exchange(e2e.port, body, {**headers, PROXY_KEY: f"Bearer {e2e.master_key()}"})
    finally:
        e2e.api.fail_with = None
        e2e.api.standing = None
    assert through[0] == direct[0]
    assert [(n, masked(v.encode())) for n, v in through[1]] == [(n, masked(v.encode())) for n, v in direct[1]]
    assert masked(through[2]) == masked(direct[2])


# --- what the proxy's log shows ------------------------------------------------------------------


def test_no_retry_cooldown_or_litellm_wrapping_in_the_proxy_log(pairs, e2e):
    log = (e2e.home / ".litellm/proxy.log").read_text(errors="replace")
    assert "No deployments available" not in log
    assert "litellm.RateLimitError" not in log and "AnthropicException" not in log
    assert BEDROCK_REPLY not in "".join(pair.through.stdout for pair in pairs.values())
