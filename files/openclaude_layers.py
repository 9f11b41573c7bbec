"""Claude Code's settings layers at launch: what keeps Claude Code on the proxy whatever the user,
project and local settings say, and what managed settings would take it off.

Claude Code merges its settings layers key by key, the higher winning: managed settings (which
nothing overrides), then the command line's ``--settings``, then the project's
``.claude/settings.local.json`` and ``.claude/settings.json`` (at the git root, else the working
directory), then the user's settings (openClaude's derived ``settings.json``); a layer's ``env``
beats the process environment. So the launcher hands Claude Code one ``--settings`` file holding
the proxy's base URL, its key and the OAuth state's switches (``launch_layer``), and names what
managed settings would override (``managed_findings``; ``verify.py`` reports the same words).

The launcher runs this file at every launch, with the LiteLLM tool's Python (standard library
only); it first derives the user's settings as ``openclaude_settings.py`` does:

    python openclaude_layers.py SOURCE TARGET TIERS_JSON MODE PROXY_URL KEY_FILE LAYER_DIR MANAGED_DIR

It prints one line per managed-settings finding on stderr, then on stdout the settings it set
aside (OAuth state, for the launcher's notice) and the path of the ``--settings`` file.
``OPENCLAUDE_MANAGED_SETTINGS_ROOT`` (tests) is put in front of MANAGED_DIR.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

try:  # run by the launcher, beside openclaude_settings.py
    from openclaude_settings import (
        DISPLACING_ENV, DISPLACING_KEYS, SettingsError, derive_settings, parse_settings,
        read_source, render_settings, write_private)
except ModuleNotFoundError:  # imported by the deploy and verify.py
    from files.openclaude_settings import (
        DISPLACING_ENV, DISPLACING_KEYS, SettingsError, derive_settings, parse_settings,
        read_source, render_settings, write_private)

HEADERS_ENV = "ANTHROPIC_CUSTOM_HEADERS"
PROXY_KEY_HEADER = "x-litellm-api-key"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
# Claude Code calls these clouds itself, past ANTHROPIC_BASE_URL, when one of them is true.
PROVIDER_SWITCHES = {
    "CLAUDE_CODE_USE_BEDROCK": "Bedrock",
    "CLAUDE_CODE_USE_VERTEX": "Vertex AI",
    "CLAUDE_CODE_USE_FOUNDRY": "Microsoft Foundry",
}
CREDENTIAL_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
# Claude Code's reading of a true environment value.
TRUE_VALUES = ("1", "true", "yes", "on")
PROJECT_FILES = (".claude/settings.local.json", ".claude/settings.json")  # the higher first
MANAGED_FILE = "managed-settings.json"
MANAGED_DROP_INS = "managed-settings.d"
MANAGED_ROOT_ENV = "OPENCLAUDE_MANAGED_SETTINGS_ROOT"
# Where Claude Code reads managed settings, per system (``uname -s``).
MANAGED_DIRS = {"Darwin": "/Library/Application Support/ClaudeCode", "Linux": "/etc/claude-code"}


def is_true(value) -> bool:
    return str(value).strip().lower() in TRUE_VALUES


def proxy_headers(user_headers: str | None, master_key: str) -> str:
    """The user's custom headers (one ``Name: value`` a line) minus any proxy-key line, then ours."""
    lines = [line for line in (user_headers or "").splitlines()
             if line.strip() and line.split(":", 1)[0].strip().lower() != PROXY_KEY_HEADER]
    return "\n".join([*lines, f"{PROXY_KEY_HEADER}: Bearer {master_key}"])


def launch_layer(mode: str, proxy_url: str, master_key: str, user_headers: str | None) -> dict:
    """The ``--settings`` layer: the proxy's URL and key, and no provider switch or credential of
    a lower layer that would send Claude Code elsewhere (Claude Code reads an empty value, and an
    empty ``apiKeyHelper``, as unset).

    + user_headers: the ``ANTHROPIC_CUSTOM_HEADERS`` Claude Code would use without this layer
    """
    env = {BASE_URL_ENV: proxy_url, **{name: "" for name in PROVIDER_SWITCHES}}
    if mode == "oauth":
        env.update({name: "" for name in CREDENTIAL_ENV})
        env[HEADERS_ENV] = proxy_headers(user_headers, master_key)
    else:
        env["ANTHROPIC_API_KEY"] = master_key
    return {"apiKeyHelper": "", "env": env}


def project_dir(cwd: str) -> str:
    """Where Claude Code looks for the project's settings: the git root above ``cwd``, else cwd."""
    directory = os.path.abspath(cwd)
    while True:
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return os.path.abspath(cwd)
        directory = parent


def read_layer(path: str) -> dict:
    """A settings file as Claude Code would merge it; a missing or broken one counts as empty."""
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_settings(handle.read(), path)
    except (OSError, UnicodeDecodeError, SettingsError):
        return {}


def project_layers(cwd: str) -> list[tuple[str, dict]]:
    """``[(path, settings)]`` of the project's layers that exist, the higher first."""
    root = project_dir(cwd)
    layers = []
    for name in PROJECT_FILES:
        path = os.path.join(root, name)
        if os.path.isfile(path):
            layers.append((path, read_layer(path)))
    return layers


def effective_env(name: str, layers: list[tuple[str, dict]], environ) -> str | None:
    """The value of ``env.NAME`` the highest layer sets, else the process environment's."""
    for _, settings in layers:
        env = settings.get("env") or {}
        if name in env:
            return None if env[name] is None else str(env[name])
    return environ.get(name)


def set_aside(layers: list[tuple[str, dict]]) -> str:
    """The layers' settings the OAuth state overrides, as ``names (from PATH); ...``."""
    described = []
    for path, settings in layers:
        env = settings.get("env") or {}
        names = [key for key in DISPLACING_KEYS if key in settings] + [
            f"env.{key}" for key in DISPLACING_ENV if env.get(key) not in (None, "")]
        if names:
            described.append(f"{' '.join(names)} (from {path})")
    return "; ".join(described)


def managed_files(directory: str) -> list[str]:
    """Claude Code's managed settings in ``directory``: the file, then the drop-ins in order."""
    files = [os.path.join(directory, MANAGED_FILE)]
    drop_ins = os.path.join(directory, MANAGED_DROP_INS)
    try:
        names = sorted(name for name in os.listdir(drop_ins) if name.endswith(".json"))
    except OSError:
        names = []
    return files + [os.path.join(drop_ins, name) for name in names]


def managed_findings(path: str, settings: dict, mode: str, proxy_url: str) -> list[str]:
    """One line per managed setting that takes Claude Code off the proxy or the subscription."""
    env = settings.get("env") if isinstance(settings.get("env"), dict) else {}
    subscription = mode == "oauth"
    bypass = "so Claude Code bypasses the openClaude proxy"
    findings = []
    base_url = env.get(BASE_URL_ENV)
    if base_url not in (None, "") and str(base_url).rstrip("/") != proxy_url:
        findings.append(f"env.{BASE_URL_ENV} sends Claude Code to {base_url}, {bypass}")
    for name, cloud in PROVIDER_SWITCHES.items():
        if is_true(env.get(name, "")):
            findings.append(f"env.{name} makes Claude Code call {cloud} itself, {bypass}")
    if subscription and env.get(HEADERS_ENV) not in (None, ""):
        findings.append(f"env.{HEADERS_ENV} replaces the proxy key openClaude sends, so the proxy "
                        "refuses every request")
    credentials = [f"env.{name}" for name in CREDENTIAL_ENV if env.get(name) not in (None, "")]
    credentials += [key for key in DISPLACING_KEYS if settings.get(key) not in (None, "")]
    what = "your subscription sign-in" if subscription else "the proxy key openClaude sends"
    findings += [f"{name} replaces {what}" for name in credentials]
    if subscription and settings.get("forceLoginMethod") == "console":
        findings.append("forceLoginMethod \"console\" replaces your subscription sign-in with a "
                        "Console (API billing) login")
    return [f"managed settings {path}: {finding}; ask your administrator (managed settings "
            "outrank openClaude's)" for finding in findings]


def read_managed(directory: str) -> dict:
    """``{path: text}`` of the managed settings files in ``directory`` that exist."""
    texts = {}
    for path in managed_files(directory):
        try:
            with open(path, encoding="utf-8") as handle:
                texts[path] = handle.read()
        except (OSError, UnicodeDecodeError):
            continue
    return texts


def findings_in(texts: dict, mode: str, proxy_url: str) -> list[str]:
    """``managed_findings`` over ``{path: text}`` (the launcher's read or verify.py's fact)."""
    findings = []
    for path, text in texts.items():
        try:
            settings = parse_settings(text, path)
        except SettingsError:
            continue  # Claude Code skips a file it cannot parse
        findings += managed_findings(path, settings, mode, proxy_url)
    return findings


def write_layer(directory: str, layer: dict) -> str:
    """The layer as a private file named by its content: a session keeps its file unchanged while
    a launch elsewhere (other project headers) writes its own."""
    text = render_settings(layer)
    path = os.path.join(directory, f"launch-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json")
    if not os.path.isfile(path):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        write_private(path, text)
    return path


def main(argv: list[str]) -> int:
    if len(argv) != 9:
        print("usage: openclaude_layers.py SOURCE TARGET TIERS_JSON MODE PROXY_URL KEY_FILE "
              "LAYER_DIR MANAGED_DIR", file=sys.stderr)
        return 2
    source_path, target_path, tiers_json, mode, proxy_url, key_file, layer_dir, managed = argv[1:]
    source = read_source(source_path, target_path)
    if source is None:
        return 2
    derived = derive_settings(source, json.loads(tiers_json), mode)
    write_private(target_path, render_settings(derived))
    managed_dir = os.environ.get(MANAGED_ROOT_ENV, "") + managed
    for finding in findings_in(read_managed(managed_dir), mode, proxy_url):
        print(f"openClaude: {finding}.", file=sys.stderr)
    with open(key_file, encoding="utf-8") as handle:
        master_key = handle.read().strip()
    layers = project_layers(os.getcwd())
    headers = effective_env(HEADERS_ENV, [*layers, (target_path, derived)], os.environ)
    path = write_layer(layer_dir, launch_layer(mode, proxy_url, master_key, headers))
    print(set_aside([(source_path, source), *layers]) if mode == "oauth" else "")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
