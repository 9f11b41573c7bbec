"""What must never cross, end to end: the real Claude Code through the deployed launcher and
the real LiteLLM (tests/support/end_to_end.py's world: one sandbox HOME, one proxy for the module).

* With ``fallback_to_bedrock=true``, only the reasons docs/models.md lists (429, 529/5xx, the
  OAuth policy refusal) reach Bedrock. Every other answer Anthropic gives a subscription request
  reaches Claude Code as Anthropic gave it, compared with the same Claude Code talking to the
  Anthropic stand-in directly (tests/test_guards.py: every kind, as a unit).
* The proxy started from a shell full of the user's Anthropic settings holds none of them
  (tests/test_proxy_environment.py: each one, with the fake proxy).
* openClaude's count_tokens route (files/openclaude_count_tokens.py) asks for the proxy's key
  like every LiteLLM route: another local program cannot spend the user's token through it.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.claude_cli import claude_cli  # noqa: F401  (fixture of e2e)
from tests.standins.anthropic import ERRORS
from tests.support.end_to_end import (  # noqa: F401  (e2e is the module's world fixture)
    BEDROCK_REPLY,
    CLAUDE_RUN_TIMEOUT,
    OAUTH_TOKEN,
    Run,
    e2e,
    messages_posts,
)
from tests.support.processes import command_line
from tests.test_proxy_environment import USER_SHELL

# Anthropic's error types that are not a reason to fall back (docs/models.md): a bad request, a
# prompt over the window (Claude Code compacts on it), a revoked or expired sign-in, an
# organisation's refusal, a retired model id, a request too large.
NOT_REASONS = ("invalid_request", "prompt_too_long", "token_expired", "permission", "not_found",
               "request_too_large")
# Claude Code retries some answers itself; one is enough to compare.
NO_CLIENT_RETRIES = {"CLAUDE_CODE_MAX_RETRIES": "0"}


@dataclass
class Refusal:
    proxied: Run
    direct: subprocess.CompletedProcess
    message: str  # the message in Anthropic's answer
    log: str  # what the proxy logged during the proxied run
    usage: list  # usage.tsv lines the proxied run added

    @property
    def shown_direct(self) -> str:
        """What Claude Code printed talking to the Anthropic stand-in itself."""
        return self.direct.stdout + self.direct.stderr

    @property
    def shown_proxied(self) -> str:
        """What Claude Code printed through openclaude."""
        return self.proxied.stdout + self.proxied.stderr

    @property
    def both(self) -> str:
        return f"direct:\n{self.shown_direct}\nthrough openclaude:\n{self.shown_proxied}"

    def headline(self, shown: str) -> str:
        """The first line Claude Code printed, up to where the request's own details begin (the
        model id, token counts, Anthropic's message)."""
        first = shown.strip().splitlines()[0] if shown.strip() else ""
        return re.split(r"[(~·]|" + re.escape(self.message), first)[0].strip()


def direct_claude(e2e, claude_cli, failure: str) -> subprocess.CompletedProcess:  # noqa: F811
    """The same Claude Code talking to the Anthropic stand-in itself, no proxy."""
    config = e2e.root / "direct-config"
    config.mkdir(exist_ok=True)
    env = {**e2e.env(oauth=True), **NO_CLIENT_RETRIES, "ANTHROPIC_BASE_URL": e2e.api.url,
           "CLAUDE_CONFIG_DIR": str(config)}
    e2e.api.fail_with = failure
    try:
        return subprocess.run([str(claude_cli / "claude"), "-p", "say hi", "--model", "opus"],
                              cwd=e2e.root / "project", env=env, capture_output=True, text=True,
                              timeout=CLAUDE_RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    finally:
        e2e.api.fail_with = None


def tail_from(path, offset: int) -> str:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode(errors="replace")


def size(path) -> int:
    return path.stat().st_size if path.exists() else 0


@pytest.fixture(scope="module")
def refusals(e2e, claude_cli):  # noqa: F811
    e2e.data["fallback_to_bedrock"] = True
    deployed = e2e.pyinfra("deploy.py", oauth=False)
    assert deployed.returncode == 0, deployed.output
    log, usage = e2e.home / ".litellm/proxy.log", e2e.home / ".litellm/usage.tsv"
    # The launch that starts the proxy comes from a shell with the user's Anthropic settings.
    shell = {name: value for name, value in USER_SHELL.items() if name != "CLAUDE_CODE_OAUTH_TOKEN"}
    warm = e2e.claude("warm", "-p", "say hi", "--model", "opus", oauth=True, env=shell)
    assert warm.returncode == 0, warm.output

    answers = {}  # failure -> Refusal, and "warm" -> the Run that started the proxy
    for failure in NOT_REASONS:
        direct = direct_claude(e2e, claude_cli, failure)
        log_offset, usage_offset = size(log), size(usage)
        e2e.api.fail_with = failure
        try:
            proxied = e2e.claude(failure, "-p", "say hi", "--model", "opus", oauth=True, env=NO_CLIENT_RETRIES)
        finally:
            e2e.api.fail_with = None
        answers[failure] = Refusal(proxied, direct, ERRORS[failure][2], tail_from(log, log_offset),
                                   tail_from(usage, usage_offset).splitlines())
    answers["warm"] = warm
    return answers


@pytest.mark.parametrize("failure", NOT_REASONS)
def test_anthropics_refusal_reaches_claude_code_and_never_bedrock(refusals, failure):
    answer = refusals[failure]
    run = answer.proxied
    assert run.returncode != 0, run.output
    assert BEDROCK_REPLY not in run.stdout, run.output
    posts = messages_posts(run)
    assert posts and {r.get("failed_with") for r in posts} == {failure}, run.output
    assert run.bedrock == [], [r["path"] for r in run.bedrock]


@pytest.mark.parametrize("failure", NOT_REASONS)
def test_claude_code_gets_anthropics_status_and_message(refusals, failure):
    answer = refusals[failure]
    assert answer.direct.returncode != 0 and answer.headline(answer.shown_direct), answer.shown_direct
    assert answer.shown_proxied.strip().startswith(answer.headline(answer.shown_direct)), answer.both
    if answer.message in answer.shown_direct:
        assert answer.message in answer.shown_proxied, answer.shown_proxied


@pytest.mark.parametrize("failure", NOT_REASONS)
def test_claude_code_shows_the_error_it_shows_without_the_proxy(refusals, failure):
    answer = refusals[failure]
    assert answer.headline(answer.shown_proxied) == answer.headline(answer.shown_direct), answer.both


@pytest.mark.parametrize("failure", NOT_REASONS)
def test_the_proxy_log_and_usage_record_say_it_did_not_fall_back(refusals, failure):
    answer = refusals[failure]
    assert "not falling back to Bedrock" in answer.log, answer.log[-3000:]
    assert "fell back to Bedrock" not in answer.log, answer.log[-3000:]
    records = [line.split("\t") for line in answer.usage]
    assert records, "the refused request is recorded"
    for record in records:
        group, upstream, error, fallback = record[1], record[2], record[4], record[8]
        assert (group, upstream, fallback) == ("claude-opus-4-6", "anthropic/claude-opus-4-6", ""), record
        assert error, record


def test_the_real_proxy_holds_none_of_the_users_anthropic_settings(refusals, e2e):
    pid = refusals["warm"].proxy_pid  # the proxy that launch started serves the whole module
    assert pid and str(e2e.home / ".litellm/config.yaml") in command_line(pid)
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    names = sorted(item.split(b"=", 1)[0].decode() for item in environ if item)
    assert [name for name in names if name.startswith(("ANTHROPIC_", "CLAUDE_"))] == []
    for value in (*USER_SHELL.values(), OAUTH_TOKEN):
        if value != "1":
            assert not [item for item in environ if value.encode() in item], value
    assert "LITELLM_MASTER_KEY" in names and "AWS_ACCESS_KEY_ID" in names


def count_tokens(e2e, headers: dict) -> tuple:
    """(status, Anthropic requests) of one count_tokens request to the proxy."""
    mark = e2e.upstream_mark()
    body = json.dumps({"model": "claude-opus-4-6", "messages": [{"role": "user", "content": "hi"}]})
    connection = http.client.HTTPConnection("127.0.0.1", e2e.port, timeout=60)
    try:
        connection.request("POST", "/v1/messages/count_tokens", body=body, headers={
            "content-type": "application/json", "anthropic-version": "2023-06-01",
            "anthropic-beta": "oauth-2025-04-20", **headers})
        status = connection.getresponse().status
    finally:
        connection.close()
    return status, e2e.upstream_since(mark)[0]


def test_count_tokens_wants_the_proxy_key(refusals, e2e):
    token = {"authorization": f"Bearer {OAUTH_TOKEN}"}
    status, anthropic = count_tokens(e2e, {**token, "x-litellm-api-key": f"Bearer {e2e.master_key()}"})
    assert status == 200 and len(anthropic) == 1, (status, anthropic)
    for headers in (token, {}, {**token, "x-litellm-api-key": "Bearer sk-not-the-key"}):
        status, anthropic = count_tokens(e2e, headers)
        assert status >= 400 and anthropic == [], (headers.keys(), status)
