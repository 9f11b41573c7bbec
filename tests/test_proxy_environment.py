"""Nothing of the user's Anthropic or Claude Code settings reaches the long-running proxy: the
launcher as rendered (tests/test_launcher.py's fixture) starting the fake ``litellm``, which
records its environment. LiteLLM reads ``ANTHROPIC_API_BASE`` and ``ANTHROPIC_BASE_URL`` as the
endpoint of an Anthropic deployment that names none: a corporate gateway's URL in the shell
would receive the user's OAuth token. The real LiteLLM's /proc/PID/environ is checked in
tests/test_guards_end_to_end.py."""

from __future__ import annotations

import pytest

from tests.bash32 import launcher_bash  # noqa: F401  (fixture)
from tests.test_launcher import launcher  # noqa: F401  (fixture)

GATEWAY = "http://127.0.0.1:9/corporate-gateway"
# A user's shell: each setting Claude Code or LiteLLM reads for Anthropic, each value its own.
USER_SHELL = {
    "ANTHROPIC_BASE_URL": GATEWAY,
    "ANTHROPIC_API_BASE": GATEWAY + "/v1",
    "ANTHROPIC_API_KEY": "sk-ant-api03-users-own-key",
    "ANTHROPIC_AUTH_TOKEN": "users-gateway-token",
    "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-users-plan-token",
    "ANTHROPIC_CUSTOM_HEADERS": "X-Corp-Team: blue",
    "ANTHROPIC_WORKSPACE_ID": "wrkspc-users-workspace",
    "ANTHROPIC_MODEL": "claude-opus-4-6",
    "CLAUDE_CODE_USE_BEDROCK": "1",
    "CLAUDE_CODE_USE_VERTEX": "1",
    "CLAUDE_CODE_USE_FOUNDRY": "1",
}


def proxy_environment(launcher, **shell) -> dict:  # noqa: F811
    result = launcher.run("-p", "hello", **shell)
    assert result.returncode == 0, result.stderr
    [proxy] = launcher.recorded("litellm")
    return proxy["env"]


@pytest.mark.parametrize("name", USER_SHELL)
def test_no_anthropic_setting_of_the_shell_reaches_the_proxy(launcher, name):  # noqa: F811
    env = proxy_environment(launcher, **{name: USER_SHELL[name]})
    assert name not in env
    if USER_SHELL[name] != "1":
        assert not [key for key, value in env.items() if USER_SHELL[name] in value]


def test_the_proxy_gets_no_anthropic_or_claude_variable_at_all(launcher):  # noqa: F811
    env = proxy_environment(launcher, **USER_SHELL, CLAUDE_CONFIG_DIR="/elsewhere",
                            ANTHROPIC_SOMETHING_NEW="a later Claude Code's setting")
    assert sorted(key for key in env if key.startswith(("ANTHROPIC_", "CLAUDE_"))) == []
    # What the proxy does need is still there.
    assert env["LITELLM_MASTER_KEY"] and env["AWS_EC2_METADATA_DISABLED"] == "true"


def test_claude_code_still_gets_the_shells_custom_headers_and_the_proxys_address(launcher):  # noqa: F811
    launcher.run("-p", "hello", **USER_SHELL)
    [claude] = launcher.recorded("claude")
    assert claude["env"]["ANTHROPIC_CUSTOM_HEADERS"].startswith("X-Corp-Team: blue\n")
    assert claude["env"]["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{launcher.port}"
