"""End to end: Claude Code's own models and settings layers through the deployed openClaude.

The real Claude Code (``OPENCLAUDE_CLAUDE_CODE``: the pin or the newest), the real LiteLLM
release, the deployed launcher and the loopback stand-ins of tests/support/end_to_end.py,
deployed with the defaults (a world of its own for this module). Each model name is checked against the same
Claude Code talking to the Anthropic stand-in directly: through the proxy, Anthropic receives
the model plain Claude Code asks for.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from files.openclaude_layers import MANAGED_ROOT_ENV
from tests.claude_cli import claude_cli  # noqa: F401  (fixture)
from tests.support.end_to_end import (
    ANTHROPIC_REPLY,
    BEDROCK_REPLY,
    OAUTH_TOKEN,
    QWEN,
    converse_posts,
    messages_posts,
    standin_world,
)

PROMPT = "say hi"
SLOTS = {"default": (), "opus": ("--model", "opus"), "sonnet": ("--model", "sonnet"),
         "fable": ("--model", "fable")}
BEDROCK_ERA_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def asked_models(requests: list) -> set:
    return {r["json"]["model"] for r in requests if PROMPT.encode() in r["body"]}


@pytest.fixture(scope="module")
def e2e(tmp_path_factory, uv_cache, claude_cli):  # noqa: F811
    """The deploy with the defaults: no slot pinned but the haiku slot."""
    with standin_world(tmp_path_factory, uv_cache, claude_cli) as world:
        yield world


def plain_claude_models(e2e, tmp: Path) -> dict:
    """What plain Claude Code (no openClaude) sends the Anthropic stand-in for each slot."""
    found = {}
    for slot, args in SLOTS.items():
        config = tmp / f"plain-{slot}"
        config.mkdir()
        env = {**e2e.env(oauth=True), "CLAUDE_CONFIG_DIR": str(config),
               "ANTHROPIC_BASE_URL": e2e.api.url, "HOME": str(tmp)}
        mark = len(e2e.api.requests.snapshot())
        done = subprocess.run([str(e2e.claude_dir / "claude"), "-p", PROMPT, *args], env=env,
                              cwd=tmp, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout + done.stderr
        found[slot] = asked_models(e2e.api.requests.snapshot()[mark:])
    return found


@pytest.fixture(scope="module")
def plain(e2e, tmp_path_factory):
    return plain_claude_models(e2e, tmp_path_factory.mktemp("plain-claude"))


def answered_on_the_subscription(run) -> list:
    """The run's requests at Anthropic, after checking it succeeded with the stand-in's reply
    and that each carried the user's OAuth token and nothing reached Bedrock."""
    assert run.returncode == 0 and ANTHROPIC_REPLY in run.stdout, run.output
    posts = messages_posts(run)
    assert posts, run.output
    for record in posts:
        assert record["headers"].get("authorization") == f"Bearer {OAUTH_TOKEN}", record["headers"]
    assert not converse_posts(run), [r["target"] for r in run.bedrock]
    return posts


@pytest.mark.parametrize("slot", SLOTS)
def test_each_slot_reaches_anthropic_as_the_model_plain_claude_code_asks_for(e2e, plain, slot):
    run = e2e.claude(f"slot {slot}", "-p", PROMPT, *SLOTS[slot], oauth=True)
    posts = answered_on_the_subscription(run)
    assert plain[slot] and asked_models(posts) == plain[slot], (plain, run.output)


def test_the_haiku_slot_stays_on_bedrock(e2e):
    run = e2e.claude("slot haiku", "-p", PROMPT, "--model", "haiku", oauth=True)
    assert run.returncode == 0 and BEDROCK_REPLY in run.stdout, run.output
    assert converse_posts(run) and {r["path"].split("/")[2] for r in converse_posts(run)} == {QWEN}


@pytest.mark.parametrize("name", ["claude-sonnet-5-5", "claude-sonnet-4-5-20250929", "claude-haiku-5-5"])
def test_a_full_or_dated_claude_id_reaches_anthropic_under_its_own_name(e2e, name):
    run = e2e.claude(f"id {name}", "-p", PROMPT, "--model", name, oauth=True)
    assert asked_models(answered_on_the_subscription(run)) == {name}


def project(e2e, name: str, files: dict) -> Path:
    """A repository of the user's with its own ``.claude`` settings files."""
    directory = e2e.root / name
    if directory.exists():
        shutil.rmtree(directory)
    (directory / ".git").mkdir(parents=True)
    for relative, settings in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    return directory


def test_a_bedrock_era_project_is_answered_through_the_proxy_on_the_subscription(e2e):
    repo = project(e2e, "bedrock-era", {".claude/settings.json": {
        "model": BEDROCK_ERA_ID,
        "env": {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "us-east-1",
                "ANTHROPIC_BASE_URL": "http://127.0.0.1:9", "ANTHROPIC_API_KEY": "sk-ant-api-project"}}})
    (repo / "src").mkdir()
    run = e2e.claude("bedrock-era project", "-p", PROMPT, oauth=True, cwd=repo / "src")
    posts = answered_on_the_subscription(run)
    assert asked_models(posts) == {"claude-sonnet-5-5"}, "the id's family tier answers it"
    assert run.to_proxy, "Claude Code went to the proxy (through the tap), not elsewhere"
    assert "CLAUDE_CODE_USE_BEDROCK" in run.stderr and str(repo / ".claude/settings.json") in run.stderr


def test_the_users_custom_headers_reach_anthropic_beside_the_proxy_key(e2e):
    settings = e2e.home / ".claude/settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    before = settings.read_bytes() if settings.exists() else None
    settings.write_text(json.dumps({"env": {"ANTHROPIC_CUSTOM_HEADERS": "X-Team-Trace: e2e-user"}}))
    try:
        user = e2e.claude("user headers", "-p", PROMPT, oauth=True)
        repo = project(e2e, "with-headers", {".claude/settings.local.json": {
            "env": {"ANTHROPIC_CUSTOM_HEADERS": "X-Project-Trace: e2e-project"}}})
        local = e2e.claude("project headers", "-p", PROMPT, oauth=True, cwd=repo)
    finally:
        if before is None:
            settings.unlink()
        else:
            settings.write_bytes(before)
    for run, header, value in ((user, "x-team-trace", "e2e-user"),
                               (local, "x-project-trace", "e2e-project")):
        for record in answered_on_the_subscription(run):
            assert record["headers"].get(header) == value, record["headers"]
            assert "x-litellm-api-key" not in record["headers"]


def test_a_name_that_is_no_model_gets_a_400_naming_the_tiers(e2e):
    run = e2e.claude("no model", "-p", PROMPT, "--model", "gpt-4o", oauth=True)
    assert run.returncode != 0
    assert "400" in run.stdout and "no tier answers the model 'gpt-4o'" in run.stdout, run.output
    for routed in ("fable: claude-fable-*", "opus: claude-opus-*", "sonnet: claude-sonnet-*",
                   "haiku: *anthropic.claude-*haiku*, qwen-3-coder -> bedrock/converse/" + QWEN,
                   "any other Claude model: claude-* -> anthropic/claude-*"):
        assert routed in run.stdout, run.output
    assert not run.upstream()


MANAGED = {"managed-settings.json": {"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}},
           "managed-settings.d/20-helper.json": {"apiKeyHelper": "/usr/local/bin/team-key"}}


def managed_root(e2e) -> Path:
    root = e2e.root / "managed-root"
    for name, settings in MANAGED.items():
        path = root / "etc/claude-code" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    return root


def test_managed_settings_that_bypass_the_proxy_are_named_by_the_launcher_and_fail_verify(e2e):
    root = managed_root(e2e)
    run = e2e.claude("managed", "-p", PROMPT, oauth=True, env={MANAGED_ROOT_ENV: str(root)})
    expected = [f"{root}/etc/claude-code/managed-settings.json: env.CLAUDE_CODE_USE_BEDROCK makes "
                "Claude Code call Bedrock itself",
                f"{root}/etc/claude-code/managed-settings.d/20-helper.json: apiKeyHelper replaces "
                "your subscription sign-in"]
    lines = [line for line in run.stderr.splitlines() if "managed settings" in line]
    assert len(lines) == 2 and all(e in line for e, line in zip(expected, lines)), run.output
    e2e.sandbox.env = {**e2e.env(oauth=True), MANAGED_ROOT_ENV: str(root)}
    verify = e2e.sandbox.pyinfra("verify.py", data=e2e.data)
    row = managed_row(verify)
    assert verify.returncode != 0 and row.startswith("FAIL"), verify.output
    for line in lines:
        assert line.removeprefix("openClaude: ").rstrip(".") in row, (line, row)
    e2e.sandbox.env = e2e.env(oauth=True)
    assert managed_row(e2e.sandbox.pyinfra("verify.py", data=e2e.data)).startswith("PASS")


def managed_row(result) -> str:
    rows = [line.split("] ", 1)[-1].strip() for line in result.output.splitlines()
            if re.search(r"(PASS|FAIL)  managed settings keep Claude Code on the proxy", line)]
    assert len(rows) == 1, result.output
    return rows[0]
