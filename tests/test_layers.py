"""Claude Code's settings layers at launch (files/openclaude_layers.py): the ``--settings`` layer
that keeps Claude Code on the proxy, the project's layers, and managed settings' findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from files.openclaude_layers import (
    MANAGED_ROOT_ENV,
    effective_env,
    findings_in,
    launch_layer,
    managed_files,
    project_layers,
    proxy_headers,
    set_aside,
)

REPO = Path(__file__).resolve().parent.parent

URL = "http://127.0.0.1:4000"
KEY = "sk-openclaude-unit-key"


def test_the_users_headers_keep_their_lines_and_lose_any_proxy_key_line():
    headers = proxy_headers("X-Trace: 1\n  x-LiteLLM-api-key: Bearer stale\n\nX-Team: core", KEY)
    assert headers.splitlines() == ["X-Trace: 1", "X-Team: core", f"x-litellm-api-key: Bearer {KEY}"]
    assert proxy_headers(None, KEY) == f"x-litellm-api-key: Bearer {KEY}"


def test_the_oauth_layer_holds_the_proxy_and_switches_every_other_provider_and_credential_off():
    layer = launch_layer("oauth", URL, KEY, "X-Team: core")
    assert layer == {"apiKeyHelper": "", "env": {
        "ANTHROPIC_BASE_URL": URL, "CLAUDE_CODE_USE_BEDROCK": "", "CLAUDE_CODE_USE_VERTEX": "",
        "CLAUDE_CODE_USE_FOUNDRY": "", "ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": "",
        "ANTHROPIC_CUSTOM_HEADERS": f"X-Team: core\nx-litellm-api-key: Bearer {KEY}"}}


def test_the_bedrock_layer_authenticates_with_the_proxy_key_and_leaves_the_headers_alone():
    env = launch_layer("bedrock", URL, KEY, "X-Team: core")["env"]
    assert env["ANTHROPIC_API_KEY"] == KEY and "ANTHROPIC_AUTH_TOKEN" not in env
    assert "ANTHROPIC_CUSTOM_HEADERS" not in env and env["CLAUDE_CODE_USE_BEDROCK"] == ""


def write(path: Path, settings) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))
    return path


def test_project_layers_are_read_at_the_git_root_the_local_file_first(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src/deep").mkdir(parents=True)
    local = write(repo / ".claude/settings.local.json", {"env": {"ANTHROPIC_CUSTOM_HEADERS": "X-A: local"}})
    shared = write(repo / ".claude/settings.json", {"env": {"ANTHROPIC_CUSTOM_HEADERS": "X-A: project"}})
    layers = project_layers(str(repo / "src/deep"))
    assert [path for path, _ in layers] == [str(local), str(shared)]
    assert effective_env("ANTHROPIC_CUSTOM_HEADERS", layers, {}) == "X-A: local"


def test_without_git_the_working_directory_is_the_project(tmp_path):
    write(tmp_path / ".claude/settings.json", {"env": {"X": "1"}})
    (tmp_path / "sub").mkdir()
    assert project_layers(str(tmp_path / "sub")) == []
    assert len(project_layers(str(tmp_path))) == 1


def test_the_highest_layer_that_sets_the_headers_wins_then_the_shell():
    layers = [("project", {"env": {"OTHER": "1"}}), ("user", {"env": {"ANTHROPIC_CUSTOM_HEADERS": "X: user"}})]
    assert effective_env("ANTHROPIC_CUSTOM_HEADERS", layers, {"ANTHROPIC_CUSTOM_HEADERS": "X: shell"}) == "X: user"
    assert effective_env("ANTHROPIC_CUSTOM_HEADERS", layers[:1], {"ANTHROPIC_CUSTOM_HEADERS": "X: shell"}) == "X: shell"


def test_set_aside_names_each_layers_displacing_settings_without_values():
    text = set_aside([("/u/settings.json", {"apiKeyHelper": "h", "env": {"ANTHROPIC_API_KEY": "sk-x"}}),
                      ("/p/.claude/settings.json", {"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}})])
    assert text == ("apiKeyHelper env.ANTHROPIC_API_KEY (from /u/settings.json); "
                    "env.CLAUDE_CODE_USE_BEDROCK (from /p/.claude/settings.json)")
    assert "sk-x" not in text


def test_managed_files_are_the_file_then_the_drop_ins_in_order(tmp_path):
    write(tmp_path / "managed-settings.d/20-b.json", {})
    write(tmp_path / "managed-settings.d/10-a.json", {})
    (tmp_path / "managed-settings.d/notes.txt").write_text("x")
    assert managed_files(str(tmp_path)) == [str(tmp_path / name) for name in (
        "managed-settings.json", "managed-settings.d/10-a.json", "managed-settings.d/20-b.json")]


BYPASSING = {
    "env": {"CLAUDE_CODE_USE_BEDROCK": "true", "CLAUDE_CODE_USE_VERTEX": "0",
            "ANTHROPIC_BASE_URL": "https://gateway.example", "ANTHROPIC_CUSTOM_HEADERS": "X: 1",
            "ANTHROPIC_API_KEY": "sk-secret"},
    "apiKeyHelper": "/bin/helper", "forceLoginMethod": "console",
}


def test_managed_settings_that_bypass_the_proxy_or_the_subscription_are_named_by_file_and_key():
    findings = findings_in({"/etc/claude-code/managed-settings.json": json.dumps(BYPASSING)}, "oauth", URL)
    keys = ["env.ANTHROPIC_BASE_URL", "env.CLAUDE_CODE_USE_BEDROCK", "env.ANTHROPIC_CUSTOM_HEADERS",
            "env.ANTHROPIC_API_KEY", "apiKeyHelper", "forceLoginMethod"]
    assert len(findings) == len(keys)
    for finding, key in zip(findings, keys):
        assert finding.startswith(f"managed settings /etc/claude-code/managed-settings.json: {key} ")
        assert "\n" not in finding and "sk-secret" not in finding
    assert "VERTEX" not in " ".join(findings), "a false switch bypasses nothing"


def test_managed_settings_in_the_all_bedrock_state_name_what_replaces_the_proxy_key():
    findings = findings_in({"/m.json": json.dumps(BYPASSING)}, "bedrock", URL)
    assert [f.split(": ", 1)[1].split(" ", 1)[0] for f in findings] == [
        "env.ANTHROPIC_BASE_URL", "env.CLAUDE_CODE_USE_BEDROCK", "env.ANTHROPIC_API_KEY", "apiKeyHelper"]


def test_harmless_or_broken_managed_settings_give_no_finding():
    texts = {"/a.json": json.dumps({"env": {"ANTHROPIC_BASE_URL": URL + "/", "DISABLE_TELEMETRY": "1"},
                                    "permissions": {"deny": ["Bash(rm:*)"]}}),
             "/b.json": "{not json"}
    assert findings_in(texts, "oauth", URL) == []


def run_main(tmp_path, cwd, env=None, managed="/etc/claude-code"):
    source = write(tmp_path / "claude/settings.json",
                   {"env": {"ANTHROPIC_CUSTOM_HEADERS": "X-Team: core", "ANTHROPIC_API_KEY": "sk-x"}})
    key_file = tmp_path / "master.key"
    key_file.write_text(KEY + "\n")
    argv = [sys.executable, str(REPO / "files/openclaude_layers.py"), str(source),
            str(tmp_path / "openClaude/settings.json"), json.dumps({"haiku": "qwen-3-coder"}), "oauth",
            URL, str(key_file), str(tmp_path / "layers"), managed]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=30,
                          env={"PATH": os.environ["PATH"], **(env or {})})


def test_the_launch_entry_writes_a_private_layer_and_names_managed_findings(tmp_path):
    project = tmp_path / "project"
    write(project / ".claude/settings.json", {"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}})
    root = tmp_path / "root"
    write(root / "etc/claude-code/managed-settings.d/50-bedrock.json", {"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}})
    done = run_main(tmp_path, project, {MANAGED_ROOT_ENV: str(root)})
    assert done.returncode == 0, done.stderr
    set_aside_line, layer_path = done.stdout.splitlines()
    assert set_aside_line == (f"env.ANTHROPIC_API_KEY (from {tmp_path}/claude/settings.json); "
                              f"env.CLAUDE_CODE_USE_BEDROCK (from {project}/.claude/settings.json)")
    layer = Path(layer_path)
    assert layer.parent == tmp_path / "layers" and layer.stat().st_mode & 0o777 == 0o600
    assert json.loads(layer.read_text())["env"]["ANTHROPIC_CUSTOM_HEADERS"] == (
        f"X-Team: core\nx-litellm-api-key: Bearer {KEY}")
    assert done.stderr == (f"openClaude: managed settings {root}/etc/claude-code/managed-settings.d/"
                           "50-bedrock.json: env.CLAUDE_CODE_USE_BEDROCK makes Claude Code call Bedrock "
                           "itself, so Claude Code bypasses the openClaude proxy; ask your administrator "
                           "(managed settings outrank openClaude's).\n")
    again = run_main(tmp_path, project, {MANAGED_ROOT_ENV: str(root)})
    assert again.stdout.splitlines()[1] == layer_path, "the same layer is the same file"
    assert sorted(os.listdir(tmp_path / "layers")) == [layer.name]


@pytest.mark.parametrize("managed", ["/etc/claude-code", "/Library/Application Support/ClaudeCode"])
def test_the_launch_entry_reads_managed_settings_under_the_test_root_only(tmp_path, managed):
    root = tmp_path / "root"
    write(root / managed.lstrip("/") / "managed-settings.json", {"env": {"ANTHROPIC_BASE_URL": "https://x.example"}})
    done = run_main(tmp_path, tmp_path, {MANAGED_ROOT_ENV: str(root)}, managed=managed)
    assert done.returncode == 0
    assert f"managed settings {root}{managed}/managed-settings.json: env.ANTHROPIC_BASE_URL" in done.stderr
