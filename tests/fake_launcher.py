"""A launcher rendered into a temporary home with the fake ``litellm`` and ``claude`` (tests/fakes),
shared by tests/test_launcher.py and bench/launcher.py."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from operations.deploys.openclaude import DEFAULTS
from operations.model.data import load_data
from operations.model.layout import BESIDE_CONFIG
from operations.model.render import launcher_values
from tests.standins.bedrock import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
from tests.support.processes import free_port

REPO = Path(__file__).resolve().parent.parent
FAKES = REPO / "tests" / "fakes"
TIERS = {
    "model": "claude-opus-4-6[1m]",
    "opus": "claude-opus-4-6[1m]",
    "sonnet": "claude-sonnet-4-6[1m]",
    "haiku": "qwen-3-coder",
}


def fake_home(home: Path, records: Path, *, config: str, master_key: str,
              health_timeout: int) -> tuple[dict, dict]:
    """Make ``home`` (config, 0600 key, user settings); return the launcher values and the
    environment to run it with (the fakes record into ``records``)."""
    for directory in (".claude", ".litellm", ".openClaude"):
        (home / directory).mkdir(parents=True)
    records.mkdir()
    (home / ".litellm" / "config.yaml").write_text(config)
    key_file = home / ".litellm" / "master.key"
    key_file.write_text(master_key + "\n")
    key_file.chmod(0o600)
    (home / ".claude" / "settings.json").write_text(json.dumps({"env": {"FOO": "bar"}}))
    # The proxy's AWS identity is resolved with botocore at each start: a default profile.
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {DEFAULT_ACCESS_KEY}\n"
        f"aws_secret_access_key = {DEFAULT_SECRET_KEY}\n")
    # The deployed launcher's values for this home, but the fakes in place of LiteLLM and Claude
    # Code, this Python for its helpers, the scripts from files/ where they are, a free port.
    values = {
        **launcher_values(load_data(DEFAULTS, "oauth"), str(home), "", ""),
        "LITELLM_BIN": str(FAKES / "litellm"),
        "LAUNCHER_PYTHON": sys.executable,
        "SETTINGS_TIERS": json.dumps(TIERS),
        "LITELLM_PORT": str(free_port()),
        "HEALTH_TIMEOUT": str(health_timeout),
        "CLAUDE_BIN": str(FAKES / "claude"),
        "CLAUDE_DIRS": str(home / ".local" / "bin"),
        **{entry.launcher: str(REPO / "files" / entry.name)
           for entry in BESIDE_CONFIG if entry.launcher and entry.placed},
    }
    env = {
        # The fakes' `env python3` finds this interpreter first (a pyenv shim adds ~0.1 s).
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "FAKE_RECORD_DIR": str(records),
        # No instance-metadata probe (seconds) when a test leaves the identity without credentials.
        "AWS_EC2_METADATA_DISABLED": "true",
        # Managed settings are read under this root, not this machine's /etc.
        "OPENCLAUDE_MANAGED_SETTINGS_ROOT": str(home / "managed-root"),
    }
    return values, env


def claude_arguments(record: dict) -> list[str]:
    """The arguments a recorded claude got after the launcher's own ``--settings`` layer."""
    assert record["argv"][1] == "--settings", record["argv"]
    return record["argv"][3:]
