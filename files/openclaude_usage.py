"""openClaude's usage record: where every request went, per tier.

The proxy's callback (``openclaude_callbacks.usage_record``) appends one line per upstream
request to ``usage.tsv`` beside the config (0600; at ``MAX_BYTES`` it becomes ``usage.tsv.1`` and
a new file starts, so two files at most). ``openclaude --usage`` runs this file with the LiteLLM
tool's Python to sum it up; standard library only, so it starts in milliseconds.

    python openclaude_usage.py USAGE_FILE TIERS_JSON [--plan PLAN_FILE] [--since YYYY-MM-DD] [--json]

A line holds ``FIELDS``, tab-separated: no prompt text, no header, no secret.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from collections import Counter
from datetime import date, datetime

FIELDS = ("time", "group", "upstream", "status", "error", "input", "output", "latency_ms",
          "fallback", "cost")
# The launcher's SETTINGS_TIERS holds more than the tier names (the model, a context window).
TIER_SLOTS = ("fable", "opus", "sonnet", "haiku")
# A Claude model name of a slot's family, as the proxy's routes match them (operations/model/routes.py).
FAMILY_NAME = re.compile(r"^(?:claude-|.*anthropic\.claude-.*?)(fable|opus|sonnet|haiku)")
UNIFIED_PREFIX = "anthropic-ratelimit-unified-"
# The plan's windows as Anthropic names them (representative-claim) and in its header names.
PLAN_WINDOWS = (("five_hour", "5h", "5-hour"), ("seven_day", "7d", "7-day"))
# What a refusal kind means for the user, shown by --usage when one was recorded.
REFUSAL_NOTES = {
    "oauth_refused": "Anthropic refused the sign-in's OAuth requests (claude update; /login)",
    "third_party_refused": "Anthropic took the requests for a third-party app's (extra usage, not the "
                           "plan): check nothing else rewrites Claude Code's requests, update Claude "
                           "Code; openclaude --logs has Anthropic's answers",
    "claude_code_only": "Anthropic took the requests for another client's: check nothing else rewrites "
                        "Claude Code's requests, update Claude Code; openclaude --logs",
    "oauth_not_allowed": "the organisation does not allow Claude Code on a subscription: ask its admin, "
                         "or rollback.py to put every tier on Bedrock",
}
# About 70 000 requests per file: a month of a heavy user's requests fits in the two files.
MAX_BYTES = 8 * 1024 * 1024
# The proxy's environment, as the launcher starts it, for the modules beside the config: where
# the usage record and the plan's standing are, and the AWS problem when it started without a
# usable AWS identity in a state whose subscription tiers need none (files/openclaude_aws.py
# resolve-or-none): the problem and its fix. Written only here: the deploy renders these names
# into the launcher (operations/model/layout.py, render.py).
USAGE_RECORD_ENV = "OPENCLAUDE_USAGE_RECORD"
PLAN_STANDING_ENV = "OPENCLAUDE_PLAN_STANDING"
AWS_PROBLEM_ENV = "OPENCLAUDE_AWS_PROBLEM"
# The header naming a fallback's reason on the request the pass-through hands over to a Bedrock
# fallback group (read by the callbacks' usage record; the fallback guard keeps every client
# header off Bedrock).
FALLBACK_HEADER = "x-openclaude-fallback"


# Anthropic's refusals of subscription traffic, by a phrase of their message (public reports,
# 2026); each is a kind ``--usage`` counts and names.
REFUSALS = (
    (401, "OAuth authentication is currently not supported", "oauth_refused"),
    (400, "Third-party apps now draw from your extra usage", "third_party_refused"),
    (None, "only authorized for use with Claude Code", "claude_code_only"),
    (403, "OAuth authentication is currently not allowed for this organization", "oauth_not_allowed"),
)
# Why a subscription tier may fall back to Bedrock (docs/models.md). Anything else, Anthropic's
# newer refusals included, reaches Claude Code as Anthropic gave it.
FALLBACK_REASONS = ("rate_limit", "overloaded", "server_error", "oauth_refused")


def error_kind(status: int, message: str = "") -> str:
    """A short name for an upstream's error (what ``--usage`` counts), never its message."""
    for refusal_status, phrase, kind in REFUSALS:
        if refusal_status in (None, status) and phrase in message:
            return kind
    # LiteLLM reports Anthropic's 529 as a 500 whose message names the overload.
    if status >= 500 and "overloaded" in message.lower():
        return "overloaded"
    kinds = {400: "bad_request", 401: "auth", 403: "forbidden", 404: "not_found",
             408: "timeout", 413: "too_large", 429: "rate_limit", 529: "overloaded"}
    if status in kinds:
        return kinds[status]
    return "server_error" if status >= 500 else f"http_{status}"


def usage_line(record: dict) -> str:
    """One record as a line of ``FIELDS``; tabs and newlines in values become spaces."""
    values = []
    for field in FIELDS:
        value = record.get(field)
        if value is None:
            text = ""
        elif isinstance(value, float):
            text = f"{value:.6f}".rstrip("0").rstrip(".")
        else:
            text = str(value)
        values.append(text.replace("\t", " ").replace("\n", " "))
    return "\t".join(values) + "\n"


def append(path: str, line: str, max_bytes: int = MAX_BYTES) -> None:
    """Append ``line`` to the private file at ``path``, rotating it to ``path.1`` at ``max_bytes``."""
    try:
        if os.path.getsize(path) >= max_bytes:
            os.replace(path, f"{path}.1")
    except FileNotFoundError:
        pass
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line.encode("utf-8"))
    finally:
        os.close(descriptor)


def write_private(path: str, text: str) -> None:
    """Replace the private (0600) file at ``path`` with ``text`` in one step."""
    temporary = f"{path}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, text.encode("utf-8"))
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def whole_record(values: list, latest: float) -> bool:
    """Whether a line's values are one whole record. A crash mid-write cuts a line short and the
    next record goes on from there on the same line: that line is no record."""
    if len(values) != len(FIELDS) or not values[1]:
        return False
    try:
        stamp, cost = float(values[0]), float(values[9] or 0)
        for number in (values[3], values[5] or 0, values[6] or 0, values[7] or 0):
            int(number)
    except ValueError:
        return False
    return 0 < stamp <= latest and math.isfinite(cost)


def read_records(path: str, since: float, skipped: Counter | None = None):
    """The whole records from ``since`` (epoch seconds) on, oldest first, from both files; each
    damaged line among them counts in ``skipped["lines"]``. Lines are appended in time order, so
    once one is recent enough the rest are read without comparing their time."""
    skipped = Counter() if skipped is None else skipped
    latest = time.time() + 86400  # a record from a clock a day ahead still counts
    recent, damaged_before = False, 0
    for name in (f"{path}.1", path):
        try:
            with open(name, encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    values = line.rstrip("\n").split("\t")
                    if not whole_record(values, latest):
                        if recent:
                            skipped["lines"] += 1
                        else:  # counted if the records after it are recent: its time is lost
                            damaged_before += 1
                        continue
                    if not recent:
                        recent = float(values[0]) >= since
                        if not recent:
                            damaged_before = 0
                            continue
                        skipped["lines"] += damaged_before
                    yield values
        except FileNotFoundError:
            continue


def family_slot(group: str) -> str | None:
    """The slot of a Claude name the proxy answered for its family (``claude-opus-5-5``,
    ``us.anthropic.claude-opus-4-6-v1:0``: opus); None for any other name."""
    match = FAMILY_NAME.search(group or "")
    return match.group(1) if match else None


def summarise(records, tiers: dict) -> dict:
    """Per tier: requests, tokens, errors by kind, fallbacks by reason, upstreams, Bedrock cost
    (LiteLLM's estimate from its model map, recorded with each Bedrock request)."""
    # Sum per distinct (group, upstream, error, fallback) first: a month is ~100 000 lines.
    totals: dict = {}
    for _, group, upstream, _, error, tokens_in, tokens_out, _, fallback, cost in records:
        numbers = (int(tokens_in or 0), int(tokens_out or 0), float(cost or 0))
        key = (group, upstream, error, fallback)
        total = totals.get(key)
        if total is None:
            total = totals[key] = [0, 0, 0, 0.0]
        total[0] += 1
        total[1] += numbers[0]
        total[2] += numbers[1]
        total[3] += numbers[2]
    slots = {tiers[slot].split("[", 1)[0]: slot for slot in TIER_SLOTS if slot in tiers}
    summary: dict = {}
    for (group, upstream, error, fallback), (count, tokens_in, tokens_out, cost) in totals.items():
        slot = slots.get(group) or family_slot(group) or group
        if slot not in summary:
            summary[slot] = {"model_name": group, "requests": 0, "ok": 0, "input_tokens": 0,
                             "output_tokens": 0, "errors": {}, "fallbacks": {}, "upstreams": {},
                             "bedrock_cost_usd": 0.0}
        tier = summary[slot]
        tier["requests"] += count
        tier["upstreams"][upstream] = tier["upstreams"].get(upstream, 0) + count
        if error:
            tier["errors"][error] = tier["errors"].get(error, 0) + count
        else:
            tier["ok"] += count
        if fallback:
            tier["fallbacks"][fallback] = tier["fallbacks"].get(fallback, 0) + count
        tier["input_tokens"] += tokens_in
        tier["output_tokens"] += tokens_out
        if upstream.startswith("bedrock/"):
            tier["bedrock_cost_usd"] += cost
    for tier in summary.values():
        tier["bedrock_cost_usd"] = round(tier["bedrock_cost_usd"], 6)
    return summary


def plan_standing(path: str) -> dict | None:
    """The plan's windows from the last unified headers the pass-through kept, or None."""
    try:
        with open(path, encoding="utf-8") as recorded:
            kept = json.load(recorded)
        headers = {name.lower(): value for name, value in kept["headers"].items()}
        seen = float(kept["time"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None

    def number(name: str):
        try:
            return float(headers[UNIFIED_PREFIX + name])
        except (KeyError, ValueError):
            return None

    standing = {"as_of": seen, "status": headers.get(UNIFIED_PREFIX + "status"),
                "representative_claim": headers.get(UNIFIED_PREFIX + "representative-claim")}
    for window, short, _ in PLAN_WINDOWS:
        standing[window] = {"utilization": number(f"{short}-utilization"),
                            "status": headers.get(f"{UNIFIED_PREFIX}{short}-status"),
                            "resets_at": number(f"{short}-reset")}
    return standing


def _moment(epoch) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M") if epoch is not None else "unknown"


def plan_lines(standing: dict | None) -> list:
    if standing is None:
        return ["  plan: no answer from Anthropic recorded its standing yet"]
    lines = [f"  plan (Anthropic's last answer, {_moment(standing['as_of'])}): "
             f"{standing['status'] or 'unknown'}, decided by {standing['representative_claim'] or 'unknown'}"]
    for window, _, label in PLAN_WINDOWS:
        values = standing[window]
        used = values["utilization"]
        lines.append(f"      {label} window: {'unknown' if used is None else f'{used:.0%}'} used, "
                     f"{values['status'] or 'unknown'}, resets {_moment(values['resets_at'])}")
    return lines


def _counts(counts: dict) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items())) or "none"


def table(summary: dict, since: date, path: str, skipped: int = 0, standing: dict | None = None) -> str:
    lines = [f"openClaude usage since {since.isoformat()} (from {path})", *plan_lines(standing)]
    if not summary:
        lines.append("  no requests recorded")
    if skipped:
        lines.append(f"  {skipped} damaged line{'s' if skipped > 1 else ''} skipped (a write cut short, "
                     "or an edit); the whole records are summed")
    for slot, tier in summary.items():
        bedrock_requests = sum(n for up, n in tier["upstreams"].items() if up.startswith("bedrock/"))
        money = (f"; Bedrock cost about ${tier['bedrock_cost_usd']:.4f}" if bedrock_requests
                 else " (subscription: tokens, not money)")
        lines += [
            f"  {slot} ({tier['model_name']}): {tier['requests']} requests, {tier['ok']} ok; "
            f"{tier['input_tokens']} input and {tier['output_tokens']} output tokens{money}",
            f"      errors: {_counts(tier['errors'])}; fallbacks to Bedrock: {_counts(tier['fallbacks'])}",
            f"      upstreams: {_counts(tier['upstreams'])}",
        ]
        lines += [f"      {kind}: {note}" for kind, note in REFUSAL_NOTES.items() if kind in tier["errors"]]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    usage = "usage: openclaude --usage [--since YYYY-MM-DD] [--json]"
    if len(argv) < 3:
        print(usage, file=sys.stderr)
        return 2
    path, tiers, options = argv[1], json.loads(argv[2]), argv[3:]
    since, as_json, plan = date.today(), False, None
    while options:
        option = options.pop(0)
        if option == "--json":
            as_json = True
        elif option == "--plan" and options:
            plan = options.pop(0)
        elif option == "--since" and options:
            value = options.pop(0)
            try:
                since = date.fromisoformat(value)
            except ValueError:
                print(f"openClaude: --since {value}: expected a date like 2026-12-01", file=sys.stderr)
                return 2
        else:
            print(f"openClaude: --usage: unknown option {option!r}. {usage}", file=sys.stderr)
            return 2
    start = time.mktime(datetime(since.year, since.month, since.day).timetuple())
    skipped = Counter()
    summary = summarise(read_records(path, start, skipped), tiers)
    standing = plan_standing(plan) if plan else None
    if as_json:
        print(json.dumps({"since": since.isoformat(), "file": path, "plan": standing, "tiers": summary,
                          "skipped_lines": skipped["lines"]}, indent=2))
    else:
        print(table(summary, since, path, skipped["lines"], standing))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
