"""files/openclaude_aws.py on its own: run as the launcher and verify.py run it, with real
botocore and a sandbox ~/.aws holding distinct keys per profile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from files import openclaude_aws
from tests.fake_launcher import REPO

SCRIPT = REPO / "files" / "openclaude_aws.py"
KEYS = {"dev": ("AKIAUNITDEV000000001", "unit/dev/secret"),
        "prod": ("AKIAUNITPROD00000001", "unit/prod/secret")}
CONFIG = ("model_list:\n  - model_name: qwen-3-coder\n"
          "    litellm_params: {model: bedrock/converse/qwen, aws_region_name: us-west-2}\n")


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".claude").mkdir()
    (home / ".litellm").mkdir()
    (home / ".aws" / "config").write_text(
        "[profile dev]\nregion = us-east-1\n[profile prod]\nregion = us-east-1\n")
    (home / ".aws" / "credentials").write_text("".join(
        f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
        for name, (key, secret) in KEYS.items()))
    (home / ".litellm" / "config.yaml").write_text(CONFIG)
    return home


def run(home: Path, command: str, settings: dict | None = None, **env: str):
    path = home / ".claude" / "settings.json"
    if settings is not None:
        path.write_text(json.dumps(settings))
    environment = {"HOME": str(home), "PATH": os.environ["PATH"], "AWS_EC2_METADATA_DISABLED": "true",
                   **env}
    return subprocess.run(
        [sys.executable, str(SCRIPT), command, str(path), str(home / ".litellm" / "config.yaml"),
         str(home / ".litellm" / "openclaude-aws-config")],
        env=environment, capture_output=True, text=True, timeout=60)


def lines(result) -> dict:
    found: dict = {}
    for line in result.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        found.setdefault(kind, []).append(rest)
    return found


def checked(home: Path, settings: dict | None = None, **env: str) -> dict:
    result = run(home, "check", settings, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_settings_profile_and_region_win_over_the_shells(home):
    result = run(home, "resolve", {"env": {"AWS_PROFILE": "dev", "AWS_REGION": "us-east-1"}},
                 AWS_PROFILE="prod", AWS_ACCESS_KEY_ID="AKIASHELL", AWS_SECRET_ACCESS_KEY="s")

    assert result.returncode == 0, result.stderr
    found = lines(result)
    assert "AWS_PROFILE=dev" in found["set"] and "AWS_REGION=us-east-1" in found["set"]
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(found["unset"])
    assert found["summary"] == ["profile dev, credentials from ~/.aws/credentials, AWS_REGION us-east-1"]
    assert "--data aws_region=us-east-1" in found["note"][0]
    assert all(secret not in result.stdout for _, secret in KEYS.values())


def test_without_settings_the_shells_profile_is_used(home):
    assert checked(home, {}, AWS_PROFILE="prod")["profile"] == "prod"


def test_the_fingerprint_tells_profiles_and_rotated_keys_apart_and_holds_no_secret(home):
    dev = checked(home, {"env": {"AWS_PROFILE": "dev"}})
    prod = checked(home, {"env": {"AWS_PROFILE": "prod"}})
    again = checked(home, {"env": {"AWS_PROFILE": "dev"}, "theme": "dark"})
    credentials = home / ".aws" / "credentials"
    credentials.write_text(credentials.read_text().replace("unit/dev/secret", "unit/dev/rotated"))
    rotated = checked(home, {"env": {"AWS_PROFILE": "dev"}})

    assert dev["fingerprint"] != prod["fingerprint"]
    assert dev["fingerprint"] == again["fingerprint"]
    assert dev["fingerprint"] != rotated["fingerprint"]
    assert "unit/dev" not in json.dumps(dev)


def test_no_region_note_when_the_regions_agree_or_aws_region_is_unset(home):
    assert checked(home, {"env": {"AWS_PROFILE": "dev", "AWS_REGION": "us-west-2"}})["note"] == ""
    assert checked(home, {"env": {"AWS_PROFILE": "dev"}})["note"] == ""


def test_a_missing_profile_names_the_setting_and_the_fix(home):
    found = checked(home, {"env": {"AWS_PROFILE": "nope"}})

    assert not found["ok"]
    assert "AWS profile 'nope' (env.AWS_PROFILE in" in found["problem"]
    assert "aws configure --profile nope" in found["problem"]


def test_expired_environment_credentials_are_refused_with_the_refresh_command(home):
    found = checked(home, {"awsAuthRefresh": "aws sso login --profile dev"},
                    AWS_ACCESS_KEY_ID="AKIAOLD", AWS_SECRET_ACCESS_KEY="old",
                    AWS_SESSION_TOKEN="t", AWS_CREDENTIAL_EXPIRATION="2020-01-01T00:00:00Z")

    assert not found["ok"]
    assert "run aws sso login --profile dev" in found["problem"]


def test_check_never_runs_the_refresh_command(home, tmp_path):
    marker = tmp_path / "refreshed"
    (home / ".aws" / "credentials").write_text("")
    found = checked(home, {"awsAuthRefresh": f"touch {marker}", "env": {"AWS_PROFILE": "dev"}})

    assert not found["ok"] and not marker.exists()
    assert f"run touch {marker}" in found["problem"]


def test_resolve_runs_the_refresh_command_once_and_shows_its_output(home):
    credentials = home / ".aws" / "credentials"
    credentials.write_text("")
    command = (f"echo refreshing; printf '[dev]\\naws_access_key_id = A\\naws_secret_access_key = B\\n'"
               f" > '{credentials}'")

    result = run(home, "resolve", {"awsAuthRefresh": command, "env": {"AWS_PROFILE": "dev"}})

    assert result.returncode == 0, result.stderr
    assert "refreshing" in result.stderr and "refreshing" not in result.stdout
    assert lines(result)["refreshed"] == ["yes"]


def test_credential_export_becomes_a_private_credential_process_profile(home, tmp_path):
    export = tmp_path / "export"
    export.write_text("#!/bin/sh\necho '{\"Credentials\": {\"AccessKeyId\": \"ASIAEXP\", "
                      "\"SecretAccessKey\": \"exp-secret\", \"SessionToken\": \"exp-token\", "
                      "\"Expiration\": \"2099-01-01T00:00:00Z\"}}'\n")
    export.chmod(0o755)

    result = run(home, "resolve", {"awsCredentialExport": str(export), "env": {"AWS_PROFILE": "dev"}})

    assert result.returncode == 0, result.stderr
    found = lines(result)
    generated = home / ".litellm" / "openclaude-aws-config"
    assert f"AWS_CONFIG_FILE={generated}" in found["set"]
    assert f"AWS_PROFILE={openclaude_aws.EXPORT_PROFILE}" in found["set"]
    assert found["expiry"] == ["4070908800"]
    assert "awsCredentialExport" in found["summary"][0]
    assert generated.stat().st_mode & 0o777 == 0o600
    assert "exp-secret" not in generated.read_text() and "exp-secret" not in result.stdout


def test_check_with_an_export_writes_nothing(home, tmp_path):
    export = tmp_path / "export"
    export.write_text("#!/bin/sh\necho '{\"Credentials\": {\"AccessKeyId\": \"A\", "
                      "\"SecretAccessKey\": \"B\"}}'\n")
    export.chmod(0o755)

    assert checked(home, {"awsCredentialExport": str(export)})["ok"]
    assert not (home / ".litellm" / "openclaude-aws-config").exists()


@pytest.mark.parametrize("printed, expected", [
    ("Enter MFA code:", "not credentials JSON"),
    ('{"Credentials": {"AccessKeyId": "A"}}', "not credentials JSON"),
    ("[1, 2]", "not credentials JSON"),
])
def test_credential_process_rejects_what_is_not_credentials_without_echoing_it(
        home, tmp_path, printed, expected):
    settings = home / ".claude" / "settings.json"
    settings.write_text(json.dumps({"awsCredentialExport": f"echo '{printed}'"}))

    result = subprocess.run([sys.executable, str(SCRIPT), "credential-process", str(settings)],
                            capture_output=True, text=True, env={"PATH": os.environ["PATH"]})

    assert result.returncode == 1 and result.stdout == ""
    assert expected in result.stderr and printed not in result.stderr


def test_credential_process_prints_the_process_format_and_hides_the_proxy_key(home):
    settings = home / ".claude" / "settings.json"
    settings.write_text(json.dumps({"awsCredentialExport": (
        "test -z \"$LITELLM_MASTER_KEY\" && echo '{\"Credentials\": {\"AccessKeyId\": \"A\", "
        "\"SecretAccessKey\": \"B\", \"SessionToken\": \"C\"}}'")}))

    result = subprocess.run([sys.executable, str(SCRIPT), "credential-process", str(settings)],
                            capture_output=True, text=True,
                            env={"PATH": os.environ["PATH"], "LITELLM_MASTER_KEY": "sk-x"})

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "B",
                                         "SessionToken": "C"}


@pytest.mark.parametrize("settings, needle", [
    ({"awsAuthRefresh": 5}, '"awsAuthRefresh" must be a shell command'),
    ({"env": {"AWS_PROFILE": ["dev"]}}, 'env "AWS_PROFILE" must be a string'),
    ({"env": {"AWS_PROFILE": "dev\nx"}}, "line break"),
])
def test_bad_aws_settings_are_named(home, settings, needle):
    result = run(home, "resolve", settings)

    assert result.returncode == 1 and result.stdout == ""
    assert needle in result.stderr and "claude was not started" in result.stderr


def test_region_note_names_the_data_line():
    note = openclaude_aws.region_note("eu-central-1", ["us-west-2"], "env.AWS_REGION in ~/x")

    assert note.endswith("--data aws_region=eu-central-1")
    assert openclaude_aws.region_note("us-west-2", ["us-west-2"], "x") == ""


def test_environment_gives_the_proxy_env_and_note_without_botocore(home, tmp_path):
    blocked = tmp_path / "blocked" / "botocore"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('botocore must not be imported')\n")

    result = run(home, "environment", {"env": {"AWS_PROFILE": "dev", "AWS_REGION": "us-east-1"}},
                 AWS_PROFILE="prod", AWS_ACCESS_KEY_ID="AKIASHELL",
                 PYTHONPATH=str(blocked.parent))

    assert result.returncode == 0, result.stderr
    found = lines(result)
    assert "AWS_PROFILE=dev" in found["set"] and "AWS_ACCESS_KEY_ID" in found["unset"]
    assert "--data aws_region=us-east-1" in found["note"][0]
    assert "fingerprint" not in found
    assert run(home, "check", PYTHONPATH=str(blocked.parent)).returncode != 0  # the block works


# --- resolve-or-none: the OAuth state starts without AWS (issue #23) --------------------------


def test_resolve_or_none_without_credentials_names_the_problem_and_the_fix_in_one_line(home):
    (home / ".aws" / "credentials").write_text("")
    settings = {"env": {"AWS_PROFILE": "dev"}}

    result = run(home, "resolve-or-none", settings)

    assert result.returncode == 0, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("openClaude: Bedrock (qwen-3-coder) cannot work: ")
    assert "fix: aws configure --profile dev" in line and "Starting anyway" in line
    found = lines(result)
    assert found["unavailable"] == [line.split("cannot work: ", 1)[1].split(". Starting")[0]]
    assert found["set"] == ["AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=dev"]
    # Never vouched for by the record: every launch resolves again until the fix.
    assert found["expiry"] == ["0"] and found["fingerprint"][0].startswith("unavailable-")
    assert found["summary"][0].startswith("no usable credentials, Bedrock (qwen-3-coder) requests fail")
    assert run(home, "resolve", settings).returncode == 1


def test_resolve_or_none_after_a_failed_refresh_names_the_refresh_command(home):
    (home / ".aws" / "credentials").write_text("")
    settings = {"awsAuthRefresh": "echo browser closed >&2; exit 4", "env": {"AWS_PROFILE": "dev"}}

    result = run(home, "resolve-or-none", settings)

    assert result.returncode == 0, result.stderr
    assert "browser closed" in result.stderr
    assert "failed with exit status 4" in lines(result)["unavailable"][0]


def test_resolve_or_none_with_credentials_resolves_as_resolve_does(home):
    settings = {"env": {"AWS_PROFILE": "dev"}}

    found, plain = lines(run(home, "resolve-or-none", settings)), lines(run(home, "resolve", settings))

    assert "unavailable" not in found and found == plain


def test_resolve_or_none_still_refuses_settings_it_cannot_read(home):
    (home / ".claude" / "settings.json").write_text("{not json")

    result = run(home, "resolve-or-none")

    assert result.returncode == 1 and "invalid JSON" in result.stderr
