"""Where everything is on a target: the files beside the config, in one table, and the paths the
deploy manages, by role. Every other name of a file beside the config derives from this table."""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass

from files.openclaude_usage import PLAN_STANDING_ENV, USAGE_RECORD_ENV
from operations.model.sources import entrypoint_path

# Where installers put uv and claude, searched after PATH: a non-interactive SSH shell's PATH
# often lacks them (Homebrew on Apple silicon and on Intel Macs, Claude Code's native installer,
# uv's own installer). "~/" is the target user's home.
UV_DIRS = ("~/.local/bin", "~/.cargo/bin", "/opt/homebrew/bin", "/usr/local/bin")
CLAUDE_DIRS = ("~/.local/bin", "~/.claude/local", "/opt/homebrew/bin", "/usr/local/bin")


@dataclass(frozen=True)
class BesideConfig:
    """A file in the LiteLLM config's directory."""

    role: str  # its key among the managed paths
    name: str  # its file name
    placed: bool = True  # placed by the deploy from files/<name>; else written at run time
    launcher: str | None = None  # the launcher variable that holds its absolute path
    env: str | None = None  # the proxy's environment variable the modules beside it read it from

    @property
    def module(self) -> str:
        """The name LiteLLM's config loads a placed Python file by."""
        return self.name.removesuffix(".py")


BESIDE_CONFIG = (
    # LiteLLM's callbacks: the output limit, the usage record, the Bedrock fallback guard.
    BesideConfig("callbacks", "openclaude_callbacks.py"),
    # Reads the usage record (openclaude --usage).
    BesideConfig("usage_script", "openclaude_usage.py", launcher="USAGE_SCRIPT"),
    # Answers POST /v1/messages/count_tokens on every tier.
    BesideConfig("count_tokens", "openclaude_count_tokens.py"),
    # Only the request fields AWS documents reach Claude on Bedrock.
    BesideConfig("bedrock_fields", "openclaude_bedrock_fields.py"),
    # The subscription tiers' pass-through, and its wire pieces.
    BesideConfig("passthrough", "openclaude_passthrough.py"),
    BesideConfig("relay", "openclaude_relay.py"),
    # The settings transform the launcher runs at every launch.
    BesideConfig("settings_script", "openclaude_settings.py", launcher="SETTINGS_SCRIPT"),
    # Resolves the AWS identity the proxy signs with.
    BesideConfig("aws_script", "openclaude_aws.py", launcher="AWS_SCRIPT"),
    # Model resolution through LiteLLM's router (a 400 naming the tiers).
    BesideConfig("models", "openclaude_models.py"),
    # The settings layers helper (the --settings layer, managed settings).
    BesideConfig("layers_script", "openclaude_layers.py", launcher="LAYERS_SCRIPT"),
    # Written by the launcher: the --settings layers it hands claude (they hold the proxy key).
    BesideConfig("claude_layers", "claude-layers", placed=False, launcher="LAYERS_DIR"),
    # Written by the proxy's callback, read by the launcher's --usage.
    BesideConfig("usage_record", "usage.tsv", placed=False, launcher="USAGE_RECORD",
                 env=USAGE_RECORD_ENV),
    # Written by the pass-through (Anthropic's last unified headers), read by --usage.
    BesideConfig("plan_standing", "plan.json", placed=False, launcher="PLAN_STANDING",
                 env=PLAN_STANDING_ENV),
    # Written by the launcher when the settings use awsCredentialExport.
    BesideConfig("aws_export_config", "openclaude-aws-config", placed=False,
                 launcher="AWS_EXPORT_CONFIG"),
)
BY_ROLE = {entry.role: entry for entry in BESIDE_CONFIG}
PLACED = tuple(entry for entry in BESIDE_CONFIG if entry.placed)


def managed_paths(paths: dict) -> dict:
    """Home-relative paths the deploy reads and writes, by role: the data's ``paths`` and the
    files beside the config."""
    config_dir = posixpath.dirname(paths["litellm_config"])
    return {
        "config_dir": config_dir,
        **{entry.role: f"{config_dir}/{entry.name}" for entry in BESIDE_CONFIG},
        "key_dir": posixpath.dirname(paths["master_key_file"]),
        "bin_dir": posixpath.dirname(paths["launcher"]),
        "alias_dir": posixpath.dirname(paths["launcher_alias"]),
        "openclaude_settings": f"{paths['openclaude_dir']}/settings.json",
        **paths,
    }


def written_dirs(paths: dict) -> list[str]:
    """The directories the deploy writes into and their ancestors under HOME, outermost first."""
    found: list[str] = []
    for directory in (
        posixpath.dirname(paths["litellm_config"]),
        posixpath.dirname(paths["master_key_file"]),
        posixpath.dirname(paths["launcher"]),
        posixpath.dirname(paths["launcher_alias"]),
        paths["openclaude_dir"],
    ):
        parts = directory.split("/")
        for end in range(1, len(parts) + 1):
            if "/".join(parts[:end]) not in found:
                found.append("/".join(parts[:end]))
    return found


def tool_dirs(facts: dict) -> tuple[str, str]:
    """uv's tool directory, and the directory of LiteLLM's executable: where uv's receipt says
    it put it, else where uv will (the fact asks uv only then), else uv's defaults when uv was
    just installed."""
    home = facts["home"]
    installed = entrypoint_path(facts.get("receipt"))
    return (
        facts.get("tool_dir") or f"{home}/.local/share/uv/tools",
        posixpath.dirname(installed) if installed else facts.get("bin_dir") or f"{home}/.local/bin",
    )


def dirs_on_target(dirs, home: str) -> list[str]:
    """``dirs`` as absolute paths under ``home``."""
    return [f"{home}/{d[2:]}" if d.startswith("~/") else d for d in dirs]


def shell_words(dirs) -> str:
    """``dirs`` as words for a shell on the target (``~/`` becomes ``"$HOME"/``)."""
    return " ".join(f'"$HOME"/{shlex.quote(d[2:])}' if d.startswith("~/") else shlex.quote(d)
                    for d in dirs)
