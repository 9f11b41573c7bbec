"""The subscription, protected and never a dead end: the real Claude Code through the deployed
launcher and the real LiteLLM, with the stand-ins (tests/support/end_to_end.py's world, one
sandbox HOME and one proxy for the module, two proxy boots in all).

* ``session`` deploys with ``fallback_to_bedrock=true`` and settings that carry every credential
  that would displace the subscription (the shell carries them too), runs each tier, then makes
  the Anthropic stand-in answer 429, 529, the OAuth refusal and an expired-token 401; then
  re-deploys with the fallback off (the proxy restarts) and answers 429 again.
* ``openclaude --usage --json`` at the end is compared with what the stand-ins received.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass

import pytest

from tests.claude_cli import claude_cli  # noqa: F401  (fixture of e2e)
from tests.support.end_to_end import (  # noqa: F401  (e2e is the module's world fixture)
    ANTHROPIC_REPLY,
    AWS_ACCESS_KEY,
    BEDROCK_REPLY,
    OAUTH_TOKEN,
    Run,
    e2e,
    headers_and_body,
    messages_posts,
)

DISPLACING_SHELL = {
    "ANTHROPIC_AUTH_TOKEN": "gateway-token-from-the-shell",
    "ANTHROPIC_API_KEY": "sk-ant-api03-from-the-shell",
    "CLAUDE_CODE_USE_BEDROCK": "1",
    "CLAUDE_CODE_USE_VERTEX": "1",
    "CLAUDE_CODE_USE_FOUNDRY": "1",
}
DISPLACING_SETTINGS_ENV = {
    "ANTHROPIC_AUTH_TOKEN": "gateway-token-from-settings",
    "ANTHROPIC_API_KEY": "sk-ant-api03-from-settings",
    "CLAUDE_CODE_USE_BEDROCK": "1",
    "CLAUDE_CODE_USE_VERTEX": "1",
    "CLAUDE_CODE_USE_FOUNDRY": "1",
}
# Claude Code retries 429/529 itself (10 times by default); where the upstream error is expected
# one answer is enough.
NO_CLIENT_RETRIES = {"CLAUDE_CODE_MAX_RETRIES": "0"}
FALLBACKS = (("opus", "rate_limit"), ("sonnet", "overloaded"), ("opus", "oauth_refused"))
BEDROCK_IDS = {"opus": "us.anthropic.claude-opus-4-6-v1", "sonnet": "us.anthropic.claude-sonnet-4-6"}


@dataclass
class Session:
    runs: dict  # label -> Run
    helper_mark: object  # the file the settings' apiKeyHelper would create
    usage: dict  # openclaude --usage --json at the end
    usage_text: str  # openclaude --usage at the end
    log: str  # the proxy's log at the end


def prompt(e2e, label: str, tier: str, *, failure: str | None = None, env: dict | None = None) -> Run:
    e2e.api.fail_with = failure
    try:
        return e2e.claude(label, "-p", "say hi", "--model", tier, oauth=True,
                          env={**DISPLACING_SHELL, **(env or {})})
    finally:
        e2e.api.fail_with = None


@pytest.fixture(scope="module")
def session(e2e):
    helper = e2e.root / "api-key-helper"
    mark = e2e.root / "api-key-helper-ran"
    helper.write_text(f"#!/bin/sh\ntouch '{mark}'\necho sk-ant-api03-from-the-helper\n")
    helper.chmod(0o755)
    settings = e2e.home / ".claude/settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"apiKeyHelper": str(helper), "env": DISPLACING_SETTINGS_ENV}))
    e2e.data["fallback_to_bedrock"] = True
    deployed = e2e.pyinfra("deploy.py", oauth=False)
    assert deployed.returncode == 0, deployed.output

    runs = {}
    for tier in ("opus", "sonnet", "haiku"):
        runs[tier] = prompt(e2e, tier, tier)
    for tier, failure in FALLBACKS:
        runs[f"{failure} {tier}"] = prompt(e2e, f"{failure} {tier}", tier, failure=failure)
    runs["token_expired opus"] = prompt(e2e, "token_expired opus", "opus", failure="token_expired",
                                        env=NO_CLIENT_RETRIES)

    e2e.data["fallback_to_bedrock"] = False
    deployed = e2e.pyinfra("deploy.py", oauth=False)
    assert deployed.returncode == 0, deployed.output
    runs["off rate_limit opus"] = prompt(e2e, "off rate_limit opus", "opus", failure="rate_limit",
                                         env=NO_CLIENT_RETRIES)

    def usage(*options: str) -> str:
        done = subprocess.run([str(e2e.alias), "--usage", *options], env=e2e.env(oauth=False),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    log = (e2e.home / ".litellm/proxy.log").read_text(errors="replace")
    return Session(runs, mark, json.loads(usage("--json")), usage(), log)


def anthropic_posts(run: Run) -> list:
    return messages_posts(run)


# --- nothing displaces the subscription -----------------------------------------------------


def test_every_tier_answers_although_settings_and_shell_carry_other_credentials(session):
    for tier, reply in (("opus", ANTHROPIC_REPLY), ("sonnet", ANTHROPIC_REPLY), ("haiku", BEDROCK_REPLY)):
        run = session.runs[tier]
        assert run.returncode == 0, run.output
        assert reply in run.stdout, run.output


def test_every_anthropic_request_carries_the_subscription_token_and_nothing_else(session):
    for tier in ("opus", "sonnet"):
        run = session.runs[tier]
        assert anthropic_posts(run), run.output
        for record in run.anthropic:
            assert record["headers"].get("authorization") == f"Bearer {OAUTH_TOKEN}", record["headers"]
            assert "x-api-key" not in record["headers"]
            for value in (*DISPLACING_SHELL.values(), *DISPLACING_SETTINGS_ENV.values()):
                if value != "1":
                    assert value.encode() not in headers_and_body(record), value


def test_claude_gets_no_displacing_variable_and_the_helper_never_runs(session, e2e):
    for tier in ("opus", "sonnet", "haiku"):
        env = session.runs[tier].claude_env
        assert env, session.runs[tier].output
        # An empty value is unset to Claude Code (the launcher's --settings layer sets them so).
        assert not [name for name in DISPLACING_SHELL if env.get(name)], env
    derived = json.loads((e2e.home / ".openClaude/settings.json").read_text())
    assert "apiKeyHelper" not in derived
    assert not set(DISPLACING_SETTINGS_ENV) & set(derived["env"])
    assert not session.helper_mark.exists()


def test_the_launch_names_what_it_set_aside_without_values(session):
    run = session.runs["opus"]
    [line] = [line for line in run.stderr.splitlines() if "set aside" in line]
    for name in ("apiKeyHelper", "env.ANTHROPIC_AUTH_TOKEN", "env.CLAUDE_CODE_USE_FOUNDRY",
                 "(from the shell)", "ANTHROPIC_API_KEY"):
        assert name in line, line
    for value in (*DISPLACING_SHELL.values(), *DISPLACING_SETTINGS_ENV.values()):
        if value != "1":
            assert value not in run.stderr + run.stdout


def test_only_the_proxy_is_called(session):
    """Every request Claude Code made went through the tap to the proxy: none to a cloud."""
    for tier in ("opus", "sonnet", "haiku"):
        run = session.runs[tier]
        posts = [h for h in run.to_proxy if h["method"] == "POST"]
        assert posts and all(h["target"].startswith("/v1/messages") for h in posts), run.to_proxy


# --- Bedrock catches the subscription's limits -------------------------------------------------


@pytest.mark.parametrize(("tier", "failure"), FALLBACKS, ids=[f"{t}-{f}" for t, f in FALLBACKS])
def test_with_the_fallback_on_bedrock_answers_when_anthropic_refuses(session, tier, failure):
    run = session.runs[f"{failure} {tier}"]
    assert run.returncode == 0, run.output
    assert BEDROCK_REPLY in run.stdout, run.output
    assert [r.get("failed_with") for r in anthropic_posts(run)] == [failure] * len(anthropic_posts(run))
    converse = [r for r in run.bedrock if r.get("operation")]
    assert converse and {r["model_id"] for r in converse} == {BEDROCK_IDS[tier]}
    for record in converse:
        assert record["sigv4_valid"], record["sigv4_error"]
        assert f"Credential={AWS_ACCESS_KEY}/" in record["headers"]["authorization"]
        assert OAUTH_TOKEN.encode() not in headers_and_body(record)
        assert b"sk-ant-" not in headers_and_body(record)
        assert [h for h in record["headers"] if h.startswith("x-") and not h.startswith("x-amz-")] == []


def test_the_master_key_reaches_no_fallback(session, e2e):
    key = e2e.master_key().encode()
    for tier, failure in FALLBACKS:
        for record in session.runs[f"{failure} {tier}"].bedrock:
            assert key not in headers_and_body(record)


def test_the_proxy_log_says_which_tier_fell_back_and_why(session):
    assert "openClaude: claude-opus-4-6 fell back to Bedrock (rate_limit from Anthropic)" in session.log
    assert "openClaude: claude-sonnet-4-6 fell back to Bedrock (overloaded from Anthropic)" in session.log
    assert "openClaude: claude-opus-4-6 fell back to Bedrock (oauth_refused from Anthropic)" in session.log


def test_an_expired_token_reaches_claude_code_and_is_not_masked(session):
    run = session.runs["token_expired opus"]
    assert run.returncode != 0, run.output
    assert BEDROCK_REPLY not in run.stdout
    assert anthropic_posts(run) and run.bedrock == []
    assert "401" in run.stdout + run.stderr, run.output
    assert "not falling back to Bedrock" in session.log


def test_with_the_fallback_off_claude_code_shows_the_upstream_error(session):
    run = session.runs["off rate_limit opus"]
    assert run.returncode != 0, run.output
    assert run.bedrock == []
    # Anthropic's own message, as Claude Code shows it straight from Anthropic (test_passthrough).
    assert "API Error" in run.stdout and "exceed your account's rate limit" in run.stdout, run.output
    assert run.proxy_pid != session.runs["opus"].proxy_pid, "the config changed: a new proxy"


# --- where every request went ---------------------------------------------------------------------


def test_usage_counts_match_what_the_standins_received(session, e2e):
    received = Counter()
    for record in e2e.api.requests.matching("POST", "/v1/messages"):
        received[f"anthropic/{record['json']['model']}"] += 1
    for record in e2e.bedrock.requests.snapshot():
        if record.get("operation"):
            received[f"bedrock/converse/{record['model_id']}"] += 1
    recorded = Counter()
    for tier in session.usage["tiers"].values():
        recorded.update(tier["upstreams"])
    assert recorded == received


def test_usage_counts_fallbacks_errors_and_bedrock_cost_per_tier(session):
    opus, sonnet = session.usage["tiers"]["opus"], session.usage["tiers"]["sonnet"]
    assert opus["fallbacks"] == {"rate_limit": 1, "oauth_refused": 1}
    assert sonnet["fallbacks"] == {"overloaded": 1}
    assert opus["errors"]["rate_limit"] >= 2 and opus["errors"]["oauth_refused"] == 1
    assert opus["errors"]["auth"] >= 1 and sonnet["errors"]["overloaded"] >= 1
    assert opus["bedrock_cost_usd"] > 0 and session.usage["tiers"]["haiku"]["bedrock_cost_usd"] > 0
    assert opus["input_tokens"] > 0 and opus["output_tokens"] > 0
    assert "opus (claude-opus-4-6):" in session.usage_text


def test_the_fallback_sends_claude_on_bedrock_only_what_aws_documents(session):
    for tier, failure in FALLBACKS:
        run = session.runs[f"{failure} {tier}"]
        asked = [r["json"]["thinking"] for r in anthropic_posts(run) if r["json"].get("thinking")]
        assert any("display" in thinking for thinking in asked), asked  # what Claude Code sent
        for record in (r for r in run.bedrock if r.get("operation")):
            fields = record["json"].get("additionalModelRequestFields") or {}
            assert fields.get("thinking") and "display" not in fields["thinking"], fields
