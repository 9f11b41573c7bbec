"""Derive openClaude's Claude Code settings from the user's own: the plan's jq transform.

Defined once and used twice: the deploy imports ``derive_settings`` to render
``~/.openClaude/settings.json``, and the launcher runs this file at every launch
(with the LiteLLM tool's Python) so later edits of ``~/.claude/settings.json``
carry over. Standard library only: it runs where only that Python exists.

    python openclaude_settings.py SOURCE TARGET TIERS_JSON [MODE]

TIERS_JSON: the pinned names, ``{"model": ..., "fable": ..., "opus": ..., "sonnet": ...,
"haiku": ...}`` (a slot left out gets Claude Code's own model; ``model`` left out keeps the
user's, a Bedrock-style id as its family's alias) and, optionally, ``"max_context_tokens"``: the window Claude Code keeps a model it does not know by name within
(``CLAUDE_CODE_MAX_CONTEXT_TOKENS``; otherwise it assumes 1M tokens). MODE: ``oauth``
(default) or ``bedrock``. In the OAuth state it prints the names of the settings it set aside
(``DISPLACING_KEYS``, ``env.`` + ``DISPLACING_ENV``) on one line, for the launcher to report.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time

REMOVED_KEYS = ("awsCredentialExport", "awsAuthRefresh")
# The plan's deletions, plus ANTHROPIC_BASE_URL: the launcher points Claude Code at the proxy,
# and a base URL in the settings' env would take precedence and bypass it.
REMOVED_ENV = ("CLAUDE_CODE_USE_BEDROCK", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
# Each slot's variables: set to the slot's pinned name, or removed so that Claude Code asks for
# its own current model (a slot TIERS_JSON leaves out).
SLOT_ENV = {
    "fable": ("ANTHROPIC_DEFAULT_FABLE_MODEL",),
    "opus": ("ANTHROPIC_DEFAULT_OPUS_MODEL",),
    "sonnet": ("ANTHROPIC_DEFAULT_SONNET_MODEL",),
    "haiku": ("ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL"),
}
# Claude Code signs in with the subscription only when no other credential or provider is set;
# in the OAuth state each of these would displace it (the launcher unsets the same variables).
DISPLACING_KEYS = ("apiKeyHelper",)
DISPLACING_ENV = (
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_API_KEY",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
)
MAX_CONTEXT_ENV = "CLAUDE_CODE_MAX_CONTEXT_TOKENS"
# A Bedrock-era settings file's model: Claude Code knows neither its window nor its features.
BEDROCK_CLAUDE_ID = re.compile(r"anthropic\.claude-(?:[\d-]+)?(fable|opus|sonnet|haiku)")


JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "true/false",
              int: "a number", float: "a number", type(None): "null"}


class SettingsError(ValueError):
    """The user's settings file cannot be used; the message names the file and the problem."""


def settings_fix(target_path: str) -> str:
    """What to do about a ``SettingsError``: the launcher and verify.py say the same."""
    return f"Fix that file; {target_path} was left as it was."


def parse_settings(text: str, path: str) -> dict:
    """The user's settings as a dict: an empty file counts as ``{}``, like a missing one."""
    if not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsError(
            f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    if not isinstance(settings, dict):
        raise SettingsError(
            f"{path}: expected a JSON object at the top level, found {JSON_TYPES[type(settings)]}"
        )
    try:
        json.dumps(settings, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise SettingsError(
            f"{path}: a \\u escape gives the lone UTF-16 surrogate {error.object[error.start]!r}, "
            "which is not valid Unicode"
        ) from None
    env = settings.get("env")
    if env is not None and not isinstance(env, dict):
        raise SettingsError(f'{path}: "env" must be a JSON object, found {JSON_TYPES[type(env)]}')
    return settings


def displacing_settings(source: dict) -> list[str]:
    """The names of the settings in ``source`` that would displace the subscription sign-in."""
    env = source.get("env") or {}
    return [key for key in DISPLACING_KEYS if key in source] + [
        f"env.{key}" for key in DISPLACING_ENV if key in env
    ]


def derive_settings(source: dict, tiers: dict, mode: str = "oauth") -> dict:
    """The plan's transform: set the model and the pinned slots' variables (drop the others'),
    drop the Bedrock/API-key keys; in the OAuth state also every credential that would displace
    the subscription."""
    removed_keys, removed_env = REMOVED_KEYS, REMOVED_ENV
    if mode == "oauth":
        removed_keys += DISPLACING_KEYS
        removed_env += DISPLACING_ENV
    derived = {key: value for key, value in source.items() if key not in removed_keys}
    env = {
        key: value for key, value in (source.get("env") or {}).items() if key not in removed_env
    }
    for slot, names in SLOT_ENV.items():
        for name in names:
            if tiers.get(slot):
                env[name] = tiers[slot]
            else:
                env.pop(name, None)
    window = tiers.get("max_context_tokens")
    if window and not _smaller_window(env.get(MAX_CONTEXT_ENV), window):
        env[MAX_CONTEXT_ENV] = str(window)
    if tiers.get("model"):
        derived["model"] = tiers["model"]
    elif isinstance(derived.get("model"), str):
        derived["model"] = family_alias(derived["model"])
    derived["env"] = env
    return derived


def family_alias(model: str) -> str:
    """A Bedrock-style Claude id (``us.anthropic.claude-opus-4-6-v1[1m]``) as its family's alias
    (``opus[1m]``), which Claude Code resolves to its own current model; other names unchanged."""
    match = BEDROCK_CLAUDE_ID.search(model)
    if not match:
        return model
    return match.group(1) + ("[1m]" if model.endswith("[1m]") else "")


def _smaller_window(value, window: int) -> bool:
    """Whether the user's own ``CLAUDE_CODE_MAX_CONTEXT_TOKENS`` is a tighter window to keep."""
    text = str(value).strip() if value is not None else ""
    return text.isdigit() and 0 < int(text) <= window


def render_settings(settings: dict) -> str:
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


def derive_file_text(source_text: str | None, source_path: str, tiers: dict,
                     mode: str = "oauth") -> str:
    """The derived file's text from the source file's text (``None``: no source file)."""
    source = parse_settings(source_text or "", source_path)
    return render_settings(derive_settings(source, tiers, mode))


def write_private(path: str, text: str) -> bool:
    """Atomically replace ``path`` (0600), keeping differing old content as a backup."""
    try:
        with open(path, encoding="utf-8") as current:
            if current.read() == text:
                return False
        backup = f"{path}.{time.strftime('%Y%m%dT%H%M%S')}.bak"
        suffix = 0
        while os.path.lexists(backup):
            suffix += 1
            backup = f"{path}.{time.strftime('%Y%m%dT%H%M%S')}.{suffix}.bak"
        os.link(path, backup)
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".settings.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return True


def read_source(source_path: str, target_path: str) -> dict | None:
    """The user's settings at ``source_path`` (``{}`` when absent), or None after saying on
    stderr why they cannot be used (naming the file and the fix)."""
    try:
        with open(source_path, encoding="utf-8") as handle:
            source_text = handle.read()
    except FileNotFoundError:
        source_text = None
    except (OSError, UnicodeDecodeError) as error:
        print(f"openClaude: {source_path}: cannot read: {error}", file=sys.stderr)
        return None
    try:
        return parse_settings(source_text or "", source_path)
    except SettingsError as error:
        print(f"openClaude: {error}. {settings_fix(target_path)}", file=sys.stderr)
        return None


def main(argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        print("usage: openclaude_settings.py SOURCE TARGET TIERS_JSON [MODE]", file=sys.stderr)
        return 2
    source_path, target_path, tiers_json = argv[1:4]
    mode = argv[4] if len(argv) == 5 else "oauth"
    source = read_source(source_path, target_path)
    if source is None:
        return 2
    write_private(target_path, render_settings(derive_settings(source, json.loads(tiers_json), mode)))
    if mode == "oauth":
        print(" ".join(displacing_settings(source)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
