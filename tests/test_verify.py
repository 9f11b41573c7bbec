"""verify.py against a sandbox HOME deployed with the local LiteLLM source stand-ins.

verify.py changes nothing and prints one PASS/FAIL line per check; each broken piece fails its
own line and the run exits non-zero. The sandbox PATH is the venv's bin dir, a one-line
``claude`` stub, /usr/bin and /bin only: this machine's ``aws`` (a pyenv shim) would call AWS.
The live checks (``--data live=true``) run in tests/test_end_to_end.py against the stand-ins.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.fake_launcher import FAKES
from tests.litellm_sources import RETIRED
from tests.support.processes import free_port
from tests.support.runs import BIN, REPO, pyinfra_command

AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
           "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
           "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
           "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")
CHECKS = (
    "LiteLLM installed from the expected source",
    "LiteLLM is not the unpatched fork",
    "LiteLLM's distributions are the locked set",
    "no sign of a compromised LiteLLM release",
    "config routes each tier as data says",
    "launcher present, executable, syntax-valid",
    "launcher and its alias both run it",
    "user settings usable by the launcher",
    "launcher's directory on the login shell's PATH",
    "derived settings have the model variables",
    "master key present and private",
    "managed settings keep Claude Code on the proxy",
    "claude on PATH",
    "AWS credentials available",
    "model ids current",
    "context windows fit the models",
)
LINE = re.compile(r"\b(PASS|FAIL)  (.+?)\s{2,}(.*)$")


@pytest.fixture
def verify_sandbox(sandbox, tmp_path):
    """The sandbox with a stub ``claude``, a short PATH and AWS credentials in the environment."""
    stub_dir = tmp_path / "stub-bin"
    stub_dir.mkdir()
    stub = stub_dir / "claude"
    stub.write_text('#!/bin/sh\necho "2.1.197 (Claude Code)"\n')
    stub.chmod(0o755)
    env = {name: value for name, value in sandbox.env.items() if name not in AWS_ENV}
    env.update(PATH=os.pathsep.join([str(BIN), str(stub_dir), "/usr/bin", "/bin",
                                     str(sandbox.home / ".local" / "bin")]),
               AWS_ACCESS_KEY_ID="AKIAOPENCLAUDEVERIFY1", AWS_SECRET_ACCESS_KEY="verify/secret",
               AWS_EC2_METADATA_DISABLED="true",
               # Managed settings are read under this root, not this machine's /etc.
               OPENCLAUDE_MANAGED_SETTINGS_ROOT=str(tmp_path / "managed-root"))
    sandbox.env = env
    return sandbox


def test_managed_settings_that_bypass_the_proxy_fail_verify_naming_file_and_key(verify_sandbox, tmp_path):
    deployed(verify_sandbox)
    drop_ins = tmp_path / "managed-root/etc/claude-code/managed-settings.d"
    drop_ins.mkdir(parents=True)
    (drop_ins / "10-gateway.json").write_text(json.dumps({"env": {"ANTHROPIC_BASE_URL": "https://gw.example"}}))
    (drop_ins / "20-harmless.json").write_text(json.dumps({"permissions": {"deny": ["WebFetch"]}}))

    result = verify(verify_sandbox)

    assert result.returncode == 1, result.output
    assert failed(result) == {"managed settings keep Claude Code on the proxy": (
        f"managed settings {drop_ins}/10-gateway.json: env.ANTHROPIC_BASE_URL sends Claude Code to "
        "https://gw.example, so Claude Code bypasses the openClaude proxy; ask your administrator "
        "(managed settings outrank openClaude's)")}


def deployed(sandbox, script="deploy.py", **data):
    result = sandbox.pyinfra(script, data=data)
    assert result.returncode == 0, result.output
    return result


def checks(result) -> dict:
    """``{check name: (passed, detail)}`` from verify.py's table."""
    found = {}
    for line in result.output.splitlines():
        match = LINE.search(line)
        if match and match.group(2).strip() in CHECKS + ("deploy data usable",):
            found[match.group(2).strip()] = (match.group(1) == "PASS", match.group(3).strip())
    return found


def failed(result) -> dict:
    return {name: detail for name, (passed, detail) in checks(result).items() if not passed}


def verify(sandbox, **data):
    return sandbox.pyinfra("verify.py", data=data)


def test_converged_sandbox_passes_every_check_and_changes_nothing(verify_sandbox):
    deployed(verify_sandbox)
    before = verify_sandbox.snapshot()

    result = verify(verify_sandbox)

    assert result.returncode == 0, result.output
    assert set(checks(result)) == set(CHECKS), result.output
    assert not failed(result), result.output
    assert "(oauth mode)" in result.output
    assert checks(result)["AWS credentials available"][1].startswith(
        "profile default, credentials from environment variables (shell)")
    assert verify_sandbox.snapshot() == before


def test_rolled_back_sandbox_is_checked_in_bedrock_mode_and_passes(verify_sandbox):
    deployed(verify_sandbox, "rollback.py")

    result = verify(verify_sandbox)

    assert result.returncode == 0, result.output
    assert "(bedrock mode)" in result.output
    assert not failed(result), result.output


def test_wrong_litellm_source_fails_its_own_line(verify_sandbox):
    deployed(verify_sandbox, litellm_source="fork")

    result = verify(verify_sandbox, litellm_source="release")

    assert result.returncode != 0
    assert list(failed(result)) == ["LiteLLM installed from the expected source"], result.output
    detail = failed(result)["LiteLLM installed from the expected source"]
    assert "expected" in detail and verify_sandbox.sources["release"] in detail, detail
    assert "re-run deploy.py" in result.output


def test_missing_launcher_fails_its_own_line(verify_sandbox):
    deployed(verify_sandbox)
    verify_sandbox.path(".local/bin/openClaude").unlink()

    result = verify(verify_sandbox)

    assert result.returncode != 0
    # The alias points at the missing launcher, so it fails too.
    assert list(failed(result)) == ["launcher present, executable, syntax-valid",
                                    "launcher and its alias both run it"], result.output
    assert "~/.local/bin/openClaude missing" in failed(result)["launcher present, executable, syntax-valid"]


def test_api_key_left_in_derived_settings_fails_its_own_line(verify_sandbox):
    deployed(verify_sandbox)
    path = verify_sandbox.path(".openClaude/settings.json")
    settings = json.loads(path.read_text())
    settings["env"]["ANTHROPIC_API_KEY"] = "sk-ant-api03-left-behind"
    path.write_text(json.dumps(settings, indent=2))

    result = verify(verify_sandbox)

    assert result.returncode != 0
    assert list(failed(result)) == ["derived settings have the model variables"], result.output
    assert "ANTHROPIC_API_KEY is set" in failed(result)["derived settings have the model variables"]


def test_a_haiku_window_larger_than_its_model_fails_its_own_line(verify_sandbox):
    """Without the settings' window Claude Code assumes 1M for qwen-3-coder; the map says 256000."""
    deployed(verify_sandbox)
    path = verify_sandbox.path(".openClaude/settings.json")
    settings = json.loads(path.read_text())
    del settings["env"]["CLAUDE_CODE_MAX_CONTEXT_TOKENS"]
    path.write_text(json.dumps(settings, indent=2))

    result = verify(verify_sandbox)

    assert result.returncode != 0
    assert list(failed(result)) == ["context windows fit the models"], result.output
    detail = failed(result)["context windows fit the models"]
    assert "haiku tier" in detail and "1000000" in detail and "256000" in detail, detail


def test_no_aws_credentials_fails_its_own_line(verify_sandbox):
    deployed(verify_sandbox)
    for name in AWS_ENV:
        verify_sandbox.env.pop(name, None)
    assert not verify_sandbox.path(".aws").exists()

    result = verify(verify_sandbox)

    assert result.returncode != 0
    assert list(failed(result)) == ["AWS credentials available"], result.output
    assert "no AWS credentials found for the default profile" in failed(result)["AWS credentials available"]
    assert "fix: aws configure" in result.output


def test_aws_credentials_file_counts_without_aws_variables(verify_sandbox):
    deployed(verify_sandbox)
    for name in AWS_ENV:
        verify_sandbox.env.pop(name, None)
    credentials = verify_sandbox.path(".aws/credentials")
    credentials.parent.mkdir()
    credentials.write_text("[default]\naws_access_key_id = AKIAOPENCLAUDEVERIFY1\n"
                           "aws_secret_access_key = verify/secret\n")

    result = verify(verify_sandbox)

    assert result.returncode == 0, result.output
    assert "credentials from ~/.aws/credentials" in checks(result)["AWS credentials available"][1]


def write_profiles(sandbox) -> None:
    sandbox.path(".claude").mkdir(exist_ok=True)
    directory = sandbox.path(".aws")
    directory.mkdir()
    (directory / "config").write_text(
        "[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = dev\n"
        "[profile prod]\nregion = us-east-1\n"
        "[sso-session corp]\nsso_start_url = https://example.invalid/start\nsso_region = us-east-1\n")
    (directory / "credentials").write_text(
        "[prod]\naws_access_key_id = AKIAOPENCLAUDEPROD01\naws_secret_access_key = prod/secret\n")


def test_verify_checks_the_settings_profile_not_the_shells(verify_sandbox):
    deployed(verify_sandbox)
    write_profiles(verify_sandbox)
    verify_sandbox.path(".claude/settings.json").write_text(
        json.dumps({"env": {"AWS_PROFILE": "prod", "AWS_REGION": "us-east-1"}}))

    result = verify(verify_sandbox)

    assert result.returncode == 0, result.output
    detail = checks(result)["AWS credentials available"][1]
    assert detail.startswith("profile prod, credentials from ~/.aws/credentials, AWS_REGION us-east-1")
    assert "sign for us-west-2" in detail and "--data aws_region=us-east-1" in detail
    assert "prod/secret" not in result.output


def test_an_sso_profile_without_a_login_fails_with_the_login_command(verify_sandbox):
    deployed(verify_sandbox)
    write_profiles(verify_sandbox)
    verify_sandbox.path(".claude/settings.json").write_text(json.dumps({"env": {"AWS_PROFILE": "dev"}}))

    result = verify(verify_sandbox)

    assert result.returncode != 0
    assert list(failed(result)) == ["AWS credentials available"], result.output
    assert "fix: aws sso login --profile dev" in result.output


def test_a_settings_profile_that_does_not_exist_fails_naming_the_setting(verify_sandbox):
    deployed(verify_sandbox)
    verify_sandbox.path(".claude").mkdir(exist_ok=True)
    verify_sandbox.path(".claude/settings.json").write_text(json.dumps({"env": {"AWS_PROFILE": "nope"}}))

    result = verify(verify_sandbox)

    assert list(failed(result)) == ["AWS credentials available"], result.output
    assert "AWS profile 'nope' (env.AWS_PROFILE in ~/.claude/settings.json)" in result.output
    assert "aws configure --profile nope" in result.output


def test_missing_claude_fails_its_own_line(verify_sandbox):
    deployed(verify_sandbox)
    verify_sandbox.env["PATH"] = os.pathsep.join([str(BIN), "/usr/bin", "/bin",
                                                  str(verify_sandbox.path(".local/bin"))])

    result = verify(verify_sandbox)

    assert result.returncode != 0
    assert list(failed(result)) == ["claude on PATH"], result.output


def test_each_broken_piece_fails_with_its_own_line_at_once(verify_sandbox):
    deployed(verify_sandbox, litellm_source="fork")
    verify_sandbox.path(".local/bin/openClaude").unlink()
    for name in AWS_ENV:
        verify_sandbox.env.pop(name, None)

    result = verify(verify_sandbox, litellm_source="release")

    assert result.returncode != 0
    assert set(failed(result)) == {
        "LiteLLM installed from the expected source",
        "launcher present, executable, syntax-valid",
        "launcher and its alias both run it",
        "AWS credentials available",
    }, result.output
    assert "openClaude: failed:" in result.output


def test_a_retired_model_fails_verify_while_deploy_only_warned(verify_sandbox):
    # Its window (200000) set too: the context check has nothing to say.
    retired = {"oauth_haiku_model": "anthropic/claude-3-opus-20240229", "haiku_context_window": 200000}
    deployed(verify_sandbox)
    warned = deployed(verify_sandbox, **retired)
    assert f"claude-3-opus-20240229: retired on {RETIRED}" in warned.output

    result = verify(verify_sandbox, **retired)
    assert result.returncode != 0
    assert failed(result) == {
        "model ids current": f"claude-3-opus-20240229: retired on {RETIRED}; pin a current "
                             "model with --data"}


def test_a_local_directory_source_passes_and_a_wrong_one_names_what_is_installed(
        verify_sandbox, local_sources):
    directory = local_sources["directory"]
    deployed(verify_sandbox, litellm_release=f"litellm[proxy] @ file://{directory}/")

    result = verify(verify_sandbox, litellm_release=str(directory))
    assert result.returncode == 0, result.output
    assert checks(result)["LiteLLM installed from the expected source"][0], result.output

    wrong = verify(verify_sandbox, litellm_release=str(local_sources["wheel"]))
    assert wrong.returncode != 0
    assert failed(wrong)["LiteLLM installed from the expected source"] == (
        f"installed from litellm[proxy] @ file://{directory}, "
        f"expected {local_sources['wheel']}"), wrong.output


def test_settings_the_launcher_refuses_fail_verify_with_the_launchers_message_and_fix(
        verify_sandbox):
    deployed(verify_sandbox)
    settings = verify_sandbox.path(".claude/settings.json")
    settings.parent.mkdir(exist_ok=True)
    settings.write_text('{"model": "x",\n  "env": {"A": "1",}\n}')  # a trailing comma

    launch = subprocess.run([str(verify_sandbox.path(".local/bin/openclaude")), "-p", "hi"],
                            env=verify_sandbox.env, capture_output=True, text=True, timeout=120)
    assert launch.returncode != 0
    [refusal] = [line for line in launch.stderr.splitlines() if "invalid JSON" in line]
    home = str(verify_sandbox.home)

    result = verify(verify_sandbox)
    assert result.returncode != 0
    assert list(failed(result)) == ["user settings usable by the launcher"], result.output
    detail = failed(result)["user settings usable by the launcher"]
    fix = next(line for line in result.output.splitlines() if "fix: Fix that file" in line)
    message = f"openClaude: {detail}. {fix.split('fix: ', 1)[1]}"
    assert message == refusal.replace(home, "~"), (message, refusal)


def test_live_fails_a_tier_whose_claude_exits_0_without_calling_the_proxy(verify_sandbox):
    port = free_port()
    deployed(verify_sandbox, litellm_port=port)
    # A proxy that answers its health check but never records a request; the stub claude
    # exits 0 without calling it.
    litellm = verify_sandbox.path(".local/bin/litellm")
    litellm.unlink()
    shutil.copy(FAKES / "litellm", litellm)
    launcher = str(verify_sandbox.path(".local/bin/openClaude"))
    try:
        result = verify(verify_sandbox, litellm_port=port, live=True)
    finally:
        subprocess.run([launcher, "--stop"], env=verify_sandbox.env, capture_output=True, timeout=60)

    assert result.returncode != 0
    table = [line for line in result.output.splitlines() if re.search(r"(PASS|FAIL)  live ", line)]
    for slot in ("opus", "sonnet", "haiku"):
        [line] = [line for line in table if f"live {slot} prompt" in line]
        assert "FAIL" in line and f"the proxy recorded no {slot} request reaching" in line, result.output
    assert "PASS  proxy starts and answers its health check" in result.output


def table_lines(result) -> list:
    return [line for line in result.output.splitlines() if LINE.search(line)]


def confirmed_run(sandbox, *options):
    """verify.py as a person runs it without -y: pyinfra's change detection, then Enter."""
    args = pyinfra_command("@local", "verify.py", *options, data=sandbox.data, yes=False,
                           json_output=False)
    return subprocess.run(args, cwd=REPO, env=sandbox.env, capture_output=True, text=True,
                          input="\n", timeout=300)


def test_a_passing_verify_reads_as_no_change_with_one_table_and_no_error(verify_sandbox):
    deployed(verify_sandbox)
    result = verify(verify_sandbox)
    assert (result.returncode, result.changed, result.errors) == (0, 0, 0), result.output
    assert len(table_lines(result)) == len(CHECKS), result.output
    for noise in ("Error:", "error:", "No hosts remaining"):
        assert noise not in result.stderr, result.stderr

    for options in ((), ("--dry",)):
        run = confirmed_run(verify_sandbox, *options)
        output = run.stdout + run.stderr
        assert run.returncode == 0, output
        assert len([line for line in output.splitlines() if LINE.search(line)]) == len(CHECKS), \
            output
        assert "No hosts remaining" not in output and "Error:" not in output, output


def test_a_failing_check_exits_non_zero_without_pyinfra_errors_or_changes(verify_sandbox):
    deployed(verify_sandbox)
    verify_sandbox.env["PATH"] = os.pathsep.join(  # no claude
        [str(BIN), "/usr/bin", "/bin", str(verify_sandbox.path(".local/bin"))])
    result = verify(verify_sandbox)
    assert result.returncode == 1, result.output
    assert (result.changed, result.errors) == (0, 0), result.output
    assert json.loads(result.stdout)["results"]["failed_hosts"] == ["@local"]
    assert list(failed(result)) == ["claude on PATH"]
    assert len(table_lines(result)) == len(CHECKS), result.output
    assert "openClaude: failed: claude on PATH" in result.stderr
    assert "No hosts remaining" not in result.stderr and "executed 0 commands" not in result.stderr

    for options in ((), ("--dry",)):
        run = confirmed_run(verify_sandbox, *options)
        output = run.stdout + run.stderr
        assert run.returncode == 1, output
        assert output.count("openClaude: failed: claude on PATH") == 1, output


@pytest.mark.parametrize("key", ["sk-1234\n", "sk-" + "f" * 63 + "\n", "\nsk-" + "0" * 64 + "\n"],
                         ids=["public-sk-1234", "too-short", "second-line"])
def test_a_weak_or_malformed_master_key_fails_verify_naming_the_file(verify_sandbox, key):
    deployed(verify_sandbox)
    verify_sandbox.path(".litellm/master.key").write_text(key)

    result = verify(verify_sandbox)
    assert result.returncode != 0
    assert failed(result) == {
        "master key present and private": "~/.litellm/master.key holds no LiteLLM key"}, \
        result.output


def test_an_unparseable_litellm_requirement_fails_its_own_line(verify_sandbox):
    deployed(verify_sandbox)
    result = verify(verify_sandbox, litellm_release="litellm[[proxy]")
    assert result.returncode == 1, result.output
    assert "Traceback" not in result.output
    assert list(failed(result)) == ["LiteLLM installed from the expected source"], result.output
    assert "not a valid requirement" in failed(result)["LiteLLM installed from the expected source"]
