"""The launcher gives the proxy the AWS identity the user's Claude Code used (issue #13): the
settings' AWS_* over the shell's, awsAuthRefresh, awsCredentialExport through botocore's
credential_process, a record that restarts the proxy when its identity or port changes.

Real botocore resolves credentials from a sandbox ~/.aws (distinct keys per profile); the fake
proxy (tests/fakes/litellm) signs Converse requests with botocore in the environment the
launcher gave it, and the SigV4-checking Bedrock stand-in says which key and region signed."""

from __future__ import annotations

import json
import shlex
import stat
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.bash32 import launcher_bash  # noqa: F401  (fixture)
from tests.fake_launcher import claude_arguments
from tests.standins.bedrock import BedrockStandin
from tests.support.processes import alive, free_port, wait_until
from tests.test_launcher import launcher  # noqa: F401  (fixture)

PROFILES = {
    "dev": ("AKIAOPENCLAUDEDEV001", "dev/secret/0000000000000000000000000"),
    "prod": ("AKIAOPENCLAUDEPROD01", "prod/secret/000000000000000000000000"),
    "other": ("AKIAOPENCLAUDEOTHER1", "other/secret/00000000000000000000000"),
}
SHELL_KEY = ("AKIAOPENCLAUDESHELL1", "shell/secret/00000000000000000000000")
REFRESHED_KEY = ("AKIAOPENCLAUDEFRESH1", "fresh/secret/00000000000000000000000")
EXPORT_KEYS = {
    "first": ("ASIAOPENCLAUDEEXP001", "export/first/secret/000000000000000", "token-first-0001"),
    "second": ("ASIAOPENCLAUDEEXP002", "export/second/secret/00000000000000", "token-second-001"),
}
SECRETS = [pair[1] for pair in (*PROFILES.values(), SHELL_KEY, REFRESHED_KEY)] + [
    part for key in EXPORT_KEYS.values() for part in key[1:]]


@pytest.fixture
def bedrock():
    standin = BedrockStandin(*PROFILES["dev"], region="us-west-2").start()
    for pair in (*PROFILES.values(), SHELL_KEY, REFRESHED_KEY):
        standin.keys[pair[0]] = (pair[1], None)
    for key_id, secret, token in EXPORT_KEYS.values():
        standin.keys[key_id] = (secret, token)
    yield standin
    standin.stop()


@pytest.fixture
def aws(launcher, bedrock):
    """The launcher's home with ~/.aws profiles dev, prod and other, its fake proxy signing for
    the Bedrock stand-in."""
    directory = launcher.home / ".aws"
    (directory / "config").write_text(
        "".join(f"[profile {name}]\nregion = us-east-1\n" for name in PROFILES))
    (directory / "credentials").write_text("".join(
        f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
        for name, (key, secret) in PROFILES.items()))
    launcher.env["FAKE_LITELLM_BEDROCK"] = bedrock.url
    return launcher


def settings(launcher, **content) -> None:
    launcher.user_settings.write_text(json.dumps(content))


def signed_by(launcher, bedrock) -> tuple[int, str | None]:
    """One Converse call through the running fake proxy: (Bedrock's status, the key it saw)."""
    before = len(bedrock.requests.snapshot())
    url = f"http://127.0.0.1:{launcher.port}/bedrock"
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST")) as reply:
        status = int(reply.read())
    [request] = bedrock.requests.snapshot()[before:]
    return status, request["access_key"]


def proxy_env(launcher) -> dict:
    return launcher.recorded("litellm")[-1]["env"]


def assert_no_secret_in_files_or(launcher, *outputs: str) -> None:
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text
    for path in [launcher.pid_file, launcher.log, *launcher.home.joinpath(".litellm").glob("*")]:
        if path.is_file():
            for secret in SECRETS:
                assert secret not in path.read_text(errors="replace"), path


def write_keys(path: Path, profile: str, pair: tuple) -> str:
    """Shell lines writing ``pair`` as ``profile``'s keys into the credentials file ``path``."""
    text = f"[{profile}]\naws_access_key_id = {pair[0]}\naws_secret_access_key = {pair[1]}\n"
    return f"printf '%s' {shlex.quote(text)} > {shlex.quote(str(path))}\n"


def expiring_export(current: Path, calls: Path) -> str:
    """An awsCredentialExport stand-in: prints the EXPORT_KEYS pair named in ``current``, expiring
    in 9 minutes (inside botocore's mandatory refresh window, so every signing asks again, as
    near the end of a real session's hour), and counts its calls in ``calls``."""
    program = (
        "import datetime, json, sys; "
        f"key = {EXPORT_KEYS!r}[open(sys.argv[1]).read().strip()]; "
        "expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=9); "
        "print(json.dumps({'Credentials': {'AccessKeyId': key[0], 'SecretAccessKey': key[1], "
        "'SessionToken': key[2], 'Expiration': expires.isoformat()}}))")
    return (f"echo call >> {shlex.quote(str(calls))}\n"
            f"exec {shlex.quote(sys.executable)} -c {shlex.quote(program)} "
            f"{shlex.quote(str(current))}\n")


def script(launcher, name: str, body: str) -> str:
    path = launcher.root / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("mode", ["oauth", "bedrock"])
def test_the_settings_profile_signs_over_the_shells_profile_and_keys(aws, bedrock, mode):
    aws.render(OPENCLAUDE_MODE=mode)
    settings(aws, env={"AWS_PROFILE": "dev", "AWS_REGION": "us-east-1"})

    result = aws.run(AWS_PROFILE="other", AWS_ACCESS_KEY_ID=SHELL_KEY[0],
                     AWS_SECRET_ACCESS_KEY=SHELL_KEY[1])

    assert result.returncode == 0, result.stderr
    env = proxy_env(aws)
    assert env["AWS_PROFILE"] == "dev" and env["AWS_REGION"] == "us-east-1"
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert signed_by(aws, bedrock) == (200, PROFILES["dev"][0])
    assert_no_secret_in_files_or(aws, result.stdout, result.stderr)


def test_without_aws_settings_the_shells_identity_signs(aws, bedrock):
    result = aws.run(AWS_PROFILE="other")

    assert result.returncode == 0, result.stderr
    assert proxy_env(aws)["AWS_PROFILE"] == "other"
    assert signed_by(aws, bedrock) == (200, PROFILES["other"][0])


def test_settings_keys_reach_the_proxy_without_being_written_anywhere(aws, bedrock):
    settings(aws, env={"AWS_ACCESS_KEY_ID": SHELL_KEY[0], "AWS_SECRET_ACCESS_KEY": SHELL_KEY[1]})

    result = aws.run()

    assert result.returncode == 0, result.stderr
    assert signed_by(aws, bedrock) == (200, SHELL_KEY[0])
    status = aws.run("--status")
    assert "environment variables (settings env)" in status.stdout
    assert_no_secret_in_files_or(aws, result.stderr, status.stdout)


def test_a_profile_switch_between_launches_restarts_the_proxy_once_saying_so(aws, bedrock):
    settings(aws, env={"AWS_PROFILE": "dev"})
    assert aws.run().returncode == 0
    first = aws.proxy_pid()
    assert signed_by(aws, bedrock)[1] == PROFILES["dev"][0]

    settings(aws, env={"AWS_PROFILE": "prod"})
    switched = aws.run()

    assert switched.returncode == 0, switched.stderr
    [line] = [line for line in switched.stderr.splitlines() if "restarting" in line]
    assert "the AWS identity changed (was: profile dev" in line and "now: profile prod" in line
    assert aws.proxy_pid() != first and wait_until(lambda: not alive(first))
    assert signed_by(aws, bedrock) == (200, PROFILES["prod"][0])
    assert len(aws.recorded("litellm")) == 2


def test_new_shell_credentials_replace_the_ones_the_proxy_kept(aws, bedrock):
    assert aws.run(AWS_ACCESS_KEY_ID=SHELL_KEY[0], AWS_SECRET_ACCESS_KEY=SHELL_KEY[1]).returncode == 0
    assert signed_by(aws, bedrock)[1] == SHELL_KEY[0]

    renewed = aws.run(AWS_ACCESS_KEY_ID=REFRESHED_KEY[0], AWS_SECRET_ACCESS_KEY=REFRESHED_KEY[1])

    assert "the AWS identity changed" in renewed.stderr
    assert signed_by(aws, bedrock) == (200, REFRESHED_KEY[0])


def test_unrelated_settings_edits_keep_the_proxy(aws):
    settings(aws, env={"AWS_PROFILE": "dev"})
    assert aws.run().returncode == 0
    pid = aws.proxy_pid()

    settings(aws, env={"AWS_PROFILE": "dev"}, theme="dark")
    result = aws.run()

    assert result.returncode == 0 and "restarting" not in result.stderr
    assert aws.proxy_pid() == pid and len(aws.recorded("litellm")) == 1


def log_python_calls(aws) -> Path:
    """Render the launcher with a python that logs each call's arguments; the log's path."""
    log = aws.root / "python-calls"
    wrapper = script(aws, "python", f'printf "%s\\n" "$*" >> {log}\nexec {sys.executable} "$@"\n')
    aws.render(LAUNCHER_PYTHON=wrapper)
    return log


def test_a_start_after_stop_takes_the_identity_from_the_last_record_without_botocore(aws):
    log = log_python_calls(aws)
    settings(aws, env={"AWS_PROFILE": "dev"})
    assert aws.run().returncode == 0
    assert aws.run("--stop").returncode == 0
    log.write_text("")

    assert aws.run().returncode == 0

    calls = log.read_text().splitlines()
    assert [c for c in calls if " environment " in c] and not [c for c in calls if " resolve" in c]
    assert proxy_env(aws)["AWS_PROFILE"] == "dev" and len(aws.recorded("litellm")) == 2
    settings(aws, env={"AWS_PROFILE": "prod"})
    assert aws.run("--stop").returncode == 0
    assert aws.run().returncode == 0
    assert [c for c in log.read_text().splitlines() if " resolve" in c]  # inputs changed
    assert proxy_env(aws)["AWS_PROFILE"] == "prod"


def test_the_warm_start_does_not_resolve_the_identity_again(aws):
    log = log_python_calls(aws)
    settings(aws, env={"AWS_PROFILE": "dev"})
    assert aws.run().returncode == 0

    log.write_text("")
    assert aws.run().returncode == 0

    calls = log.read_text().splitlines()
    assert calls and not [call for call in calls if " resolve" in call], calls


def test_a_port_change_restarts_the_proxy_on_the_new_port_at_once(aws):
    settings(aws, env={"AWS_PROFILE": "dev"})
    assert aws.run().returncode == 0
    old_pid, old_port = aws.proxy_pid(), aws.port
    new_port = free_port()
    aws.render(LITELLM_PORT=str(new_port), HEALTH_TIMEOUT="60")

    status = aws.run("--status")
    assert f"the proxy listens on {old_port}" in status.stdout
    result = aws.run(timeout=30)

    assert result.returncode == 0, result.stderr
    assert f"the port changed ({old_port} -> {new_port})" in result.stderr
    assert wait_until(lambda: not alive(old_pid))
    assert [r["argv"][-1] for r in aws.recorded("litellm")] == [str(old_port), str(new_port)]


def test_auth_refresh_runs_before_the_proxy_starts_and_its_output_is_shown(aws, bedrock):
    credentials = aws.home / ".aws" / "credentials"
    credentials.write_text("")  # profile dev exists in ~/.aws/config, its keys do not yet
    refresh = script(aws, "refresh", "echo 'refresh stand-in: opening the browser'\n"
                     + write_keys(credentials, "dev", REFRESHED_KEY))
    settings(aws, awsAuthRefresh=refresh, env={"AWS_PROFILE": "dev"})

    result = aws.run()

    assert result.returncode == 0, result.stderr
    shown = result.stderr.index("refresh stand-in: opening the browser")
    assert "running awsAuthRefresh from" in result.stderr
    assert shown < result.stderr.index("Starting LiteLLM proxy")
    assert signed_by(aws, bedrock) == (200, REFRESHED_KEY[0])


def test_credentials_gone_from_a_running_proxys_profile_are_refreshed_then_it_restarts(
        aws, bedrock):
    credentials = aws.home / ".aws" / "credentials"
    refresh = script(aws, "refresh", write_keys(credentials, "dev", REFRESHED_KEY))
    settings(aws, awsAuthRefresh=refresh, env={"AWS_PROFILE": "dev"})
    assert aws.run().returncode == 0
    first = aws.proxy_pid()
    assert signed_by(aws, bedrock)[1] == PROFILES["dev"][0]
    credentials.write_text("")

    result = aws.run()

    assert result.returncode == 0, result.stderr
    assert "running awsAuthRefresh" in result.stderr
    assert "the AWS identity changed" in result.stderr
    assert aws.proxy_pid() != first
    assert signed_by(aws, bedrock) == (200, REFRESHED_KEY[0])


def test_credential_export_is_refreshed_by_the_proxy_during_a_session(aws, bedrock):
    current = aws.root / "current-export-key"
    current.write_text("first")
    calls = aws.root / "export-calls"
    export = script(aws, "export", expiring_export(current, calls))
    settings(aws, awsCredentialExport=export, env={"AWS_PROFILE": "dev"})

    result = aws.run()

    assert result.returncode == 0, result.stderr
    pid = aws.proxy_pid()
    assert signed_by(aws, bedrock) == (200, EXPORT_KEYS["first"][0])
    # The first credentials expire: Bedrock refuses them from now on, the source gives new ones.
    del bedrock.keys[EXPORT_KEYS["first"][0]]
    current.write_text("second")
    assert signed_by(aws, bedrock) == (200, EXPORT_KEYS["second"][0])
    assert aws.proxy_pid() == pid and len(aws.recorded("litellm")) == 1
    assert len(calls.read_text().split()) >= 3  # the launcher's check, then the proxy's own
    generated = aws.config.parent / "openclaude-aws-config"
    assert stat.S_IMODE(generated.stat().st_mode) == 0o600
    assert "credential_process" in generated.read_text()
    status = aws.run("--status")
    assert "awsCredentialExport" in status.stdout and "expire" in status.stdout
    assert_no_secret_in_files_or(aws, result.stderr, status.stdout)


def test_credential_export_signs_over_keys_left_in_the_shell(aws, bedrock):
    """botocore takes keys from the environment before any profile: the export's profile would
    lose to a shell's stale keys (another account) unless the launcher drops them."""
    current = aws.root / "current-export-key"
    current.write_text("first")
    export = script(aws, "export", expiring_export(current, aws.root / "export-calls"))
    settings(aws, awsCredentialExport=export)

    result = aws.run(AWS_ACCESS_KEY_ID=SHELL_KEY[0], AWS_SECRET_ACCESS_KEY=SHELL_KEY[1])

    assert result.returncode == 0, result.stderr
    assert signed_by(aws, bedrock) == (200, EXPORT_KEYS["first"][0])
    assert "AWS_ACCESS_KEY_ID" not in proxy_env(aws)


def test_status_shows_the_identity_and_the_region_to_align(aws):
    settings(aws, env={"AWS_PROFILE": "dev", "AWS_REGION": "us-east-1"})
    aws.config.write_text(
        "model_list:\n  - model_name: qwen-3-coder\n"
        "    litellm_params: {model: bedrock/converse/qwen.qwen3-next-80b-a3b, aws_region_name: us-west-2}\n")
    before = aws.run("--status")
    assert "profile dev" in before.stdout and "what the next launch uses" in before.stdout
    assert aws.run().returncode == 0

    status = aws.run("--status")

    assert "aws:     profile dev, credentials from ~/.aws/credentials" in status.stdout.replace(
        str(aws.home), "~")
    assert "AWS_REGION us-east-1" in status.stdout
    assert "sign for us-west-2" in status.stdout and "--data aws_region=us-east-1" in status.stdout
    assert_no_secret_in_files_or(aws, status.stdout)


# --- bad input: a clear message naming the setting, claude not started, no file lost ---------
# The all-Bedrock state needs AWS for every tier; the OAuth state starts without (below).


def launch_refused(launcher, *needles: str):
    """A launch, refused: non-zero, each needle in the message, neither claude nor the proxy
    started, and every file that existed before the launch as it was. The launch's result."""
    before = snapshot(launcher)
    result = launcher.refused(*needles, "claude was not started")
    assert launcher.recorded("litellm") == []
    after = snapshot(launcher)
    assert {path: body for path, body in after.items() if path in before} == before
    return result


def snapshot(launcher) -> dict:
    return {path: path.read_bytes() for path in launcher.home.rglob("*") if path.is_file()}


def test_a_profile_that_does_not_exist_is_named_with_the_fix(aws):
    aws.render(OPENCLAUDE_MODE="bedrock")
    settings(aws, env={"AWS_PROFILE": "nope"})
    launch_refused(aws, "AWS profile 'nope'", "env.AWS_PROFILE in", "aws configure --profile nope")


def test_a_failing_refresh_command_is_named_and_stops_the_launch(aws):
    aws.render(OPENCLAUDE_MODE="bedrock")
    (aws.home / ".aws" / "credentials").write_text("")
    refresh = script(aws, "refresh", "echo 'sso: session expired' >&2\nexit 3\n")
    settings(aws, awsAuthRefresh=refresh, env={"AWS_PROFILE": "dev"})
    launch_refused(aws, "awsAuthRefresh in", "failed with exit status 3", "sso: session expired")


def test_missing_credentials_without_a_refresh_command_name_the_login(aws):
    aws.render(OPENCLAUDE_MODE="bedrock")
    (aws.home / ".aws" / "config").write_text(
        "[profile dev]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n"
        "[sso-session corp]\nsso_start_url = https://example.invalid/start\nsso_region = us-east-1\n")
    (aws.home / ".aws" / "credentials").write_text("")
    settings(aws, env={"AWS_PROFILE": "dev"})
    launch_refused(aws, "aws sso login --profile dev")


def test_an_export_command_printing_garbage_is_named_with_the_fix(aws):
    aws.render(OPENCLAUDE_MODE="bedrock")
    export = script(aws, "export", "echo 'Enter MFA code: not json'\n")
    settings(aws, awsCredentialExport=export)
    result = launch_refused(aws, "awsCredentialExport in", "not credentials JSON",
                            '{"Credentials": {"AccessKeyId"')
    assert "Enter MFA code" not in result.stderr


def test_credentials_near_their_recorded_expiry_are_resolved_again_without_a_restart(aws):
    current, calls = aws.root / "current-export-key", aws.root / "export-calls"
    current.write_text("first")
    settings(aws, awsCredentialExport=script(aws, "export", expiring_export(current, calls)))
    assert aws.run().returncode == 0
    pid, record = aws.proxy_pid(), aws.pid_file.read_text().split("\n")
    assert int(record[5]) > time.time() + 300  # the expiry, ahead of the 5-minute margin
    resolved = calls.read_text().count("call")
    assert aws.run().returncode == 0 and calls.read_text().count("call") == resolved  # warm

    record[5] = str(int(time.time()) + 60)  # within 5 minutes of expiry
    for path in (aws.pid_file, Path(f"{aws.pid_file}.last")):  # the record and its kept copy
        path.write_text("\n".join(record))
    result = aws.run()

    assert result.returncode == 0 and "restarting" not in result.stderr
    assert calls.read_text().count("call") > resolved and aws.proxy_pid() == pid
    assert int(aws.pid_file.read_text().split("\n")[5]) > time.time() + 300


# --- the OAuth state without AWS: the subscription starts, Bedrock answers with the fix (#23) --


def test_oauth_launch_without_credentials_starts_claude_and_says_in_one_line_what_fails(aws):
    (aws.home / ".aws" / "credentials").write_text("")
    settings(aws, env={"AWS_PROFILE": "dev"})

    result = aws.run("-p", "hi")

    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "cannot work" in line]
    assert "no AWS credentials found for dev" in line and "fix: aws configure --profile dev" in line
    assert [claude_arguments(record) for record in aws.recorded("claude")] == [["-p", "hi"]]
    problem = proxy_env(aws)["OPENCLAUDE_AWS_PROBLEM"]
    assert "no AWS credentials found for dev" in problem and "fix: aws configure" in problem
    status = aws.run("--status").stdout
    assert "aws:     no usable credentials, Bedrock" in status, status
    assert "each launch checks again" in status


def test_without_credentials_each_launch_checks_again_and_keeps_the_proxy(aws):
    (aws.home / ".aws" / "credentials").write_text("")
    settings(aws, env={"AWS_PROFILE": "dev"})
    assert aws.run().returncode == 0
    pid = aws.proxy_pid()

    again = aws.run()

    assert again.returncode == 0 and "cannot work" in again.stderr
    assert "restarting" not in again.stderr
    assert aws.proxy_pid() == pid and len(aws.recorded("litellm")) == 1


def test_the_first_launch_after_the_fix_restarts_the_proxy_with_the_credentials(aws, bedrock):
    """The fix lands where the launcher's cheap inputs cannot see it (as an SSO login fills
    botocore's token cache): a credential_process that fails until a file appears."""
    fixed_mark = aws.root / "logged-in"
    process = script(aws, "credentials", (
        f"[ -f {shlex.quote(str(fixed_mark))} ] || {{ echo 'not logged in' >&2; exit 1; }}\n"
        f"printf '{{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\"}}' "
        f"{PROFILES['dev'][0]} {shlex.quote(PROFILES['dev'][1])}\n"))
    (aws.home / ".aws" / "config").write_text(f"[profile dev]\ncredential_process = {process}\n")
    (aws.home / ".aws" / "credentials").write_text("")
    settings(aws, env={"AWS_PROFILE": "dev"})
    assert "cannot work" in aws.run().stderr
    first = aws.proxy_pid()

    fixed_mark.touch()
    fixed = aws.run()

    assert fixed.returncode == 0, fixed.stderr
    assert "cannot work" not in fixed.stderr
    [line] = [line for line in fixed.stderr.splitlines() if "restarting" in line]
    assert "the AWS identity changed (was: no usable credentials" in line
    assert aws.proxy_pid() != first and "OPENCLAUDE_AWS_PROBLEM" not in proxy_env(aws)
    assert signed_by(aws, bedrock) == (200, PROFILES["dev"][0])
    assert_no_secret_in_files_or(aws, fixed.stderr, fixed.stdout)


def test_a_failing_refresh_in_the_oauth_state_is_named_and_claude_starts(aws):
    (aws.home / ".aws" / "credentials").write_text("")
    refresh = script(aws, "refresh", "echo 'sso: browser closed' >&2\nexit 3\n")
    settings(aws, awsAuthRefresh=refresh, env={"AWS_PROFILE": "dev"})

    result = aws.run()

    assert result.returncode == 0, result.stderr
    assert "sso: browser closed" in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "cannot work" in line]
    assert "failed with exit status 3" in line
    assert len(aws.recorded("claude")) == 1
