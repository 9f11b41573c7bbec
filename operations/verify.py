"""Read-only checks of a host's openClaude state: a table per host, a one-line fix per failure."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from datetime import date

import yaml
from pyinfra import host, logger, state
from pyinfra.api import FactBase, deploy, operation

from files.openclaude_settings import settings_fix
from files.openclaude_usage import FIELDS as USAGE_FIELDS
from operations.checks import settings_problem
from operations.context import (
    LONG_CONTEXT_WINDOW,
    MAX_CONTEXT_ENV,
    assumed_windows,
    window_findings,
)
from operations.data import MODES, DataError, DeployData, load_data
from operations.facts import CLAUDE_DIRS, PORTABLE_SH, shell_words
from operations.lifecycle import lifecycle_findings
from operations.openclaude import DEFAULTS, managed_paths, read_target
from operations.render import AWS_EXPORT_CONFIG, build_config, settings_tiers
from operations.shellpath import path_fix, path_problem
from operations.sources import installed_source, wanted_source

# What the table needs beyond OpenClaudeHost, in one command. The AWS identity is the one the
# proxy will sign with, resolved by the launcher's own helper (botocore, LiteLLM's Python) from
# the user's settings over this shell's environment, without refreshing or writing anything.
_PROBE_SCRIPT = r"""
launcher=$1; alias=$2; python=$3; aws_script=$4
printf 'claude\t%s\n' "$(find_tool claude @CLAUDE_DIRS@)"
if [ -f "$launcher" ]; then bash -n "$launcher" 2>/dev/null; printf 'launcher_syntax\t%s\n' "$?"; fi
for name in "$launcher" "$alias"; do
  "$name" --help 2>/dev/null | grep -q '^Usage: openClaude'; printf 'runs\t%s\t%s\n' "$name" "$?"
done
if [ -x "$python" ] && [ -f "$aws_script" ]; then
  printf 'aws_identity\t%s\n' "$("$python" "$aws_script" check "$5" "$6" "$7" 2>/dev/null | tr -d '\n')"
fi
true
"""
_PROBE_SCRIPT = PORTABLE_SH + _PROBE_SCRIPT.replace("@CLAUDE_DIRS@", shell_words(CLAUDE_DIRS))


class VerifyProbe(FactBase):
    """
    What verify.py needs beyond the deploy's fact: ``claude`` on PATH, the launcher's syntax,
    whether the launcher and its alias each run it (``--help``), and the AWS identity the proxy
    would sign with (``files/openclaude_aws.py check``: no secret in it).

    + launcher: absolute path of the launcher
    + alias: absolute path of the launcher's alias
    + aws: absolute paths of LiteLLM's Python, the AWS helper, the user's settings, the config
      and the generated export config, in that order

    **Example:**

    .. code:: python

        {"claude": "/usr/bin/claude", "launcher_syntax": "0",
         "runs": {"/home/dev/.local/bin/openClaude": "0", "/home/dev/.local/bin/openclaude": "0"},
         "aws_identity": {"ok": True, "summary": "profile dev, credentials from ...", "note": ""}}
    """

    def command(self, launcher: str, alias: str, aws=()) -> str:
        quoted = " ".join(shlex.quote(arg) for arg in (launcher, alias, *aws))
        return f"sh -c {shlex.quote(_PROBE_SCRIPT)} probe {quoted}"

    @staticmethod
    def default() -> dict:
        return {}

    def process(self, output) -> dict:
        probe: dict = {"runs": {}}
        for line in output:
            field, _, rest = line.partition("\t")
            if field == "runs":
                name, _, status = rest.rpartition("\t")
                probe["runs"][name] = status
            elif field == "aws_identity":
                try:
                    probe["aws_identity"] = json.loads(rest)
                except ValueError:
                    probe["aws_identity"] = {"ok": False, "problem": "the AWS helper failed"}
            else:
                probe[field] = rest
        return probe


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str = ""
    fix: str = ""


def _entry_text(entries: dict, path: str) -> str | None:
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
    problem = path_problem(facts, paths["bin_dir"])
    if problem:
        return Check(name, False, problem, path_fix(facts, paths["bin_dir"]))
    return Check(name, True, f"~/{paths['bin_dir']} ({facts.get('shell')})")


def settings_check(data: DeployData, text: str | None, path: str, redeploy: str) -> Check:
    name = "derived settings have the model variables"
    if text is None:
        return Check(name, False, f"~/{path} missing", redeploy)
    try:
        env = (json.loads(text) or {}).get("env") or {}
    except (ValueError, AttributeError):
        return Check(name, False, f"~/{path} is not a JSON object", redeploy)
    tiers = settings_tiers(data)
    wanted = {"ANTHROPIC_DEFAULT_OPUS_MODEL": tiers["opus"],
              "ANTHROPIC_DEFAULT_SONNET_MODEL": tiers["sonnet"],
              "ANTHROPIC_DEFAULT_HAIKU_MODEL": tiers["haiku"]}
    wrong = [f"{key}={env.get(key)!r}" for key, value in wanted.items() if env.get(key) != value]
    if wrong:
        return Check(name, False, ", ".join(wrong), redeploy)
    if "ANTHROPIC_API_KEY" in env:
        return Check(name, False, "ANTHROPIC_API_KEY is set: Claude Code would skip the proxy key "
                     "or the OAuth login", f"remove it from ~/.claude/settings.json env, then {redeploy}")
    return Check(name, True, "tier variables set, no ANTHROPIC_API_KEY")


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
        models = {tier.upstream_id: models.get(tier.upstream_id) for tier in data.tiers}
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


# Hosts whose table this run printed: pyinfra runs an operation's body once for change
# detection (without -y, and with --dry) and again to execute; the table belongs once.
_REPORTED: set = set()


@operation()
def checks_pass(checks: list):
    """
    Print this host's checks as a table, once; mark the host failed when any check failed, so
    pyinfra exits non-zero. Runs no command and changes nothing: never counted as a change.

    + checks: ``Check`` results

    **Example:**

    .. code:: python

        checks_pass(name="openClaude checks", checks=[Check("claude on PATH", True)])
    """
    failed = [check.name for check in checks if not check.passed]
    if host.name not in _REPORTED:
        _REPORTED.add(host.name)
        for line in table(checks).splitlines():
            host.log(line, logger.info)
        if failed:
            host.log_styled("openClaude: failed: " + "; ".join(failed), fg="red",
                            log_func=logger.error)
    if failed:
        # pyinfra's exit status is non-zero when a host failed; failing the operation instead
        # would also stop the host ("No hosts remaining!") for a check that changed nothing.
        state.failed_hosts.add(host._get_module())
        host.noop(f"{len(failed)} of {len(checks)} checks failed")
    else:
        host.noop(f"all {len(checks)} checks passed")
    yield from ()


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
)

_LIVE_SCRIPT = r"""
launcher=$1; usage=$2; shift 2
# An empty working directory: no project's .claude/settings.json applies to the prompts.
work=$(mktemp -d) && cd "$work" || exit 1
"$launcher" --status >/dev/null 2>&1 || true
started=$(date +%s)
for model in "$@"; do
  output=$(limited 180 "$launcher" -p "Reply with the single word OK." --model "$model" 2>&1 < /dev/null)
  status=$?
  printf 'prompt\t%s\t%s\t%s\n' "$model" "$status" "$(printf '%s' "$output" | tr '\t\n' '  ' | cut -c1-400)"
done
# What the proxy recorded meanwhile: the proof that each prompt reached its upstream.
cat "$usage.1" "$usage" 2>/dev/null | awk -F '\t' -v since="$started" '$1 >= since { print "usage\t" $0 }'
health=$("$launcher" --status 2>&1); printf 'health\t%s\t%s\n' "$?" "$(printf '%s' "$health" | tr '\t\n' '  ')"
cd / && rm -rf "$work"
"""
_LIVE_SCRIPT = PORTABLE_SH + _LIVE_SCRIPT


class LiveProbe(FactBase):
    """
    One tiny prompt per tier through the launcher (the user's own Claude Code login), then the
    proxy's health. Starts the proxy if needed; only with ``--data live=true``.

    + launcher: absolute path of the launcher
    + usage_record: absolute path of the proxy's usage record
    + models: the tier names to prompt

    **Example:**

    .. code:: python

        {"prompts": {"claude-opus-4-6": ("0", "OK")}, "health": ("0", "proxy healthy ..."),
         "usage": [{"group": "claude-opus-4-6", "upstream": "anthropic/claude-opus-4-6",
                    "status": "200", ...}]}
    """

    def command(self, launcher: str, usage_record: str, models) -> str:
        quoted = " ".join(shlex.quote(model) for model in models)
        return (f"sh -c {shlex.quote(_LIVE_SCRIPT)} live {shlex.quote(launcher)} "
                f"{shlex.quote(usage_record)} {quoted}")

    @staticmethod
    def default() -> dict:
        return {"prompts": {}, "usage": []}

    def process(self, output) -> dict:
        live: dict = {"prompts": {}, "usage": []}
        for line in output:
            field, _, rest = line.partition("\t")
            if field == "usage":
                live["usage"].append(dict(zip(USAGE_FIELDS, rest.split("\t"))))
            elif field == "prompt":
                model, status, text = (rest.split("\t", 2) + ["", ""])[:3]
                live["prompts"][model] = (status, text.strip())
            elif field == "health":
                status, _, text = rest.partition("\t")
                live["health"] = (status, text.strip())
        return live


def known_fix(text: str) -> str:
    for needle, fix in KNOWN_REFUSALS:
        if needle.lower() in text.lower():
            return fix
    return "see ~/.litellm/proxy.log (openClaude --logs) for the upstream's answer"


def live_checks(data: DeployData, live: dict) -> list[Check]:
    status, text = live.get("health", ("1", "no answer"))
    checks = [Check("proxy starts and answers its health check", status == "0", text[:120],
                    "openClaude --logs shows why")]
    names = settings_tiers(data)
    for tier in data.tiers:
        model = names[tier.slot]
        where = f"{tier.provider} {tier.upstream_id}"
        status, text = live["prompts"].get(model, ("1", "not run"))
        recorded = [r for r in live.get("usage", []) if r.get("group") == tier.name]
        # Only the proxy's record proves the route: claude may exit 0 without calling it.
        reached = [r for r in recorded if r.get("upstream") == tier.model and r.get("status") == "200"]
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
    facts = read_target(paths, sorted({t.upstream_id for d in by_mode.values() for t in d.tiers}))
    mode = host.data.get("verify_mode") or deployed_mode(
        _entry_text(facts["entries"], paths["launcher"])) or "oauth"
    data = by_mode[mode]
    redeploy = "re-run " + ("deploy.py" if mode == "oauth" else "rollback.py")
    launcher = f"{facts['home']}/{paths['launcher']}"
    home = facts["home"]
    aws = (f"{facts.get('tool_dir')}/litellm/bin/python", f"{home}/{paths['aws_script']}",
           f"{home}/{paths['claude_settings']}", f"{home}/{paths['litellm_config']}",
           f"{home}/{paths['config_dir']}/{AWS_EXPORT_CONFIG}")
    probe = host.get_fact(VerifyProbe, launcher=launcher,
                          alias=f"{home}/{paths['launcher_alias']}", aws=aws)
    entries = facts["entries"]
    checks = [
        source_check(data, facts, redeploy),
        routing_check(data, _entry_text(entries, paths["litellm_config"]), redeploy),
        launcher_check(facts, probe, paths["launcher"], redeploy),
        alias_check(facts, probe, paths, facts["home"], redeploy),
        user_settings_check(facts, paths),
        path_check(facts, paths),
        settings_check(data, _entry_text(entries, paths["openclaude_settings"]),
                       paths["openclaude_settings"], redeploy),
        key_check(facts, paths["master_key_file"], redeploy),
        claude_check(probe),
        aws_check(probe, redeploy),
        *lifecycle_checks(data, facts, date.today()),
        context_check(data, _entry_text(entries, paths["openclaude_settings"]),
                      facts.get("models")),
    ]
    if host.data.get("live"):
        names = settings_tiers(data)
        models = [names[tier.slot] for tier in data.tiers]
        usage_record = f"{facts['home']}/{paths['usage_record']}"
        checks += live_checks(data, host.get_fact(LiveProbe, launcher=launcher,
                                                  usage_record=usage_record, models=models))
    checks_pass(name=f"openClaude checks ({mode} mode)", checks=checks)
