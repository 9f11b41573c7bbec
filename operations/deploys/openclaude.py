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
from operations.facts.host import OpenClaudeHost
from operations.facts.unprinted import UnprintedReadError, read_unprinted
from operations.model.data import DataError, DeployData, load_data
from operations.model.inputs import (
    input_problems,
    input_warnings,
    litellm_warnings,
    region_warnings,
)
from operations.model.launcher_renderer import render_launcher
from operations.model.layout import PLACED, managed_paths, tool_dirs, written_dirs
from operations.model.login_agent import login_agent
from operations.model.render import config_text, launcher_values, settings_tiers
from operations.model.routes import pinned_tiers
from operations.model.supply_chain import lock_path
from operations.ops.homefiles import (
    directories,
    holds,
    master_key,
    placed_file,
    placed_files,
    symlink,
)
from operations.ops.inputs import inputs_usable, model_ids_current, say_once
from operations.ops.login_agent import proxy_at_login
from operations.ops.runlock import lock_changes, registered_operations
from operations.ops.shellpath import launcher_dir_on_path
from operations.ops.tools import litellm_installed, uv_installed

REPO = Path(__file__).resolve().parents[2]
FILES = REPO / "files"
DEFAULTS = {
    key: value
    for key, value in runpy.run_path(str(REPO / "group_data" / "all.py")).items()
    if not key.startswith("__")
}
MODE_TITLES = {"oauth": "mixed OAuth/Bedrock", "bedrock": "all-Bedrock"}


def read_target(paths: dict, model_ids=(), proxy_at_login: bool = False,
                read=("claude_settings",)) -> dict:
    """One round trip: the OpenClaudeHost fact for everything the deploy compares, with the
    files of ``read`` whole (the user's settings hold tokens: read unprinted)."""
    files_read = [paths[key] for key in read]
    return read_unprinted(
        OpenClaudeHost,
        digests=[
            path for path in (
                paths["litellm_config"],
                *(paths[entry.role] for entry in PLACED),
                paths["launcher"],
                paths["claude_settings"],
                paths["openclaude_settings"],
                paths["launch_agent"],
                paths["systemd_unit"],
            ) if path not in files_read
        ],
        read=files_read,
        described=[*written_dirs(paths), paths["launcher_alias"]],
        keys=[paths["master_key_file"]],
        model_ids=model_ids,
        same_files=[(paths["launcher_alias"], paths["launcher"])],
        # The directory of the name users type (the alias), which may be apart from the launcher.
        on_path=paths["alias_dir"],
        login_agent=(proxy_at_login, paths["launch_agent"], paths["systemd_unit"]),
    )


@deploy("openClaude", data_defaults=DEFAULTS)
def openclaude(mode: str = "oauth"):
    """Converge this host on openClaude in ``mode``: "oauth" (deploy.py) or "bedrock" (rollback.py)."""
    try:
        data = load_data(host.data, mode)
    except DataError as error:
        inputs_usable(name="Check the deploy data", problems=[f"deploy data: {error}"])
        return
    try:
        facts = read_target(managed_paths(data.paths), proxy_at_login=data.proxy_at_login)
    except UnprintedReadError as error:
        inputs_usable(name="Read this host", problems=[str(error)])
        return
    target = _Target(data, facts)
    if not _inputs_usable(target):
        return
    say_once(litellm_warnings(data))
    unlocked = registered_operations()

    # Task 1: LiteLLM from the chosen source, as a uv tool, with its lock's distributions.
    _litellm(target)
    # Task 2: the routing config, with a per-machine master key referenced from the environment,
    # and the modules LiteLLM loads and scripts the launcher runs, all beside it; the directories
    # of every task's files first.
    _directories(target)
    _routing_config(target)
    _files_beside_config(target)
    # Tasks 3 and 4: the launcher (it runs the settings transform placed above at every launch)
    # and the settings derived from the user's.
    _launcher(target)
    _derived_settings(target)
    # Opt-in: the proxy started at login by the user's service manager.
    _login_agent(target)

    # Whatever this run changes, it changes holding the home's lock (checks what it read).
    lock_changes(target.home, target.facts, mode=mode, wait=data.lock_wait, since=unlocked)


class _Target:
    """One host's data, the fact read from it, and its managed paths (home-relative and absolute)."""

    def __init__(self, data: DeployData, facts: dict):
        self.data, self.facts = data, facts
        self.paths = managed_paths(data.paths)
        self.home, self.entries = facts["home"], facts["entries"]

    def entry(self, key: str):
        return self.entries[self.paths[key]]

    def path(self, key: str) -> str:
        return f"{self.home}/{self.paths[key]}"

    def where(self, key: str) -> dict:
        """An operation's ``path`` (absolute) and ``current`` (the fact's ``Entry``) for ``key``."""
        return {"path": self.path(key), "current": self.entry(key)}


def _inputs_usable(target: _Target) -> bool:
    data, paths = target.data, target.paths
    problems = input_problems(data, target.facts)
    inputs_usable(
        name=f"Check inputs for the {MODE_TITLES[data.mode]} state",
        problems=problems,
        warnings=input_warnings(data) + region_warnings(
            data, target.entry("claude_settings"), paths["claude_settings"]),
    )
    return not problems


def _litellm(target: _Target) -> None:
    data = target.data
    uv_installed(name="uv is available", requirement=data.uv_requirement, facts=target.facts)
    lock = lock_path(data.litellm_requirement)
    litellm_installed(
        name=f"LiteLLM is installed from {data.litellm_requirement}"
        + (f" as files/{lock.name} pins" if lock else ""),
        requirement=data.litellm_requirement,
        facts=target.facts,
        lock=lock,
    )


def _directories(target: _Target) -> None:
    paths = target.paths

    def private_when_new(key: str) -> int | None:
        return 0o700 if target.entry(key).kind == "missing" else None

    # The key's and the alias's directories are usually the config's and the launcher's.
    wanted: dict = {}
    for key, mode in (("config_dir", 0o700), ("key_dir", private_when_new("key_dir")),
                      ("bin_dir", None), ("alias_dir", None),
                      ("openclaude_dir", private_when_new("openclaude_dir"))):
        wanted.setdefault(paths[key], (key, mode))
    shown = [f"~/{path}" + (" (private)" if key == "config_dir" else "")
             for path, (key, _) in wanted.items()]
    directories(
        name=(f"{', '.join(shown[:-1])} and {shown[-1]}" if len(shown) > 1 else shown[0]) + " exist",
        wanted=[(target.path(key), target.entry(key), mode) for key, mode in wanted.values()],
    )


def _routing_config(target: _Target) -> None:
    data = target.data
    master_key(name="A per-machine master key for the proxy", **target.where("master_key_file"))
    config = config_text(data)
    placed_file(
        name=f"LiteLLM routes the tiers ({MODE_TITLES[data.mode]})",
        **target.where("litellm_config"),
        content=config,
        backups_kept=data.backups_kept,
    )
    model_ids_current(
        name="Model ids are in LiteLLM's model map and not retiring",
        model_ids=sorted({tier.upstream_id for tier in pinned_tiers(data.tiers, data.mode)}),
        config_changes=not holds(target.entry("litellm_config"), config),
        data=data,
    )


def _files_beside_config(target: _Target) -> None:
    placed_files(
        name="Beside the config: " + ", ".join(entry.name for entry in PLACED),
        files=[(target.path(entry.role), (FILES / entry.name).read_text(), target.entry(entry.role))
               for entry in PLACED],
        backups_kept=target.data.backups_kept,
    )


def _launcher(target: _Target) -> None:
    data, paths = target.data, target.paths
    tool_dir, bin_dir = tool_dirs(target.facts)
    launcher = render_launcher(launcher_values(data, target.home, tool_dir, bin_dir,
                                               target.facts.get("os")))
    current = target.entry("launcher")
    placed_file(
        name=f"The openClaude launcher ({data.mode} mode)",
        **target.where("launcher"),
        content=launcher,
        mode=0o755,
        backups_kept=data.backups_kept,
    )
    symlink(
        name=f"~/{paths['launcher_alias']} points at the launcher",
        **target.where("launcher_alias"),
        target=posixpath.relpath(paths["launcher"], posixpath.dirname(paths["launcher_alias"])),
        same_file=(paths["launcher_alias"], paths["launcher"]) in target.facts["same_files"],
        backups_kept=data.backups_kept,
        launcher_changes=not (holds(current, launcher) and current.mode == 0o755),
    )
    launcher_dir_on_path(
        name=f"~/{paths['alias_dir']} is on the login shell's PATH",
        directory=paths["alias_dir"],
        facts=target.facts,
        command=posixpath.basename(paths["launcher_alias"]),
    )


def _derived_settings(target: _Target) -> None:
    data, paths = target.data, target.paths
    source = target.entry("claude_settings").content
    placed_file(
        name=f"~/{paths['openclaude_settings']} derived from ~/{paths['claude_settings']}",
        **target.where("openclaude_settings"),
        content=derive_file_text(
            source.decode("utf-8") if source is not None else None,
            f"~/{paths['claude_settings']}",
            settings_tiers(data),
            data.mode,
        ),
        show_diff=False,
        backups_kept=data.backups_kept,
    )


def _login_agent(target: _Target) -> None:
    data, facts = target.data, target.facts
    agent = login_agent(facts.get("os"), target.home, target.paths)
    proxy_at_login(
        name=("The proxy starts at login" if data.proxy_at_login else "No login agent")
        + f" ({agent.manager})",
        agent=agent,
        wanted=data.proxy_at_login,
        current=target.entries[target.paths[
            "launch_agent" if agent.manager == "launchd" else "systemd_unit"]],
        facts=facts,
    )
