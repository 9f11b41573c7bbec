"""The verify deploy: read-only checks of a host's openClaude state, a table per host."""

from __future__ import annotations

from datetime import date

from pyinfra import host
from pyinfra.api import deploy

from operations.deploys.openclaude import DEFAULTS, read_target
from operations.facts.unprinted import UnprintedReadError, read_unprinted
from operations.facts.litellm_environment import LitellmEnvironment
from operations.facts.managed import ManagedSettings
from operations.facts.probes import LiveProbe, VerifyProbe
from operations.model.data import MODES, DataError, load_data
from operations.model.layout import managed_paths
from operations.model.routes import pinned_tiers
from operations.model.verify_checks import (
    Check,
    alias_check,
    aws_check,
    claude_check,
    compromise_check,
    context_check,
    deployed_mode,
    entry_text,
    fork_check,
    key_check,
    launcher_check,
    lifecycle_checks,
    live_checks,
    lock_check,
    managed_check,
    path_check,
    routing_check,
    settings_check,
    source_check,
    user_settings_check,
)
from operations.ops.report import checks_pass


@deploy("openClaude verify", data_defaults=DEFAULTS)
def verify():
    """The checks for this host: the mode it was deployed in unless ``verify_mode`` is set."""
    try:
        by_mode = {mode: load_data(host.data, mode) for mode in MODES}
    except DataError as error:
        checks_pass(name="openClaude checks", checks=[
            Check("deploy data usable", False, str(error), "fix that --data or group_data value")])
        return
    paths = managed_paths(by_mode["oauth"].paths)
    # One read serves either mode: the mode is known only once the launcher is read.
    try:
        facts = read_target(paths, sorted({t.upstream_id for d in by_mode.values()
                                           for t in pinned_tiers(d.tiers, d.mode)}),
                            read=("launcher", "litellm_config", "claude_settings",
                                  "openclaude_settings"))
    except UnprintedReadError as error:
        checks_pass(name="openClaude checks", checks=[
            Check("this host can be read", False, str(error), "check the SSH user's home")])
        return
    mode = host.data.get("verify_mode") or deployed_mode(
        entry_text(facts["entries"], paths["launcher"])) or "oauth"
    data = by_mode[mode]
    redeploy = "re-run " + ("deploy.py" if mode == "oauth" else "rollback.py")
    launcher = f"{facts['home']}/{paths['launcher']}"
    home = facts["home"]
    aws = (f"{facts.get('tool_dir')}/litellm/bin/python", f"{home}/{paths['aws_script']}",
           f"{home}/{paths['claude_settings']}", f"{home}/{paths['litellm_config']}",
           f"{home}/{paths['aws_export_config']}")
    probe = host.get_fact(VerifyProbe, launcher=launcher,
                          alias=f"{home}/{paths['launcher_alias']}", aws=aws)
    entries = facts["entries"]
    environment = (host.get_fact(LitellmEnvironment, env=f"{facts['tool_dir']}/litellm")
                   if facts.get("tool_dir") else LitellmEnvironment.default())
    checks = [
        source_check(data, facts, redeploy),
        fork_check(data),
        lock_check(data, environment, redeploy),
        compromise_check(environment),
        routing_check(data, entry_text(entries, paths["litellm_config"]), redeploy),
        launcher_check(facts, probe, paths["launcher"], redeploy),
        alias_check(facts, probe, paths, facts["home"], redeploy),
        user_settings_check(facts, paths),
        path_check(facts, paths),
        settings_check(data, entry_text(entries, paths["openclaude_settings"]),
                       paths["openclaude_settings"], redeploy),
        key_check(facts, paths["master_key_file"], redeploy),
        managed_check(data, _managed_settings()),
        claude_check(probe),
        aws_check(probe, redeploy),
        *lifecycle_checks(data, facts, date.today()),
        context_check(data, entry_text(entries, paths["openclaude_settings"]),
                      facts.get("models")),
    ]
    if host.data.get("live"):
        models = [tier.slot for tier in data.tiers]  # Claude Code's slot aliases: --model opus
        usage_record = f"{facts['home']}/{paths['usage_record']}"
        checks += live_checks(data, host.get_fact(LiveProbe, launcher=launcher,
                                                  usage_record=usage_record, models=models))
    checks_pass(name=f"openClaude checks ({mode} mode)", checks=checks)


def _managed_settings() -> dict:
    """The managed settings' texts (``ManagedSettings``), read unprinted; none when they cannot
    be read."""
    try:
        return read_unprinted(ManagedSettings)
    except UnprintedReadError:
        return {}
