"""Each tier's context window as Claude Code sees it, against its upstream's input limit.

Claude Code keeps a conversation within the window it believes the model has (auto-compact). It
knows the windows of Claude models by name; for a name it does not know (2.1.197: not
``claude-...``; 2.1.332: not in its catalog) it assumes 1M tokens (2.1.332, with the notice
"doesn't recognize the model") or 200K (2.1.197), unless ``CLAUDE_CODE_MAX_CONTEXT_TOKENS`` is set:
both versions then use that one value for every such name. The derived settings set it
(``MAX_CONTEXT_ENV``).
"""

from __future__ import annotations

from files.openclaude_settings import MAX_CONTEXT_ENV
from operations.model.data import DeployData
from operations.model.routes import pinned_tiers

LONG_CONTEXT_WINDOW = 1_000_000  # a Claude name with "[1m]", and 2.1.332's guess for an unknown name
STANDARD_WINDOW = 200_000  # a Claude name without "[1m]"
LONG_CONTEXT_SLOTS = ("opus", "sonnet")  # the slots settings_tiers gives "[1m]"


def known_to_claude_code(name: str | None) -> bool:
    """Whether Claude Code knows the name's window (None: its own model, which it knows)."""
    return name is None or name.startswith("claude-")


def max_context_tokens(data: DeployData) -> int | None:
    """The ``CLAUDE_CODE_MAX_CONTEXT_TOKENS`` the settings carry: the smallest window set for a
    tier whose name Claude Code does not know (it honours one value for all of them)."""
    windows = [tier.context_window for tier in data.tiers
               if tier.context_window and not known_to_claude_code(tier.name)]
    return min(windows) if windows else None


def assumed_windows(data: DeployData, max_context: int | None = None) -> dict:
    """``{slot: tokens}``: the window Claude Code works with for each tier the data decides
    (``pinned_tiers``; an unpinned Claude tier keeps Claude Code's own), given the settings'
    ``CLAUDE_CODE_MAX_CONTEXT_TOKENS`` (``max_context``; default: what the deploy sets)."""
    unknown = max_context or max_context_tokens(data) or LONG_CONTEXT_WINDOW
    windows = {}
    for tier in pinned_tiers(data.tiers, data.mode):
        if not known_to_claude_code(tier.name):
            windows[tier.slot] = unknown
        elif data.long_context and tier.slot in LONG_CONTEXT_SLOTS:
            windows[tier.slot] = LONG_CONTEXT_WINDOW
        else:
            windows[tier.slot] = STANDARD_WINDOW
    return windows


def window_findings(data: DeployData, models: dict, max_context: int | None = None) -> list[str]:
    """A message per tier whose assumed window exceeds its upstream's ``max_input_tokens``.

    + models: ``{upstream_id: {"max_input_tokens": N, ...} | None}`` (LiteLLM's model map)
    + max_context: the settings' ``CLAUDE_CODE_MAX_CONTEXT_TOKENS``, as for ``assumed_windows``
    """
    findings = []
    windows = assumed_windows(data, max_context)
    for tier in pinned_tiers(data.tiers, data.mode):
        limit = (models.get(tier.upstream_id) or {}).get("max_input_tokens")
        assumed = windows[tier.slot]
        if not isinstance(limit, int) or assumed <= limit:
            continue
        if tier.name is None:
            fix = f"pin the {tier.slot} slot to a model with a larger window"
        elif known_to_claude_code(tier.name):
            fix = ("--data long_context=false" if assumed == LONG_CONTEXT_WINDOW
                   else "pin a model with a larger window")
        else:
            fix = f"--data {tier.slot}_context_window={limit}"
        name = tier.name or "Claude Code's own"
        findings.append(
            f"{tier.slot} tier ({name} -> {tier.upstream_id}): Claude Code assumes a "
            f"context window of {assumed} tokens, the model accepts {limit} (LiteLLM's map); {fix}"
        )
    return findings
