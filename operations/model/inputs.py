"""The deploy's inputs, checked before anything changes: what stops a host, what only warns."""

from __future__ import annotations

from files.openclaude_aws import region_note
from files.openclaude_settings import SettingsError, parse_settings
from operations.model.data import DeployData, token_leak_warning
from operations.model.layout import written_dirs
from operations.model.sources import wanted_source
from operations.model.supply_chain import supply_problems, supply_warnings


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
    else:
        problems += supply_problems(data.litellm_requirement)
    return problems


def input_warnings(data: DeployData) -> list[str]:
    """What the deploy reports but does not stop for."""
    leak = token_leak_warning(data)
    return [leak] if leak else []


def litellm_warnings(data: DeployData) -> list[str]:
    """The fork's known holes, or an unlocked release: said once per run."""
    return supply_warnings(data.litellm_requirement, fork=data.fork, fork_branch=data.fork_branch)


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
