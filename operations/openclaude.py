"""The openClaude deploy: the plan's tasks as pyinfra operations, for either mode.

``deploy.py`` calls it with ``mode="oauth"`` (opus and sonnet through Anthropic with the Claude
plan's OAuth token, haiku on Bedrock); ``rollback.py`` with ``mode="bedrock"`` (all three on
Bedrock). A team with its own pyinfra code can import ``openclaude`` the same way.
"""

from __future__ import annotations

import posixpath
import runpy
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy

from files.openclaude_settings import derive_file_text
from operations.checks import (
    input_problems,
    input_warnings,
    inputs_usable,
    model_ids_current,
    region_warnings,
    written_dirs,
)
from operations.data import DataError, load_data
from operations.facts import OpenClaudeHost
from operations.homefiles import directory, master_key, private_file, symlink
from operations.launcher import render_launcher
from operations.render import (
    AWS_SCRIPT,
    CALLBACKS_MODULE,
    BEDROCK_FIELDS_MODULE,
    COUNT_TOKENS_MODULE,
    SETTINGS_SCRIPT,
    USAGE_RECORD,
    USAGE_SCRIPT,
    config_text,
    launcher_values,
    settings_tiers,
)
from operations.runlock import lock_changes, registered_operations
from operations.shellpath import launcher_dir_on_path
from operations.tools import litellm_installed, tool_dirs, uv_installed

REPO = Path(__file__).resolve().parent.parent
FILES = REPO / "files"
DEFAULTS = {
    key: value
    for key, value in runpy.run_path(str(REPO / "group_data" / "all.py")).items()
    if not key.startswith("__")
}
# (operation name, managed_paths key, file in files/) of each file placed beside the config.
HELPER_FILES = (
    ("Output-limit callback beside the config", "callbacks", f"{CALLBACKS_MODULE}.py"),
    ("Usage record reader beside the config (openclaude --usage)", "usage_script", USAGE_SCRIPT),
    ("Token-counting route beside the config", "count_tokens", f"{COUNT_TOKENS_MODULE}.py"),
    ("Bedrock Claude request-fields rule beside the config", "bedrock_fields",
     f"{BEDROCK_FIELDS_MODULE}.py"),
    ("Settings transform beside the config", "settings_script", SETTINGS_SCRIPT),
    ("AWS identity helper beside the config", "aws_script", AWS_SCRIPT),
)
MODE_TITLES = {"oauth": "mixed OAuth/Bedrock", "bedrock": "all-Bedrock"}


def managed_paths(paths: dict) -> dict:
    """Home-relative paths the deploy reads, by role."""
    config_dir = posixpath.dirname(paths["litellm_config"])
    return {
        "config_dir": config_dir,
        "callbacks": f"{config_dir}/{CALLBACKS_MODULE}.py",
        "count_tokens": f"{config_dir}/{COUNT_TOKENS_MODULE}.py",
        "bedrock_fields": f"{config_dir}/{BEDROCK_FIELDS_MODULE}.py",
        "settings_script": f"{config_dir}/{SETTINGS_SCRIPT}",
        "usage_script": f"{config_dir}/{USAGE_SCRIPT}",
        "usage_record": f"{config_dir}/{USAGE_RECORD}",
        "aws_script": f"{config_dir}/{AWS_SCRIPT}",
        "bin_dir": posixpath.dirname(paths["launcher"]),
        "openclaude_settings": f"{paths['openclaude_dir']}/settings.json",
        **paths,
    }


def read_target(paths: dict, model_ids=()) -> dict:
    """One round trip: the OpenClaudeHost fact for everything the deploy compares."""
    return host.get_fact(
        OpenClaudeHost,
        content=[
            paths["litellm_config"],
            paths["callbacks"],
            paths["count_tokens"],
            paths["bedrock_fields"],
            paths["settings_script"],
            paths["usage_script"],
            paths["aws_script"],
            paths["launcher"],
            paths["claude_settings"],
            paths["openclaude_settings"],
        ],
        described=[*written_dirs(paths), paths["launcher_alias"]],
        keys=[paths["master_key_file"]],
        model_ids=model_ids,
        same_files=[(paths["launcher_alias"], paths["launcher"])],
        on_path=paths["bin_dir"],
    )


@deploy("openClaude", data_defaults=DEFAULTS)
def openclaude(mode: str = "oauth"):
    """Converge this host on openClaude in ``mode``: "oauth" (deploy.py) or "bedrock" (rollback.py)."""
    try:
        data = load_data(host.data, mode)
    except DataError as error:
        inputs_usable(name="Check the deploy data", problems=[f"deploy data: {error}"])
        return

    paths = managed_paths(data.paths)
    facts = read_target(paths)
    entries, home = facts["entries"], facts["home"]

    def at_home(key: str) -> str:
        return f"{home}/{paths[key]}"

    problems = input_problems(data, facts)
    inputs_usable(
        name=f"Check inputs for the {MODE_TITLES[mode]} state",
        problems=problems,
        warnings=input_warnings(data) + region_warnings(
            data, entries[paths["claude_settings"]], paths["claude_settings"]),
    )
    if problems:
        return
    unlocked = registered_operations()

    # Task 1: LiteLLM from the chosen source, as a uv tool.
    uv_installed(name="uv is available", requirement=data.uv_requirement, facts=facts)
    litellm_installed(
        name=f"LiteLLM is installed from {data.litellm_requirement}",
        requirement=data.litellm_requirement,
        facts=facts,
    )

    # Task 2: the routing config, with a per-machine master key referenced from the environment.
    directory(
        name=f"~/{paths['config_dir']} exists and is private",
        path=at_home("config_dir"),
        current=entries[paths["config_dir"]],
        mode=0o700,
    )
    master_key(
        name="A per-machine master key for the proxy",
        path=at_home("master_key_file"),
        current=entries[paths["master_key_file"]],
    )
    config = config_text(data)
    private_file(
        name=f"LiteLLM routes the tiers ({MODE_TITLES[mode]})",
        path=at_home("litellm_config"),
        content=config,
        current=entries[paths["litellm_config"]],
        backups_kept=data.backups_kept,
    )
    model_ids_current(
        name="Model ids are in LiteLLM's model map and not retiring",
        model_ids=sorted({tier.upstream_id for tier in data.tiers}),
        config_changes=entries[paths["litellm_config"]].content != config.encode("utf-8"),
        data=data,
    )
    # Modules LiteLLM loads and scripts the launcher runs, all beside the config.
    for name, key, file_name in HELPER_FILES:
        private_file(
            name=name,
            path=at_home(key),
            content=(FILES / file_name).read_text(),
            current=entries[paths[key]],
            backups_kept=data.backups_kept,
        )

    # Tasks 3 and 4: the launcher; the settings transform it runs at every launch is placed above.
    directory(name=f"~/{paths['bin_dir']} exists", path=at_home("bin_dir"),
              current=entries[paths["bin_dir"]])
    tool_dir, bin_dir = tool_dirs(facts)
    private_file(
        name=f"The openClaude launcher ({data.mode} mode)",
        path=at_home("launcher"),
        content=render_launcher(launcher_values(data, home, tool_dir, bin_dir)),
        current=entries[paths["launcher"]],
        mode=0o755,
        backups_kept=data.backups_kept,
    )
    symlink(
        name=f"~/{paths['launcher_alias']} points at the launcher",
        path=at_home("launcher_alias"),
        target=posixpath.relpath(paths["launcher"], posixpath.dirname(paths["launcher_alias"])),
        current=entries[paths["launcher_alias"]],
        same_file=(paths["launcher_alias"], paths["launcher"]) in facts["same_files"],
        backups_kept=data.backups_kept,
    )
    launcher_dir_on_path(
        name=f"~/{paths['bin_dir']} is on the login shell's PATH",
        directory=paths["bin_dir"],
        facts=facts,
        command=posixpath.basename(paths["launcher_alias"]),
    )
    directory(
        name=f"~/{paths['openclaude_dir']} exists",
        path=at_home("openclaude_dir"),
        current=entries[paths["openclaude_dir"]],
        mode=0o700 if entries[paths["openclaude_dir"]].kind == "missing" else None,
    )
    source = entries[paths["claude_settings"]].content
    private_file(
        name=f"~/{paths['openclaude_settings']} derived from ~/{paths['claude_settings']}",
        path=at_home("openclaude_settings"),
        content=derive_file_text(
            source.decode("utf-8") if source is not None else None,
            f"~/{paths['claude_settings']}",
            settings_tiers(data),
            data.mode,
        ),
        current=entries[paths["openclaude_settings"]],
        show_diff=False,
        backups_kept=data.backups_kept,
    )

    # Whatever this run changes, it changes holding the home's lock (checks what it read).
    lock_changes(home, facts, mode=mode, wait=data.lock_wait, since=unlocked)
