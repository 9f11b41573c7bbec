"""The inputs check that runs first: it fails one host, before anything changes, with a clear message."""

from __future__ import annotations

import posixpath
import shlex
from datetime import date

from pyinfra import host, logger, state
from pyinfra.api import operation

from files.openclaude_aws import region_note
from files.openclaude_settings import SettingsError, parse_settings
from operations.context import window_findings
from operations.data import DeployData, token_leak_warning
from operations.facts import OpenClaudeHost
from operations.lifecycle import lifecycle_findings
from operations.sources import wanted_source


def _shown(path: str) -> str:
    return f"~/{path}"


def settings_problem(entry, path: str) -> str | None:
    """Why the user's Claude Code settings cannot be used, or None (missing counts as {})."""
    if entry.kind == "missing":
        return None
    if entry.kind == "unreadable":
        return f"{_shown(path)}: cannot be read (permission denied); make it readable by its owner"
    if entry.kind != "file":
        return f"{_shown(path)}: is not a regular file"
    try:
        parse_settings(entry.content.decode("utf-8"), _shown(path))
    except UnicodeDecodeError:
        return f"{_shown(path)}: is not UTF-8 text"
    except SettingsError as error:
        return str(error)
    return None


def written_dirs(paths: dict) -> list[str]:
    """The directories the deploy writes into and their ancestors under HOME, outermost first."""
    found: list[str] = []
    for directory in (
        posixpath.dirname(paths["litellm_config"]),
        posixpath.dirname(paths["launcher"]),
        paths["openclaude_dir"],
    ):
        parts = directory.split("/")
        for end in range(1, len(parts) + 1):
            if "/".join(parts[:end]) not in found:
                found.append("/".join(parts[:end]))
    return found


def input_problems(data: DeployData, facts: dict) -> list[str]:
    """Everything that must stop this host's deploy before it changes anything."""
    entries = facts["entries"]
    paths = data.paths
    problems = []
    problem = settings_problem(entries[paths["claude_settings"]], paths["claude_settings"])
    if problem:
        problems.append(problem + "; fix it and re-run (no file was changed)")
    for directory in written_dirs(paths):
        if entries[directory].kind not in ("dir", "missing"):
            problems.append(
                f"{_shown(directory)}: is a file, not a directory; move it away and re-run"
            )
    key = entries[paths["master_key_file"]]
    if key.kind not in ("file", "missing") or key.key_valid is False:
        problems.append(
            f"{_shown(paths['master_key_file'])}: does not hold a LiteLLM master key "
            "(sk- and 64 hex digits); move it away and re-run to create a new one"
        )
    if not facts.get("uv") and not facts.get("python3"):
        problems.append(
            "uv is not installed and python3 is missing, so uv cannot be installed without "
            "sudo; install uv or python3 for this user and re-run"
        )
    try:
        wanted_source(data.litellm_requirement)
    except ValueError as error:
        problems.append(f"LiteLLM requirement {data.litellm_requirement!r}: {error}")
    return problems


def input_warnings(data: DeployData) -> list[str]:
    """What the deploy reports but does not stop for."""
    leak = token_leak_warning(data)
    return [leak] if leak else []


def region_warnings(data: DeployData, settings_entry, path: str) -> list[str]:
    """The Bedrock tiers' region (data) beside the AWS_REGION the user's Claude Code used."""
    if settings_entry.kind != "file" or not any(t.provider == "bedrock" for t in data.tiers):
        return []
    try:
        env = parse_settings(settings_entry.content.decode("utf-8"), _shown(path)).get("env") or {}
    except (UnicodeDecodeError, SettingsError):
        return []  # the inputs check reports it
    region = env.get("AWS_REGION")
    note = region_note(region if isinstance(region, str) else None, [data.aws_region],
                       f"env.AWS_REGION in {_shown(path)}")
    return [note] if note else []


@operation()
def inputs_usable(*, problems: list[str], warnings: list[str] = ()):
    """
    Fail this host, before any change, when its inputs cannot be used; print warnings.

    + problems: messages that each name a file or data key and the fix
    + warnings: messages that do not stop the deploy

    **Example:**

    .. code:: python

        inputs_usable(name="Check inputs", problems=[], warnings=[])
    """
    for warning in warnings:
        host.log_styled(f"openClaude warning: {warning}", fg="yellow", log_func=logger.warning)
    if not problems:
        host.noop("inputs are usable")
        return
    message = "\n".join(f"openClaude: {problem}" for problem in problems)
    if not state.is_executing:
        # Change detection (--dry, or the preview before confirming) never runs the command below.
        for problem in problems:
            host.log_styled(f"openClaude: {problem}", fg="red", log_func=logger.error)
    yield f"echo {shlex.quote(message)} >&2; exit 1"


@operation()
def model_ids_current(model_ids: list[str], *, config_changes: bool, data: DeployData | None = None):
    """
    Warn about upstream ids missing from the installed LiteLLM's bundled model map, retired, or
    retiring within 30 days, and about a tier whose context window (as Claude Code sees it)
    exceeds its model's input limit. Read only when the config changes (verify.py checks every
    time, and fails them), so a converged run costs nothing here.

    + model_ids: the upstream ids the config routes to
    + config_changes: whether this run writes a new config
    + data: the deploy data, for the context windows; None skips that check

    **Example:**

    .. code:: python

        model_ids_current(name="Model ids are current", model_ids=["claude-opus-4-6"],
                          config_changes=True)
    """
    if config_changes:
        models = host.get_fact(OpenClaudeHost, model_ids=model_ids).get("models") or {}
        messages = [message for _, message in lifecycle_findings(models, date.today())]
        if data is not None:
            messages += window_findings(data, models)
        for message in messages:
            host.log_styled(f"openClaude warning: {message}", fg="yellow", log_func=logger.warning)
    host.noop("model ids checked against LiteLLM's model map" if config_changes
              else "config unchanged")
    yield from ()  # warnings only: nothing to run on the target
