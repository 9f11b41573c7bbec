"""The opt-in login agent (``proxy_at_login``): the user's own service manager runs
``openclaude --start`` at login, so the proxy is up before the first prompt. launchd on macOS,
a systemd user unit on Linux; never sudo."""

from __future__ import annotations

import posixpath
import shlex
import uuid
from io import BytesIO

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, StringCommand, operation

from operations.facts.host import Entry
from operations.ops.homefiles import holds
from operations.model.login_agent import LoginAgent

AGENT_MODE = 0o644


def _load(agent: LoginAgent, facts: dict, *, replaced: bool) -> list[str]:
    """Commands that load the agent (its job then runs once: the proxy starts now too)."""
    name = shlex.quote(agent.name)
    if agent.manager == "launchd":
        domain = shlex.quote(facts["agent_domain"])
        load = f"launchctl bootstrap {domain} {shlex.quote(agent.path)}"
        if replaced and facts.get("agent_loaded") == "yes":
            return [f"launchctl bootout {domain}/{name}", load]
        return [load]
    if facts.get("agent_loaded") == "yes":
        return ["systemctl --user daemon-reload"]
    return ["systemctl --user daemon-reload", f"systemctl --user enable --now --no-block {name}"]


def _unload(agent: LoginAgent, facts: dict) -> list[str]:
    """Commands that unload the agent; the proxy it started keeps running."""
    if facts.get("agent_manager") != agent.manager or facts.get("agent_loaded") != "yes":
        return []
    name = shlex.quote(agent.name)
    if agent.manager == "launchd":
        return [f"launchctl bootout {shlex.quote(facts['agent_domain'])}/{name}"]
    return [f"systemctl --user disable --now {name}"]


@operation()
def proxy_at_login(agent: LoginAgent, *, wanted: bool, current: Entry, facts: dict):
    """
    The login agent placed and loaded in the user's service manager, or unloaded and removed.

    Where no user service manager runs (a container, an SSH-only host) it says so once and
    places nothing; the first launch after login then starts the proxy as before.

    + agent: the ``LoginAgent`` for this target (``login_agent()``)
    + wanted: place and load it (True), or unload and remove it (False)
    + current: the agent file's ``Entry`` from the ``OpenClaudeHost`` fact
    + facts: the ``OpenClaudeHost`` fact, read with its login agent fields

    **Example:**

    .. code:: python

        proxy_at_login(name="The proxy starts at login", agent=login_agent("Linux", home, paths),
                       wanted=True, current=entries[".config/systemd/user/openclaude.service"],
                       facts=facts)
    """
    present = current.kind == "file"
    if not wanted:
        if not present:
            host.noop("no login agent is installed")
            return
        yield from _unload(agent, facts)
        yield StringCommand("rm", "-f", shlex.quote(agent.path))
        if facts.get("agent_manager") == "systemd":
            yield "systemctl --user daemon-reload"
        return

    missing = facts.get("agent_manager_missing")
    if facts.get("agent_manager") != agent.manager:
        why = missing or f"{agent.manager} is not this host's service manager"
        # pyinfra may run this twice (a change check, then the run): speak in the run only.
        if state.is_executing:
            host.log_styled(
                f"openClaude: proxy_at_login is set, but {why}: no login agent placed. The first "
                "openclaude after a login starts the proxy (or run 'openclaude --start').",
                fg="yellow", log_func=logger.warning)
        host.noop(f"no login agent: {why}")
        return

    wanted_bytes = agent.content.encode("utf-8")
    if present and holds(current, wanted_bytes):
        if current.mode != AGENT_MODE:
            yield StringCommand("chmod", format(AGENT_MODE, "o"), shlex.quote(agent.path))
        if facts.get("agent_loaded") == "yes":
            host.noop(f"{agent.path} is in place and loaded")
        else:
            yield from _load(agent, facts, replaced=False)
        return

    directory, file_name = posixpath.split(agent.path)
    tmp = f"{directory}/.{file_name}.{uuid.uuid4().hex[:12]}.tmp"
    yield StringCommand(f"mkdir -p {shlex.quote(directory)} && umask 022 && : > {shlex.quote(tmp)}")
    yield FileUploadCommand(BytesIO(wanted_bytes), tmp)
    yield StringCommand(f"chmod {format(AGENT_MODE, 'o')} {shlex.quote(tmp)} && "
                        f"mv -f {shlex.quote(tmp)} {shlex.quote(agent.path)}")
    yield from _load(agent, facts, replaced=present)
