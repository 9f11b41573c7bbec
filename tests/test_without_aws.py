"""The subscription without AWS (issue #23), end to end: the real LiteLLM release installed by
deploy.py, the real Claude Code CLI through the deployed launcher, the stand-ins on loopback
(tests/support/end_to_end.py's world), and a user with no AWS identity on this machine yet.

Opus answers; haiku fails at once with Claude Code showing which credentials are missing and
the fix, without any request reaching Bedrock; verify.py fails the AWS check with the fix; once
the user creates credentials, the next launch restarts the proxy and haiku answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.claude_cli import claude_cli  # noqa: F401  (fixture)
from tests.support.end_to_end import (
    ANTHROPIC_REPLY,
    AWS_ACCESS_KEY,
    AWS_SECRET_KEY,
    BEDROCK_REPLY,
    converse_posts,
    standin_world,
)
from tests.test_verify import checks


@dataclass
class Launches:
    opus: object
    haiku: object
    verify: object
    fixed: object


@pytest.fixture(scope="module")
def world(tmp_path_factory, uv_cache, claude_cli):  # noqa: F811
    """The end-to-end world whose user has no AWS identity: no ~/.aws, no AWS_* in the shell."""
    with standin_world(tmp_path_factory, uv_cache, claude_cli, name="no-aws", shell_aws=False) as world:
        yield world


@pytest.fixture(scope="module")
def launches(world):
    opus = world.claude("opus without AWS", "-p", "say hi", "--model", "opus", oauth=True)
    haiku = world.claude("haiku without AWS", "-p", "say hi", "--model", "haiku", oauth=True)
    verify = world.pyinfra("verify.py", oauth=True)
    (world.home / ".aws").mkdir()
    (world.home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {AWS_ACCESS_KEY}\naws_secret_access_key = {AWS_SECRET_KEY}\n")
    fixed = world.claude("haiku after aws configure", "-p", "say hi", "--model", "haiku", oauth=True)
    return Launches(opus, haiku, verify, fixed)


def test_opus_answers_and_the_launch_says_in_one_line_that_bedrock_cannot_work(launches):
    run = launches.opus
    assert run.returncode == 0, run.output
    assert ANTHROPIC_REPLY in run.stdout
    [line] = [line for line in run.stderr.splitlines() if "cannot work" in line]
    assert line.startswith("openClaude: Bedrock (qwen-3-coder) cannot work: no AWS credentials found")
    assert "fix: aws configure" in line and "Starting anyway" in line


def test_haiku_fails_at_once_with_claude_code_naming_the_missing_credentials_and_the_fix(launches):
    run = launches.haiku
    assert run.returncode != 0, run.output
    assert "API Error: 400 openClaude: qwen-3-coder runs on AWS Bedrock" in run.stdout, run.output
    assert "no AWS credentials found" in run.stdout and "fix: aws configure" in run.stdout
    # No retry storm: the proxy called no Bedrock, and Claude Code does not back off on a 400;
    # it only asks again without its optional betas (2.1.332: 6 requests, ~2 s in all; a 403
    # would be asked once but shown as "Failed to authenticate", a 5xx retried with backoff).
    posts = [head for head in run.to_proxy if head["method"] == "POST"]
    assert 1 <= len(posts) < 10, run.to_proxy
    assert {head["json"]["model"] for head in posts} == {"qwen-3-coder"}
    assert run.bedrock == []
    assert run.proxy_pid == launches.opus.proxy_pid  # the same proxy, no restart


def test_verify_fails_the_aws_check_with_the_fix(launches):
    assert launches.verify.returncode != 0
    passed, detail = checks(launches.verify)["AWS credentials available"]
    assert not passed and "no AWS credentials found" in detail
    assert "fix: aws configure" in launches.verify.output


def test_the_first_launch_after_the_fix_restarts_the_proxy_and_haiku_answers(launches):
    run = launches.fixed
    assert run.returncode == 0, run.output
    assert BEDROCK_REPLY in run.stdout
    assert "cannot work" not in run.stderr
    assert "the AWS identity changed (was: no usable credentials" in run.stderr
    assert run.proxy_pid != launches.haiku.proxy_pid
    [call] = converse_posts(run)
    assert call["sigv4_valid"] and f"Credential={AWS_ACCESS_KEY}/" in call["headers"]["authorization"]
