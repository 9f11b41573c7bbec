"""Operations that check before and around the changes: inputs usable, model ids current."""

from __future__ import annotations

import shlex
from datetime import date

import click
from pyinfra import host, logger, state
from pyinfra.api import operation

from operations.facts.host import OpenClaudeHost
from operations.model.lifecycle import lifecycle_findings
from operations.model.windows import window_findings


# Warnings this run printed: said once per run, not per host, nor again when pyinfra runs an
# operation's body a second time.
_SAID: set = set()


def say_once(warnings: list[str]) -> None:
    """Print each of ``warnings`` unless this run already did."""
    for warning in warnings:
        if warning not in _SAID:
            _SAID.add(warning)
            logger.warning(click.style(f"openClaude warning: {warning}", fg="yellow"))


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
