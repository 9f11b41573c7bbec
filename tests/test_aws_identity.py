"""The AWS identity of the user's Claude Code reaches the proxy (issue #13), end to end and at
deploy time.

End to end: deploy.py installs the real LiteLLM release, the real Claude Code CLI runs through
the deployed launcher, and the SigV4-checking Bedrock stand-in sees which access key and region
signed each request: the settings' profile over the shell's keys, then another profile after a
switch between two launches (one restart, said in one line). The helpers of
tests/support/end_to_end.py (world, tap, shim) are reused, not copied.
"""

from __future__ import annotations

import json

import pytest

from tests.claude_cli import claude_cli  # noqa: F401  (fixture)
from tests.support.end_to_end import AWS_SECRET_KEY, BEDROCK_REPLY, converse_posts, standin_world
from tests.test_launcher_identity import EXPORT_KEYS, expiring_export

PROFILES = {
    "dev": ("AKIAOPENCLAUDEE2EDEV1", "e2e/dev/secret/000000000000000000000"),
    "prod": ("AKIAOPENCLAUDEE2EPRD1", "e2e/prod/secret/00000000000000000000"),
}


def write_settings(home, **content) -> None:
    (home / ".claude").mkdir(exist_ok=True)
    (home / ".claude" / "settings.json").write_text(json.dumps(content))


@pytest.fixture(scope="module")
def world(tmp_path_factory, uv_cache, claude_cli):  # noqa: F811
    """A sandbox with ~/.aws profiles dev and prod and settings naming dev, deployed with the
    real LiteLLM release; the shell carries other keys (tests/support/end_to_end.py's)."""
    home_files = {
        ".aws/config": "".join(f"[profile {name}]\nregion = us-east-1\n" for name in PROFILES),
        ".aws/credentials": "".join(
            f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
            for name, (key, secret) in PROFILES.items()),
        ".claude/settings.json": json.dumps({"env": {"AWS_PROFILE": "dev", "AWS_REGION": "us-east-1"}}),
    }
    with standin_world(tmp_path_factory, uv_cache, claude_cli, name="aws-e2e", home_files=home_files,
                       bedrock_keys=dict(PROFILES.values())) as world:
        yield world


@pytest.fixture(scope="module")
def runs(world):
    """haiku with profile dev, then the settings switch to prod and haiku again."""
    found = {"dev": world.claude("haiku as dev", "-p", "say hi", "--model", "haiku", oauth=True)}
    write_settings(world.home, env={"AWS_PROFILE": "prod", "AWS_REGION": "us-east-1"})
    found["prod"] = world.claude("haiku as prod", "-p", "say hi", "--model", "haiku", oauth=True)
    return found


def test_deploy_shows_the_tiers_region_beside_the_users(world):
    output = world.deployed.output
    assert "sign for us-west-2" in output and "AWS_REGION is us-east-1" in output
    assert "--data aws_region=us-east-1" in output


def test_the_real_proxy_signs_with_the_settings_profile_not_the_shells_keys(runs):
    run = runs["dev"]
    assert run.returncode == 0, run.output
    assert BEDROCK_REPLY in run.stdout, run.output
    posts = converse_posts(run)
    assert posts, run.output
    assert {(p["access_key"], p["scope_region"], p["sigv4_valid"]) for p in posts} == {
        (PROFILES["dev"][0], "us-west-2", True)}


def test_a_profile_switch_restarts_the_real_proxy_once_and_it_signs_as_the_new_profile(runs):
    run = runs["prod"]
    assert run.returncode == 0, run.output
    restarts = [line for line in run.stderr.splitlines() if "restarting" in line]
    assert len(restarts) == 1 and "now: profile prod" in restarts[0], run.stderr
    assert run.proxy_pid != runs["dev"].proxy_pid
    posts = converse_posts(run)
    assert posts and {p["access_key"] for p in posts} == {PROFILES["prod"][0]}, run.output


def test_no_secret_reaches_the_proxy_log_record_or_output(world, runs):
    texts = [world.home.joinpath(".litellm", name).read_text(errors="replace")
             for name in ("proxy.log", "proxy.pid")]
    texts += [run.stdout + run.stderr for run in runs.values()]
    for text in texts:
        for _, secret in PROFILES.values():
            assert secret not in text
        assert AWS_SECRET_KEY not in text


@pytest.fixture(scope="module")
def verified(world, runs):
    """verify.py --data live=true with the settings naming prod, the proxy already running."""
    return world.verify_live(oauth=True)


def test_verify_live_proves_a_bedrock_call_signed_with_the_settings_identity(verified):
    result, (_, bedrock) = verified
    assert result.returncode == 0, result.output
    assert "PASS  AWS credentials available" in result.output
    assert "profile prod, credentials from ~/.aws/credentials, AWS_REGION us-east-1" in result.output
    posts = [r for r in bedrock if r.get("operation")]
    assert posts and {(r["access_key"], r["sigv4_valid"]) for r in posts} == {
        (PROFILES["prod"][0], True)}, result.output


@pytest.fixture(scope="module")
def rolled_back(world, verified):
    """rollback.py (all three tiers on Bedrock), then opus and sonnet with the same settings."""
    result = world.pyinfra("rollback.py", oauth=False)
    assert result.returncode == 0, result.output
    return {tier: world.claude(f"rollback {tier}", "-p", "say hi", "--model", tier, oauth=False)
            for tier in ("opus", "sonnet")}


def test_after_rollback_every_tier_signs_with_the_settings_identity(rolled_back):
    for tier, run in rolled_back.items():
        assert run.returncode == 0, run.output
        assert BEDROCK_REPLY in run.stdout, run.output
        posts = converse_posts(run)
        assert posts and {(p["access_key"], p["scope_region"], p["sigv4_valid"]) for p in posts} == {
            (PROFILES["prod"][0], "us-west-2", True)}, run.output


def test_deploy_warns_about_the_region_only_when_it_differs(sandbox):
    write_settings(sandbox.home, env={"AWS_REGION": "eu-central-1"})
    differs = sandbox.pyinfra("deploy.py")
    assert differs.returncode == 0, differs.output
    assert "--data aws_region=eu-central-1" in differs.output

    write_settings(sandbox.home, env={"AWS_REGION": "us-west-2"})
    same = sandbox.pyinfra("deploy.py")
    assert same.returncode == 0 and "aws_region=" not in same.output


@pytest.fixture(scope="module")
def exported(world, rolled_back):
    """The settings switch to awsCredentialExport; haiku, the export's credentials 'expire'
    (Bedrock refuses them, the command gives new ones), haiku again in the same proxy."""
    current, calls = world.root / "export-key", world.root / "export-calls"
    current.write_text("first")
    export = world.root / "export"
    export.write_text("#!/bin/sh\n" + expiring_export(current, calls))
    export.chmod(0o755)
    for key_id, secret, token in EXPORT_KEYS.values():
        world.bedrock.keys[key_id] = (secret, token)
    write_settings(world.home, awsCredentialExport=str(export), env={"AWS_REGION": "us-east-1"})
    first = world.claude("export first", "-p", "say hi", "--model", "haiku", oauth=False)
    del world.bedrock.keys[EXPORT_KEYS["first"][0]]
    current.write_text("second")
    second = world.claude("export second", "-p", "say hi", "--model", "haiku", oauth=False)
    return first, second


def test_the_real_proxy_refreshes_export_credentials_during_a_session(exported):
    first, second = exported
    for run, key in ((first, "first"), (second, "second")):
        assert run.returncode == 0, run.output
        posts = converse_posts(run)
        assert posts and {(p["access_key"], p["sigv4_valid"]) for p in posts} == {
            (EXPORT_KEYS[key][0], True)}, run.output
    assert "the AWS identity changed" in first.stderr
    assert second.proxy_pid == first.proxy_pid and "restarting" not in second.stderr
