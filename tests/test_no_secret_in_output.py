"""Nothing secret in any output (issue #23): deploy (also with ``--debug`` and
``--debug-facts``), rollback, ``--dry --diff`` and verify at ``-vvv`` (pyinfra then prints every
fact's and command's output) never show the user's settings' tokens, the AWS keys in a sandbox
~/.aws, an organisation's managed settings or the master key, in any encoding: plain, base64 at
each of the three byte alignments (standard and URL-safe), hex, JSON-escaped."""

from __future__ import annotations

import base64
import json
import re

import pytest

MARK = "OPENCLAUDE-SECRET-MARK-7f3a9c"
SETTINGS_SECRETS = {
    "ANTHROPIC_AUTH_TOKEN": f"{MARK}-auth-token",
    "GITHUB_TOKEN": f"ghp_{MARK}-github",
    "AWS_SECRET_ACCESS_KEY": f"{MARK}/settings/aws/secret",
}
AWS_FILE_SECRET = f"{MARK}/aws-file/secret/0000000000"
MANAGED_SECRET = f"{MARK}-organisation-token"


def encodings(secret: str) -> set[str]:
    """Every form in which ``secret`` could be printed: plain, hex, JSON-escaped, and the part of
    its base64 that does not depend on the bytes around it, at each alignment."""
    raw = secret.encode()
    forms = {secret, raw.hex(), raw.hex().upper(), json.dumps(secret)[1:-1], json.dumps(secret)}
    for skip in range(3):
        part = raw[skip:]
        whole_groups = part[: len(part) - len(part) % 3]
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(whole_groups).decode())
    return forms


def assert_no_secret(label: str, output: str, secrets) -> None:
    squeezed = re.sub(r"\s+", "", output)  # base64 wrapped over lines
    for secret in secrets:
        for form in encodings(secret):
            assert form not in output and form not in squeezed, (
                f"{label}: a secret ({secret[:12]}...) appears as {form[:24]!r}")


@pytest.fixture
def marked(sandbox):
    """A sandbox whose user settings and ~/.aws hold marked secrets."""
    settings = sandbox.path(".claude/settings.json")
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"env": {**SETTINGS_SECRETS, "AWS_REGION": "us-west-2",
                                            "AWS_ACCESS_KEY_ID": "AKIAOPENCLAUDEMARK01"},
                                    "apiKeyHelper": f"echo {MARK}-helper"}))
    aws = sandbox.path(".aws")
    aws.mkdir()
    (aws / "credentials").write_text(
        f"[default]\naws_access_key_id = AKIAOPENCLAUDEMARK02\n"
        f"aws_secret_access_key = {AWS_FILE_SECRET}\n")
    # Managed settings are read under this root, not this machine's /etc.
    managed = sandbox.home.parent / "managed-root/etc/claude-code/managed-settings.json"
    managed.parent.mkdir(parents=True)
    managed.write_text(json.dumps({"env": {"ANTHROPIC_CUSTOM_HEADERS": f"x-org: {MANAGED_SECRET}"}}))
    sandbox.env = {**sandbox.env, "OPENCLAUDE_MANAGED_SETTINGS_ROOT": str(managed.parents[2])}
    return sandbox


def test_the_encodings_searched_find_a_secret_in_each_form():
    secret = f"{MARK}-probe"
    stream = b"prefix-" + secret.encode() + b"-suffix"
    for shift in range(3):
        shifted = b"x" * shift + stream
        assert_found = [form for form in encodings(secret)
                        if form in base64.b64encode(shifted).decode()]
        assert assert_found, shift
    assert any(form in stream.hex() for form in encodings(secret))
    assert any(form in json.dumps({"v": secret}) for form in encodings(secret))


def test_verbose_runs_print_no_secret_in_any_encoding(marked):
    secrets = [*SETTINGS_SECRETS.values(), AWS_FILE_SECRET, f"{MARK}-helper", MANAGED_SECRET]
    outputs = {}
    outputs["deploy"] = marked.pyinfra("deploy.py", "-vvv")
    assert outputs["deploy"].returncode == 0, outputs["deploy"].output[-3000:]
    master_key = marked.path(".litellm/master.key").read_text().strip()
    assert master_key.startswith("sk-")
    outputs["deploy again"] = marked.pyinfra("deploy.py", "-vvv", "--debug")
    outputs["debug facts"] = marked.pyinfra("deploy.py", "--debug-facts")
    outputs["rollback"] = marked.pyinfra("rollback.py", "-vvv")
    assert outputs["rollback"].returncode == 0, outputs["rollback"].output[-3000:]
    outputs["dry diff"] = marked.pyinfra("deploy.py", "--dry", "--diff", "-vvv")
    assert outputs["dry diff"].returncode == 0, outputs["dry diff"].output[-3000:]
    outputs["verify"] = marked.pyinfra("verify.py", "-vvv")

    # The runs printed facts and commands (else the search proves nothing).
    assert "Loaded fact" in outputs["deploy"].output or "fact" in outputs["deploy"].output.lower()
    assert "AWS credentials available" in outputs["verify"].output
    assert "managed-settings.json" in outputs["verify"].output  # verify read the managed file
    for label, result in outputs.items():
        assert_no_secret(label, result.output, [*secrets, master_key])
