"""verify.py's checks, from what the facts read: one ``Check`` each, with a one-line fix."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

import yaml

from files.openclaude_layers import findings_in
from files.openclaude_settings import SLOT_ENV, settings_fix
from files.openclaude_usage import family_slot
from operations.model.data import DeployData
from operations.model.inputs import settings_problem
from operations.model.lifecycle import lifecycle_findings
from operations.model.render import build_config, settings_tiers
from operations.model.routes import pinned_tiers
from operations.model.shellpath import path_fix, path_problem
from operations.model.sources import installed_source, wanted_source
from operations.model.supply_chain import (
    COMPROMISED_VERSIONS,
    DAEMON_LOCK,
    FORK_HOLES,
    INCIDENT_STEPS,
    INDICATOR_FILES,
    indicator_findings,
    installed_set,
    lock_path,
    locked_set,
    read_lock,
    set_differences,
)
from operations.model.windows import (
    LONG_CONTEXT_WINDOW,
    MAX_CONTEXT_ENV,
    assumed_windows,
    window_findings,
)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str = ""
    fix: str = ""


def entry_text(entries: dict, path: str) -> str | None:
    entry = entries.get(path)
    if entry is None or entry.kind != "file" or entry.content is None:
        return None
    return entry.content.decode("utf-8", "replace")


def source_check(data: DeployData, facts: dict, redeploy: str) -> Check:
    try:
        wanted = wanted_source(data.litellm_requirement)
    except ValueError as error:
        return Check("LiteLLM installed from the expected source", False,
                     f"LiteLLM requirement {data.litellm_requirement!r}: {error}",
                     "fix that --data or group_data value")
    installed = installed_source(facts.get("receipt"))
    if installed is None:
        return Check("LiteLLM installed from the expected source", False, "not installed", redeploy)
    if installed != wanted:
        return Check("LiteLLM installed from the expected source", False,
                     f"installed from {installed.describe()}, expected {data.litellm_requirement}",
                     redeploy)
    return Check("LiteLLM installed from the expected source", True, data.litellm_requirement)


def fork_check(data: DeployData) -> Check:
    """The plan's fork installs LiteLLM ~1.81.4, without the fixes of later advisories."""
    name = "LiteLLM is not the unpatched fork"
    if data.fork:
        return Check(name, False, FORK_HOLES,
                     "--data litellm_source=release (the official release, locked), then re-run deploy.py")
    return Check(name, True, data.litellm_requirement)


def lock_check(data: DeployData, environment: dict, redeploy: str) -> Check:
    """The distributions in LiteLLM's tool environment against its lock, for its own Python."""
    name = "LiteLLM's distributions are the locked set"
    lock = lock_path(data.litellm_requirement)
    if lock is None:
        return Check(name, True, f"unlocked: {data.litellm_requirement} has no lock in files/")
    if not environment["present"] or environment["markers"] is None:
        return Check(name, False, "LiteLLM's tool environment is missing or its Python does not run",
                     redeploy)
    installed = installed_set(environment["dists"])
    locked = locked_set(read_lock(lock.read_text(), f"files/{lock.name}"), environment["markers"])
    differences = set_differences(installed, locked)
    if differences:
        shown = "; ".join(differences[:5]) + (f" and {len(differences) - 5} more"
                                               if len(differences) > 5 else "")
        return Check(name, False, shown, f"{redeploy} (it installs exactly what files/{lock.name} pins)")
    return Check(name, True, f"{len(installed)} distributions as files/{lock.name} pins")


def compromise_check(environment: dict) -> Check:
    """Files and releases of LiteLLM's 2026 compromises, in its tool environment or /tmp."""
    name = "no sign of a compromised LiteLLM release"
    findings = indicator_findings(environment["indicators"], environment["dists"])
    if findings:
        return Check(name, False, "; ".join(findings), INCIDENT_STEPS)
    return Check(name, True, f"none of {', '.join(INDICATOR_FILES)}, "
                 f"{'/'.join(COMPROMISED_VERSIONS)} releases, {DAEMON_LOCK}")


def routing_check(data: DeployData, text: str | None, redeploy: str) -> Check:
    name = "config routes each tier as data says"
    if text is None:
        return Check(name, False, "config missing", redeploy)
    try:
        config = yaml.safe_load(text) or {}
        routes = {d["model_name"]: d["litellm_params"]["model"] for d in config["model_list"]}
    except (yaml.YAMLError, KeyError, TypeError):
        return Check(name, False, "config is not a LiteLLM model list", redeploy)
    wanted = {d["model_name"]: d["litellm_params"]["model"] for d in build_config(data)["model_list"]}
    wrong = [f"{model} -> {routes.get(model, 'missing')} (want {target})"
             for model, target in wanted.items() if routes.get(model) != target]
    if wrong:
        return Check(name, False, "; ".join(wrong), redeploy)
    return Check(name, True, ", ".join(f"{m} -> {t.split('/')[0]}" for m, t in wanted.items()))


def launcher_check(facts: dict, probe: dict, path: str, redeploy: str) -> Check:
    name = "launcher present, executable, syntax-valid"
    entry = facts["entries"].get(path)
    if entry is None or entry.kind != "file":
        return Check(name, False, f"~/{path} missing", redeploy)
    if not entry.mode or not entry.mode & 0o100:
        return Check(name, False, f"~/{path} is not executable", f"chmod 755 ~/{path}, or {redeploy}")
    if probe.get("launcher_syntax") != "0":
        return Check(name, False, "bash -n reports a syntax error", redeploy)
    return Check(name, True, f"~/{path}")


def alias_check(facts: dict, probe: dict, paths: dict, home: str, redeploy: str) -> Check:
    name = "launcher and its alias both run it"
    launcher, alias = paths["launcher"], paths["launcher_alias"]
    failing = [f"~/{relative}" for relative in (launcher, alias)
               if probe["runs"].get(f"{home}/{relative}") != "0"]
    if failing:
        return Check(name, False, " and ".join(failing) + " did not run the launcher", redeploy)
    if (alias, launcher) not in facts["same_files"]:
        return Check(name, False, f"~/{alias} runs another openClaude than ~/{launcher}", redeploy)
    entry = facts["entries"].get(alias)
    how = f"a link to ~/{launcher}" if entry and entry.link else "one file (case-insensitive)"
    return Check(name, True, f"~/{alias}: {how}")


def user_settings_check(facts: dict, paths: dict) -> Check:
    """The launcher's own check of ~/.claude/settings.json (parse_settings), at verify time."""
    name = "user settings usable by the launcher"
    problem = settings_problem(facts["entries"][paths["claude_settings"]], paths["claude_settings"])
    if problem:
        return Check(name, False, problem, settings_fix(f"~/{paths['openclaude_settings']}"))
    return Check(name, True, f"~/{paths['claude_settings']}")


def path_check(facts: dict, paths: dict) -> Check:
    name = "launcher's directory on the login shell's PATH"
    problem = path_problem(facts, paths["alias_dir"])
    if problem:
        return Check(name, False, problem, path_fix(facts, paths["alias_dir"]))
    return Check(name, True, f"~/{paths['alias_dir']} ({facts.get('shell')})")


def settings_check(data: DeployData, text: str | None, path: str, redeploy: str) -> Check:
    name = "derived settings have the model variables"
    if text is None:
        return Check(name, False, f"~/{path} missing", redeploy)
    try:
        env = (json.loads(text) or {}).get("env") or {}
    except (ValueError, AttributeError):
        return Check(name, False, f"~/{path} is not a JSON object", redeploy)
    tiers = settings_tiers(data)
    # A slot left out of tiers gets Claude Code's own model: its variables must be absent.
    wanted = {name: tiers.get(slot) for slot, names in SLOT_ENV.items() for name in names}
    wrong = [f"{key}={env.get(key)!r}" for key, value in wanted.items() if env.get(key) != value]
    if wrong:
        return Check(name, False, ", ".join(wrong), redeploy)
    if "ANTHROPIC_API_KEY" in env:
        return Check(name, False, "ANTHROPIC_API_KEY is set: Claude Code would skip the proxy key "
                     "or the OAuth login", f"remove it from ~/.claude/settings.json env, then {redeploy}")
    return Check(name, True, "pinned tier variables set, no ANTHROPIC_API_KEY")


def managed_check(data: DeployData, texts: dict) -> Check:
    """Managed settings that take Claude Code off the proxy or the subscription, in the words
    the launcher prints before Claude Code starts (files/openclaude_layers.py)."""
    name = "managed settings keep Claude Code on the proxy"
    findings = findings_in(texts, data.mode, f"http://127.0.0.1:{data.port}")
    if findings:
        return Check(name, False, "; ".join(findings),
                     "ask your administrator to change the setting named (no user setting can)")
    return Check(name, True, ", ".join(texts) if texts else "none on this machine")


def key_check(facts: dict, path: str, redeploy: str) -> Check:
    name = "master key present and private"
    entry = facts["entries"].get(path)
    if entry is None or entry.kind != "file":
        return Check(name, False, f"~/{path} missing", redeploy)
    if not entry.key_valid:
        return Check(name, False, f"~/{path} holds no LiteLLM key",
                     f"move ~/{path} away, then {redeploy}")
    if entry.mode != 0o600:
        return Check(name, False, f"mode {entry.mode:o}", f"chmod 600 ~/{path}")
    return Check(name, True, "0600")


def claude_check(probe: dict) -> Check:
    if probe.get("claude"):
        return Check("claude on PATH", True, probe["claude"])
    return Check("claude on PATH", False, "not found",
                 "npm install -g @anthropic-ai/claude-code (or Anthropic's installer)")


def aws_check(probe: dict, redeploy: str) -> Check:
    """The identity the proxy will sign with (the settings' AWS_* over the shell's), resolvable
    and not expired; the Bedrock tiers' region beside the user's AWS_REGION when they differ."""
    name = "AWS credentials available"
    identity = probe.get("aws_identity")
    if identity is None:
        return Check(name, False, "the AWS helper (LiteLLM's Python, ~/.litellm/openclaude_aws.py) "
                     "is missing", redeploy)
    if identity.get("settings_unusable"):
        return Check(name, True, "not checked: the user's settings cannot be read (its own line)")
    if not identity.get("ok"):
        problem, _, fix = identity.get("problem", "").partition("; fix: ")
        return Check(name, False, problem, fix or "see the message")
    detail = identity["summary"]
    if identity.get("note"):
        detail += f"; {identity['note']}"
    return Check(name, True, detail)


def lifecycle_checks(data: DeployData, facts: dict, today: date) -> list[Check]:
    models = facts.get("models")
    if models is not None:
        models = {tier.upstream_id: models.get(tier.upstream_id)
                  for tier in pinned_tiers(data.tiers, data.mode)}
    if models is None:
        return [Check("model ids current", False, "LiteLLM's model map could not be read",
                      "re-run the deploy")]
    findings = lifecycle_findings(models, today)
    if not findings:
        return [Check("model ids current", True, ", ".join(sorted(models)))]
    return [Check("model ids current", level != "error", message,
                  "pin another model with --data" if level == "error" else "")
            for level, message in findings]


def context_check(data: DeployData, settings_text: str | None, models: dict | None) -> Check:
    """Claude Code's window for each tier (from the derived settings) fits its model's input limit."""
    name = "context windows fit the models"
    if models is None:
        return Check(name, False, "LiteLLM's model map could not be read", "re-run the deploy")
    try:
        env = (json.loads(settings_text or "{}") or {}).get("env") or {}
    except (ValueError, AttributeError):
        env = {}
    value = str(env.get(MAX_CONTEXT_ENV, "")).strip()
    # Without the variable Claude Code assumes 1M tokens for a name it does not know.
    max_context = int(value) if value.isdigit() and int(value) > 0 else LONG_CONTEXT_WINDOW
    findings = window_findings(data, models, max_context)
    if findings:
        return Check(name, False, "; ".join(findings), "set that --data value and re-deploy")
    windows = assumed_windows(data, max_context)
    return Check(name, True, ", ".join(f"{slot} {windows[slot]}" for slot in windows))


def table(checks: list[Check]) -> str:
    width = max(len(check.name) for check in checks)
    lines = []
    for check in checks:
        mark = "PASS" if check.passed else "FAIL"
        lines.append(f"{mark}  {check.name.ljust(width)}  {check.detail}")
        if not check.passed and check.fix:
            lines.append(f"      {'':{width}}  fix: {check.fix}")
    return "\n".join(lines)


# Refusals users have met through the proxy, and what fixes each (FIELD-NOTES, README).
KNOWN_REFUSALS = (
    ("long context beta is not yet available",
     "your plan refuses the 1M context: --data long_context=false, then re-deploy"),
    ("OAuth authentication is currently not supported",
     "the anthropic-beta OAuth header is missing: update Claude Code"),
    ("exceeds the model limit", "lower the tier's cap, e.g. --data haiku_output_limit=4096"),
    ("security token included in the request is invalid",
     "refresh your AWS credentials (aws sso login / aws configure)"),
    ("AccessDeniedException", "enable access to that model in Bedrock for your AWS account and region"),
    ("Not logged in", "run openclaude once and sign in with /login (openClaude has its own login)"),
    ("authentication_error", "your Claude sign-in expired: run openclaude, then /login"),
    ("No connected db", "the proxy key did not reach LiteLLM: re-run the deploy (launcher)"),
    ("Third-party apps now draw from your extra usage",
     "Anthropic took the request for a third-party app's: check nothing else rewrites Claude Code's "
     "requests (another proxy, ANTHROPIC_CUSTOM_HEADERS), update Claude Code; openClaude --logs"),
    ("only authorized for use with Claude Code",
     "Anthropic took the request for another client's: check nothing else rewrites Claude Code's "
     "requests (another proxy, ANTHROPIC_CUSTOM_HEADERS), update Claude Code; openClaude --logs"),
    ("disabled Claude subscription access",
     "your organisation does not allow Claude Code on a subscription: ask its admin, or rollback.py"),
    ("OAuth authentication is currently not allowed for this organization",
     "your organisation does not allow Claude Code on a subscription: ask its admin, or rollback.py"),
)


def known_fix(text: str) -> str:
    for needle, fix in KNOWN_REFUSALS:
        if needle.lower() in text.lower():
            return fix
    return "see ~/.litellm/proxy.log (openClaude --logs) for the upstream's answer"


def live_checks(data: DeployData, live: dict) -> list[Check]:
    status, text = live.get("health", ("1", "no answer"))
    checks = [Check("proxy starts and answers its health check", status == "0", text[:120],
                    "openClaude --logs shows why")]
    decided = {tier.slot: tier for tier in pinned_tiers(data.tiers, data.mode)}
    pinned = {tier.name.split("[", 1)[0]: tier.slot for tier in data.tiers if tier.name}
    for tier in data.tiers:
        expected = decided[tier.slot].model if tier.slot in decided else None
        where = (f"{decided[tier.slot].provider} {decided[tier.slot].upstream_id}" if expected
                 else "anthropic, the model Claude Code asks for")
        status, text = live["prompts"].get(tier.slot, ("1", "not run"))
        # The pass-through records the name asked for, LiteLLM's route the tier.
        recorded = [r for r in live.get("usage", []) if tier.slot in (
            r.get("group"), pinned.get(r.get("group")), family_slot(r.get("group")))]
        # Only the proxy's record proves the route: claude may exit 0 without calling it.
        reached = [r for r in recorded if r.get("status") == "200" and (
            r.get("upstream") == expected if expected
            else str(r.get("upstream")).startswith("anthropic/"))]
        passed = status == "0" and bool(reached)
        detail = f"-> {where}: {text[:160] or 'no output'}"
        fix = "" if passed else known_fix(text)
        if status == "0" and not reached:
            seen = ", ".join(f"{r.get('upstream')} {r.get('error') or r.get('status')}"
                             + (f" (fallback: {r['fallback']})" if r.get("fallback") else "")
                             for r in recorded)
            detail = (f"claude exited 0, but the proxy recorded no {tier.slot} request reaching "
                      f"{where}" + (f"; it recorded {seen}" if seen else ""))
            fix = ("claude did not go through the proxy: look for ANTHROPIC_BASE_URL or "
                   "CLAUDE_CODE_USE_* in your environment and settings; openClaude --logs")
        checks.append(Check(f"live {tier.slot} prompt", passed, detail, fix))
    return checks


def deployed_mode(launcher_text: str | None) -> str | None:
    match = re.search(r"^OPENCLAUDE_MODE='?(oauth|bedrock)'?$", launcher_text or "", re.MULTILINE)
    return match and match.group(1)
