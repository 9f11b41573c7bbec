"""deploy.py and rollback.py against a sandbox HOME, with real uv and local git LiteLLM sources."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from operations.model.sources import installed_source, wanted_source
from tests.litellm_sources import FORK_BRANCH, RELEASE_TAG, RETIRED, RETIRING_SOON
from tests.support.runs import REPO
from tests.support.sandbox import Sandbox, sandbox_env

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

USER_SETTINGS = {
    "model": "us.anthropic.claude-opus-4-6-v1",
    "awsAuthRefresh": "aws sso login",
    "awsCredentialExport": "aws configure export-credentials",
    "permissions": {"allow": ["Bash(git status)"], "deny": []},
    "statusLine": {"type": "command", "command": "~/bin/status"},
    "env": {
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "ANTHROPIC_API_KEY": "sk-1234",
        "AWS_PROFILE": "work",
        "DISABLE_TELEMETRY": "1",
    },
}


def write_user_settings(sandbox, settings=USER_SETTINGS) -> bytes:
    path = sandbox.path(".claude/settings.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(settings, indent=2) if not isinstance(settings, str) else settings
    path.write_text(text)
    return path.read_bytes()


def receipt_source(sandbox):
    receipt = sandbox.path(".local/share/uv/tools/litellm/uv-receipt.toml")
    return installed_source(receipt.read_text()) if receipt.exists() else None


def config(sandbox) -> dict:
    return yaml.safe_load(sandbox.path(".litellm/config.yaml").read_text())


def routes(sandbox) -> dict:
    return {d["model_name"]: d["litellm_params"]["model"] for d in config(sandbox)["model_list"]}


def backups(sandbox, relative: str) -> list:
    path = sandbox.path(relative)
    return sorted(p.name for p in path.parent.glob(path.name + ".*.bak"))


def test_first_deploy_converges_and_second_changes_nothing(sandbox):
    write_user_settings(sandbox)
    first = sandbox.pyinfra("deploy.py")
    assert first.returncode == 0, first.output
    assert first.changed > 0 and first.errors == 0

    second = sandbox.pyinfra("deploy.py")
    assert second.returncode == 0, second.output
    assert (second.changed, second.errors) == (0, 0), second.output
    assert second.unchanged == first.changed + first.unchanged


def test_deploy_reaches_the_mixed_oauth_bedrock_state(sandbox):
    write_user_settings(sandbox)
    assert sandbox.pyinfra("deploy.py").returncode == 0

    assert receipt_source(sandbox) == wanted_source(sandbox.sources["release"])
    routed = routes(sandbox)
    assert routed["claude-*"] == "anthropic/claude-*"
    assert routed["claude-opus-*"] == "anthropic/claude-opus-*"
    assert routed["qwen-3-coder"] == "bedrock/converse/qwen.qwen3-next-80b-a3b"
    settings = config(sandbox)
    [haiku] = [d for d in settings["model_list"] if d["model_name"] == "qwen-3-coder"]
    assert haiku["litellm_params"]["aws_region_name"] == "us-west-2"
    assert settings["litellm_settings"]["drop_params"] is True
    assert settings["litellm_settings"]["model_group_settings"] == {
        "forward_client_headers_to_llm_api": [name for name, model in routed.items()
                                              if model.startswith("anthropic/")]
    }
    assert settings["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"

    launcher = sandbox.path(".local/bin/openClaude")
    assert launcher.stat().st_mode & 0o777 == 0o755
    assert os.readlink(sandbox.path(".local/bin/openclaude")) == "openClaude"
    assert "OPENCLAUDE_MODE=oauth" in launcher.read_text()


def test_master_key_is_private_random_and_never_changes(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    key_path = sandbox.path(".litellm/master.key")
    key = key_path.read_text().strip()
    assert key.startswith("sk-") and len(key) == 67 and key != "sk-1234"
    assert key_path.stat().st_mode & 0o777 == 0o600

    rerun = sandbox.pyinfra("deploy.py", data={"litellm_port": 4100})
    assert rerun.returncode == 0, rerun.output
    rollback = sandbox.pyinfra("rollback.py")
    assert rollback.returncode == 0, rollback.output
    assert key_path.read_text().strip() == key
    for result in (rerun, rollback):
        assert key not in result.output
    assert key not in sandbox.path(".litellm/config.yaml").read_text()


def test_other_sandbox_gets_another_master_key(sandbox, tmp_path, litellm_sources, uv_cache):
    other_home = tmp_path / "other"
    other_home.mkdir()
    other = Sandbox(other_home, sandbox_env(other_home, uv_cache), litellm_sources, sandbox.data)
    assert sandbox.pyinfra("deploy.py").returncode == 0
    assert other.pyinfra("deploy.py").returncode == 0
    assert (sandbox.path(".litellm/master.key").read_text()
            != other.path(".litellm/master.key").read_text())


def test_derived_settings_keep_every_other_user_key(sandbox):
    original = write_user_settings(sandbox)
    assert sandbox.pyinfra("deploy.py").returncode == 0

    derived_path = sandbox.path(".openClaude/settings.json")
    derived = json.loads(derived_path.read_text())
    assert derived_path.stat().st_mode & 0o777 == 0o600
    assert derived["model"] == "opus", "a Bedrock id becomes its family's alias: Claude Code's model"
    assert "awsAuthRefresh" not in derived and "awsCredentialExport" not in derived
    assert derived["permissions"] == USER_SETTINGS["permissions"]
    assert derived["statusLine"] == USER_SETTINGS["statusLine"]
    assert derived["env"] == {
        "AWS_PROFILE": "work",
        "DISABLE_TELEMETRY": "1",
        "ANTHROPIC_SMALL_FAST_MODEL": "qwen-3-coder",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "qwen-3-coder",
        "CLAUDE_CODE_MAX_CONTEXT_TOKENS": "256000",
    }
    assert sandbox.path(".claude/settings.json").read_bytes() == original


def test_missing_user_settings_count_as_empty(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    derived = json.loads(sandbox.path(".openClaude/settings.json").read_text())
    assert set(derived) == {"env"}, "no model: Claude Code's own default"
    assert not sandbox.path(".claude/settings.json").exists()


def test_rollback_reaches_all_bedrock_and_rerun_changes_nothing(sandbox):
    write_user_settings(sandbox)
    assert sandbox.pyinfra("deploy.py", data={"litellm_source": "fork"}).returncode == 0
    assert receipt_source(sandbox) == wanted_source(sandbox.sources["fork"])

    rollback = sandbox.pyinfra("rollback.py", data={"litellm_source": "fork"})
    assert rollback.returncode == 0, rollback.output
    assert receipt_source(sandbox) == wanted_source(sandbox.sources["release"])
    routed = routes(sandbox)
    assert routed["claude-opus-*"] == routed["*anthropic.claude-*opus*"] == \
        "bedrock/converse/us.anthropic.claude-opus-4-6-v1"
    assert routed["claude-sonnet-*"] == "bedrock/converse/us.anthropic.claude-sonnet-4-6"
    assert routed["qwen-3-coder"] == "bedrock/converse/qwen.qwen3-next-80b-a3b"
    assert not [model for model in routed.values() if not model.startswith("bedrock/")]
    assert "model_group_settings" not in config(sandbox)["litellm_settings"]
    assert "OPENCLAUDE_MODE=bedrock" in sandbox.path(".local/bin/openClaude").read_text()
    derived = json.loads(sandbox.path(".openClaude/settings.json").read_text())
    assert "ANTHROPIC_API_KEY" not in derived["env"]

    again = sandbox.pyinfra("rollback.py", data={"litellm_source": "fork"})
    assert (again.returncode, again.changed, again.errors) == (0, 0, 0), again.output


def test_deploy_after_rollback_switches_the_source_back(sandbox):
    fork = {"litellm_source": "fork"}
    assert sandbox.pyinfra("deploy.py", data=fork).returncode == 0
    assert sandbox.pyinfra("rollback.py", data=fork).returncode == 0
    assert receipt_source(sandbox) == wanted_source(sandbox.sources["release"])

    again = sandbox.pyinfra("deploy.py", data=fork)
    assert again.returncode == 0, again.output
    assert receipt_source(sandbox) == wanted_source(sandbox.sources["fork"])
    assert "OPENCLAUDE_MODE=oauth" in sandbox.path(".local/bin/openClaude").read_text()


def test_default_deploy_installs_the_release_and_fork_setting_the_fork(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    assert receipt_source(sandbox) == wanted_source(sandbox.sources["release"])
    switched = sandbox.pyinfra("deploy.py", data={"litellm_source": "fork"})
    assert switched.returncode == 0, switched.output
    assert receipt_source(sandbox) == wanted_source(sandbox.sources["fork"])
    assert switched.changed == 1, "only the LiteLLM install differs between the sources"


def compiled_litellm(sandbox) -> list:
    """The bytecode of the installed LiteLLM package's ``__init__`` (uv leaves none by default)."""
    tool = sandbox.path(".local/share/uv/tools/litellm")
    return sorted(tool.glob("lib/python3*/site-packages/litellm/__pycache__/__init__.*.pyc"))


def test_litellm_is_installed_and_replaced_with_compiled_bytecode(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    assert compiled_litellm(sandbox), "the first install compiled no bytecode"
    switched = sandbox.pyinfra("deploy.py", data={"litellm_source": "fork"})
    assert switched.returncode == 0, switched.output
    assert receipt_source(sandbox) == wanted_source(sandbox.sources["fork"])
    assert compiled_litellm(sandbox), "the replacing install compiled no bytecode"


def test_another_ref_of_the_same_repository_replaces_the_install(sandbox):
    from tests.litellm_sources import _git

    fork_repo = sandbox.sources["fork_repo"]
    _git(fork_repo, "branch", "-f", "other-ref")
    other = f"git+file://{fork_repo}@other-ref"
    assert sandbox.pyinfra("deploy.py", data={"litellm_source": "fork"}).returncode == 0
    result = sandbox.pyinfra("deploy.py", data={"litellm_source": "fork", "litellm_fork": other})
    assert result.returncode == 0, result.output
    assert receipt_source(sandbox) == wanted_source(other)


def test_backups_appear_exactly_when_content_is_replaced(sandbox):
    write_user_settings(sandbox)
    assert sandbox.pyinfra("deploy.py").returncode == 0
    assert backups(sandbox, ".litellm/config.yaml") == []

    config_path = sandbox.path(".litellm/config.yaml")
    edited = config_path.read_text() + "# my hand edit\n"
    config_path.write_text(edited)
    assert sandbox.pyinfra("deploy.py").returncode == 0
    [backup] = backups(sandbox, ".litellm/config.yaml")
    assert (config_path.parent / backup).read_text() == edited
    assert (config_path.parent / backup).stat().st_mode & 0o777 == 0o600
    assert "# my hand edit" not in config_path.read_text()

    assert sandbox.pyinfra("deploy.py").returncode == 0
    assert len(backups(sandbox, ".litellm/config.yaml")) == 1
    assert backups(sandbox, ".openClaude/settings.json") == []


def test_a_mode_only_difference_is_fixed_without_a_backup(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    settings = sandbox.path(".openClaude/settings.json")
    settings.chmod(0o644)
    result = sandbox.pyinfra("deploy.py")
    assert result.changed == 1, result.output
    assert settings.stat().st_mode & 0o777 == 0o600
    assert backups(sandbox, ".openClaude/settings.json") == []


def test_malformed_user_settings_fail_cleanly_and_change_no_file(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    write_user_settings(sandbox, '{"model": "x",\n  "env": {')
    before = sandbox.snapshot()

    result = sandbox.pyinfra("rollback.py")
    assert result.returncode != 0
    assert "~/.claude/settings.json: invalid JSON at line 2" in result.output
    assert sandbox.snapshot() == before


def test_dry_run_changes_nothing(sandbox):
    write_user_settings(sandbox)
    before = sandbox.snapshot()
    result = sandbox.pyinfra("deploy.py", "--dry")
    assert result.returncode == 0, result.output
    assert sandbox.snapshot() == before
    assert not sandbox.path(".local/share/uv/tools/litellm").exists()

    assert sandbox.pyinfra("deploy.py").returncode == 0
    before = sandbox.snapshot()
    assert sandbox.pyinfra("rollback.py", "--dry").returncode == 0
    assert sandbox.snapshot() == before


def test_diff_shows_text_changes(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    result = sandbox.pyinfra("deploy.py", "--dry", "--diff", data={"aws_region": "eu-west-1"})
    assert result.returncode == 0, result.output
    assert "eu-west-1" in result.output and "us-west-2" in result.output


def test_bad_output_limit_fails_before_anything_changes(sandbox):
    for bad in ("many", -5, 0):
        result = sandbox.pyinfra("deploy.py", data={"haiku_output_limit": bad})
        assert result.returncode != 0
        assert "haiku_output_limit: expected a positive whole number" in result.output
        assert sandbox.snapshot() == {}


def test_launcher_derives_the_same_settings_as_the_deploy(sandbox):
    """One transform, two paths: the deploy (on the controller) and the launcher (at launch)."""
    write_user_settings(sandbox, {**USER_SETTINGS, "note": "naïve ✓", "env": {
        **USER_SETTINGS["env"], "ANTHROPIC_BASE_URL": "https://gateway.example"}})
    assert sandbox.pyinfra("deploy.py").returncode == 0
    derived = sandbox.path(".openClaude/settings.json")
    by_deploy = derived.read_bytes()
    derived.unlink()

    # The stand-in LiteLLM cannot serve, so the launch stops after deriving the settings.
    launch = subprocess.run(
        [str(sandbox.path(".local/bin/openclaude")), "-p", "hi"], env={
            **sandbox.env, "PATH": f"{REPO / 'tests' / 'fakes'}:{sandbox.env['PATH']}",
            "FAKE_RECORD_DIR": str(sandbox.home)},
        capture_output=True, text=True, timeout=120)
    assert launch.returncode != 0
    assert derived.read_bytes() == by_deploy
    assert derived.stat().st_mode & 0o777 == 0o600


def test_deploy_warns_about_retiring_unknown_and_retired_model_ids(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0  # LiteLLM's map is read once installed
    result = sandbox.pyinfra("deploy.py", data={
        "sonnet_model_name": "claude-sonnet-4-5-20250929",
        "opus_model_name": "claude-opus-4-6-20250514",
        "oauth_haiku_model": "anthropic/claude-3-opus-20240229",
    })
    assert result.returncode == 0, result.output
    assert f"claude-sonnet-4-5-20250929: retires on {RETIRING_SOON}" in result.output
    assert "claude-opus-4-6-20250514: not in the installed LiteLLM's model map" in result.output
    assert f"claude-3-opus-20240229: retired on {RETIRED}" in result.output
    # Windows Claude Code would assume beyond the pinned models' input limits (LiteLLM's map).
    assert "haiku tier (qwen-3-coder -> claude-3-opus-20240229): Claude Code assumes a context " \
           "window of 256000 tokens, the model accepts 200000" in result.output
    assert "--data haiku_context_window=200000" in result.output
    assert "sonnet tier (claude-sonnet-4-5-20250929 -> claude-sonnet-4-5-20250929)" in result.output
    assert "--data long_context=false" in result.output


def test_oauth_deploy_warns_when_the_token_would_go_to_a_third_party(sandbox):
    result = sandbox.pyinfra("deploy.py", data={"anthropic_api_base": "https://llm-gateway.example"})
    assert result.returncode == 0, result.output
    assert "forwards the Claude plan OAuth token to that host" in result.output
    quiet = sandbox.pyinfra("deploy.py", data={"anthropic_api_base": "http://127.0.0.1:9"})
    assert "OAuth token" not in quiet.output


# Local and URL sources: uv records them as `directory`, `path`, `url`, `editable` or `git`.

def source_forms(local_sources, wheel_server, release_repo) -> dict:
    """Each way a team writes a local or URL source, with the receipt key uv records it under."""
    directory, wheel = local_sources["directory"], local_sources["wheel"]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return {
        "directory-url": (f"litellm[proxy] @ file://{directory}/", "directory"),
        "directory-path": (str(directory), "directory"),
        "wheel-url": (f"file://{wheel}", "path"),
        "wheel-path": (f"litellm[proxy] @ file://{wheel.parent}/./{wheel.name}", "path"),
        "http-url": (f"{wheel_server}/{wheel.name}#sha256={digest}", "url"),
        "editable": (f"-e {directory}", "editable"),
        "git-trailing-slash": (f"git+file://{release_repo}/@{RELEASE_TAG}", "git"),
    }


FORMS = ["directory-url", "directory-path", "wheel-url", "wheel-path", "http-url", "editable",
         "git-trailing-slash"]


def receipt_entry(sandbox) -> dict:
    receipt = sandbox.path(".local/share/uv/tools/litellm/uv-receipt.toml").read_text()
    return tomllib.loads(receipt)["tool"]["requirements"][0]


@pytest.mark.parametrize("form", FORMS)
def test_a_local_or_url_release_converges_and_reruns_without_uv(sandbox, uv_calls, local_sources,
                                                               wheel_server, form):
    requirement, recorded_as = source_forms(
        local_sources, wheel_server, sandbox.sources["release_repo"])[form]
    first = sandbox.pyinfra("deploy.py", data={"litellm_release": requirement})
    assert first.returncode == 0, first.output
    assert recorded_as in receipt_entry(sandbox), receipt_entry(sandbox)
    assert receipt_source(sandbox) == wanted_source(requirement)
    installs = [call for call in uv_calls() if call.startswith("tool install")]
    assert len(installs) == 1, installs

    again = sandbox.pyinfra("deploy.py", data={"litellm_release": requirement})
    assert (again.returncode, again.changed, again.errors) == (0, 0, 0), again.output
    assert [call for call in uv_calls() if call.startswith("tool install")] == installs


@pytest.mark.parametrize("form", ["directory-path", "wheel-url"])
def test_a_local_fork_converges_and_reruns_without_uv(sandbox, uv_calls, local_sources,
                                                      wheel_server, form):
    requirement, _ = source_forms(local_sources, wheel_server, sandbox.sources["release_repo"])[form]
    fork = {"litellm_source": "fork", "litellm_fork": requirement}
    assert sandbox.pyinfra("deploy.py").returncode == 0
    switched = sandbox.pyinfra("deploy.py", data=fork)
    assert (switched.returncode, switched.changed) == (0, 1), switched.output
    installs = [call for call in uv_calls() if call.startswith("tool install")]

    again = sandbox.pyinfra("deploy.py", data=fork)
    assert (again.returncode, again.changed, again.errors) == (0, 0, 0), again.output
    assert [call for call in uv_calls() if call.startswith("tool install")] == installs


def test_the_run_that_adds_a_backup_keeps_only_the_newest_per_file(sandbox):
    write_user_settings(sandbox)
    assert sandbox.pyinfra("deploy.py").returncode == 0
    config_path = sandbox.path(".litellm/config.yaml")
    # Older backups: the deploy's names (UTC, "Z", a same-second ".N") and the launcher's (no "Z").
    old = ["config.yaml.20240101T000000Z.bak", "config.yaml.20240101T000000Z.1.bak",
           "config.yaml.20240101T000000Z.2.bak", "config.yaml.20240102T000000.bak",
           "config.yaml.20240103T000000Z.bak", "config.yaml.20240104T000000Z.bak"]
    for name in old:
        (config_path.parent / name).write_text(name)
    mine = config_path.parent / "config.yaml.mine.bak"  # not one of ours: never touched
    mine.write_text("mine")

    result = sandbox.pyinfra("deploy.py", data={"aws_region": "eu-west-1"})
    assert result.returncode == 0, result.output
    kept = backups(sandbox, ".litellm/config.yaml")
    new = [name for name in kept if name not in old and name != mine.name]
    assert len(new) == 1, kept
    assert sorted(kept) == sorted([*old[2:], *new, mine.name]), kept
    assert f"removing its oldest backups (keeping 5): {old[1]}, {old[0]}" in result.output, \
        result.output
    assert backups(sandbox, ".local/bin/openClaude") == []  # the launcher did not change


def test_switching_back_and_forth_keeps_backups_bounded_for_every_file(sandbox):
    write_user_settings(sandbox)
    for script, long_context in (("deploy.py", True), ("rollback.py", False)) * 3:
        data = {"backups_kept": 2, "long_context": long_context, "opus_model_name": "claude-opus-4-6"}
        assert sandbox.pyinfra(script, data=data).returncode == 0
    for relative in (".litellm/config.yaml", ".local/bin/openClaude", ".openClaude/settings.json"):
        assert len(backups(sandbox, relative)) == 2, (relative, backups(sandbox, relative))


def test_a_fork_switched_to_another_branch_on_the_same_commit_is_reinstalled(sandbox):
    from tests.litellm_sources import _git

    fork_repo = sandbox.sources["fork_repo"]
    _git(fork_repo, "branch", "-f", "release-candidate", FORK_BRANCH)  # the same commit
    assert sandbox.pyinfra("deploy.py", data={"litellm_source": "fork"}).returncode == 0
    assert receipt_entry(sandbox)["git"].endswith("?rev=fix%2Fanthropic-oauth-token-forwarding")

    other = {"litellm_source": "fork", "litellm_fork": f"git+file://{fork_repo}@release-candidate"}
    result = sandbox.pyinfra("deploy.py", data=other)
    assert (result.returncode, result.changed) == (0, 1), result.output
    assert receipt_entry(sandbox)["git"] == f"file://{fork_repo}?rev=release-candidate"
    again = sandbox.pyinfra("deploy.py", data=other)
    assert (again.returncode, again.changed) == (0, 0), again.output


def test_replacing_a_file_at_the_alias_keeps_its_backups_bounded(sandbox):
    assert sandbox.pyinfra("deploy.py").returncode == 0
    alias = sandbox.path(".local/bin/openclaude")
    alias.unlink()
    alias.write_text("#!/bin/sh\necho my own openclaude\n")
    old = [f"openclaude.2024010{day}T000000Z.bak" for day in range(1, 7)]
    for name in old:
        (alias.parent / name).write_text(name)

    result = sandbox.pyinfra("deploy.py")
    assert result.returncode == 0, result.output
    assert os.readlink(alias) == "openClaude"
    kept = backups(sandbox, ".local/bin/openclaude")
    assert len(kept) == 5 and sorted(old[2:]) == [name for name in kept if name in old], kept
    assert f"removing the oldest backups of {alias} (keeping 5): {old[0]}, {old[1]}" in result.output
