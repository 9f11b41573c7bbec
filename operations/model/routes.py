"""Which model names the proxy answers, and where each goes: the config's ``model_list``, built
from LiteLLM's own wildcard names (``claude-opus-*``) so Claude Code's names route whatever
version it asks for. Pure: no I/O.

Per tier (Claude Code's slot, named after the model family):

* ``claude-<family>-*``: the names Claude Code sends (aliases resolved, full and dated ids, names
  newer than this data). To the Anthropic API under its own name when the tier's model in the
  state is an ``anthropic/`` one, else to the tier's model, except that in the OAuth state a
  Claude name never goes to a model that is not Claude (the haiku tier's Qwen): Claude Code keeps
  a Claude name within that Claude model's context window, so the name goes to Anthropic as
  itself (the catch-all below). The haiku slot itself sends its pinned name (``qwen-3-coder``).
* ``*anthropic.claude-*<family>*``: Bedrock-style ids (``us.``/``eu.``/``global.`` prefixes,
  ``-v1:0``) that projects set up for Bedrock still name: the tier's model.
* the tier's pinned name (data ``<slot>_model_name``), when no pattern above matches it: the
  tier's model.

In the OAuth state any other ``claude-*`` name goes to Anthropic under its own name. A name no
route matches gets a 400 naming the tiers (``files/openclaude_models.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

ANY_CLAUDE = "claude"  # the tier of the catch-all route (files/openclaude_models.py's ANY_CLAUDE)
ANY_CLAUDE_PATTERN = "claude-*"


@dataclass(frozen=True)
class Route:
    """One deployment: the name (exact or LiteLLM wildcard) and the LiteLLM model it goes to."""

    model_name: str
    model: str
    tier: str

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0]


def family_patterns(slot: str) -> tuple[str, str]:
    """Claude Code's names of the family, then Bedrock-style ids of it."""
    return f"claude-{slot}-*", f"*anthropic.claude-*{slot}*"


def matches(pattern: str, name: str) -> bool:
    """LiteLLM's wildcard rule: ``*`` is any text, matched from the start of the name."""
    return re.match(re.escape(pattern).replace(r"\*", "(.*)"), name) is not None


def is_claude(model: str) -> bool:
    """A LiteLLM model that is Claude: on Anthropic's API or on Bedrock."""
    return model.startswith("anthropic/") or "anthropic.claude" in model


def own_name_model(pattern: str) -> str:
    """``anthropic/claude-opus-*``: each name to the Anthropic API as itself."""
    return f"anthropic/{pattern}"


def routes(tiers, mode: str) -> list[Route]:
    """The routes of ``tiers`` (``operations.model.data.Tier``) in ``mode`` ("oauth" or "bedrock")."""
    found = []
    for tier in tiers:
        names, bedrock_ids = family_patterns(tier.slot)
        if tier.provider == "anthropic":
            found.append(Route(names, own_name_model(names), tier.slot))
        elif mode != "oauth" or is_claude(tier.model):
            found.append(Route(names, tier.model, tier.slot))
        found.append(Route(bedrock_ids, tier.model, tier.slot))
    for tier in tiers:
        if tier.name and not any(matches(route.model_name, tier.name) for route in found):
            found.append(Route(tier.name, tier.model, tier.slot))
    if mode == "oauth":
        found.append(Route(ANY_CLAUDE_PATTERN, own_name_model(ANY_CLAUDE_PATTERN), ANY_CLAUDE))
    return found


def route_of(found: list[Route], name: str) -> Route | None:
    """The route LiteLLM picks for ``name``: an exact name, else the most specific pattern (the
    longest, as LiteLLM's pattern router orders them)."""
    for route in found:
        if "*" not in route.model_name and route.model_name == name:
            return route
    patterns = sorted((route for route in found if "*" in route.model_name),
                      key=lambda route: len(re.escape(route.model_name).replace(r"\*", "(.*)")),
                      reverse=True)
    return next((route for route in patterns if matches(route.model_name, name)), None)


def upstream_of(route: Route, name: str) -> str:
    """The LiteLLM model ``name`` reaches through ``route`` (a wildcard filled with the name)."""
    if "*" not in route.model:
        return route.model
    match = re.match(re.escape(route.model_name).replace(r"\*", "(.*)"), name)
    model = route.model
    for segment in match.groups():
        model = model.replace("*", segment, 1)
    return model


def pinned_tiers(tiers, mode: str) -> list:
    """The tiers whose model the data decides, each with the model its name reaches: a pinned
    name's route, or the tier's own model unless it follows Claude Code (an unpinned tier sending
    its names to Anthropic as themselves, whatever version Claude Code asks for)."""
    found = routes(tiers, mode)
    decided = []
    for tier in tiers:
        if tier.name:
            name = tier.name.split("[", 1)[0]
            decided.append(replace(tier, model=upstream_of(route_of(found, name), name)))
        elif tier.provider != "anthropic":
            decided.append(tier)
    return decided
