"""The usage record's format and summary (files/openclaude_usage.py), on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from files import openclaude_usage as usage

SCRIPT = Path(usage.__file__)
TIERS = {"model": "claude-opus-4-6[1m]", "opus": "claude-opus-4-6[1m]",
         "sonnet": "claude-sonnet-4-6[1m]", "haiku": "qwen-3-coder", "max_context_tokens": 256000}


def line(**fields) -> str:
    return usage.usage_line({"time": time.time(), "status": 200, **fields})


def run(path: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(path), json.dumps(TIERS), *options],
                          capture_output=True, text=True, timeout=30)


def test_a_line_holds_the_fields_in_order_with_tabs_and_newlines_flattened():
    text = usage.usage_line({"time": 1.5, "group": "g\tx", "upstream": "u\nv", "status": 200,
                             "input": 3, "cost": 0.000125})
    assert text == "1.5\tg x\tu v\t200\t\t3\t\t\t\t0.000125\n"


def test_errors_are_named_by_kind_never_by_message():
    assert usage.error_kind(429) == "rate_limit"
    assert usage.error_kind(529) == "overloaded"
    assert usage.error_kind(500, '{"type": "overloaded_error", "message": "Overloaded"}') == "overloaded"
    assert usage.error_kind(503) == "server_error"
    assert usage.error_kind(401, "OAuth authentication is currently not supported.") == "oauth_refused"
    assert usage.error_kind(401, "OAuth token has expired.") == "auth"
    assert usage.error_kind(418) == "http_418"


def test_anthropics_newer_refusals_are_named_and_none_falls_back():
    third_party = "Third-party apps now draw from your extra usage, not your plan limits. Add more at ..."
    claude_code_only = ("This credential is only authorized for use with Claude Code and cannot be used "
                        "for other API requests.")
    not_allowed = "OAuth authentication is currently not allowed for this organization."
    assert usage.error_kind(400, third_party) == "third_party_refused"
    assert usage.error_kind(400, claude_code_only) == "claude_code_only"
    assert usage.error_kind(403, not_allowed) == "oauth_not_allowed"
    assert usage.error_kind(403, "other") == "forbidden"
    assert usage.FALLBACK_REASONS == ("rate_limit", "overloaded", "server_error", "oauth_refused")


def test_the_file_is_private_and_rotates_at_its_size_bound(tmp_path):
    path = str(tmp_path / "usage.tsv")
    for index in range(30):
        usage.append(path, line(group=f"g{index}"), max_bytes=200)

    assert (tmp_path / "usage.tsv").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "usage.tsv.1").stat().st_size <= 200 + len(line(group="g29"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usage.tsv", "usage.tsv.1"]
    groups = [values[1] for values in usage.read_records(path, 0)]
    assert groups == [f"g{index}" for index in range(30 - len(groups), 30)]


def test_summary_per_tier_counts_requests_tokens_errors_fallbacks_and_bedrock_cost(tmp_path):
    path = tmp_path / "usage.tsv"
    old = (datetime.now() - timedelta(days=3)).timestamp()
    path.write_text("".join([
        usage.usage_line({"time": old, "group": "claude-opus-4-6", "upstream": "anthropic/claude-opus-4-6",
                          "status": 200, "input": 1000, "output": 10}),
        line(group="claude-opus-4-6", upstream="anthropic/claude-opus-4-6", input=10, output=2),
        line(group="claude-opus-4-6", upstream="anthropic/claude-opus-4-6", status=429, error="rate_limit"),
        line(group="claude-opus-4-6", upstream="bedrock/converse/us.anthropic.claude-opus-4-6-v1",
             input=10, output=3, fallback="rate_limit", cost=0.25),
        line(group="qwen-3-coder", upstream="bedrock/converse/qwen.qwen3-next-80b-a3b", input=7, output=1,
             cost=0.001),
        "not a record\n",
    ]))

    today = json.loads(run(path, "--json").stdout)
    week = json.loads(run(path, "--json", "--since", (date.today() - timedelta(days=7)).isoformat()).stdout)

    opus = today["tiers"]["opus"]
    assert (opus["requests"], opus["ok"], opus["input_tokens"], opus["output_tokens"]) == (3, 2, 20, 5)
    assert opus["errors"] == {"rate_limit": 1} and opus["fallbacks"] == {"rate_limit": 1}
    assert opus["bedrock_cost_usd"] == 0.25
    assert today["tiers"]["haiku"]["bedrock_cost_usd"] == 0.001
    assert "sonnet" not in today["tiers"]
    assert week["tiers"]["opus"]["requests"] == 4
    text = run(path).stdout
    assert "opus (claude-opus-4-6): 3 requests, 2 ok; 20 input and 5 output tokens; Bedrock cost about $0.2500" in text
    assert "errors: rate_limit 1; fallbacks to Bedrock: rate_limit 1" in text


def test_no_record_yet_says_so_and_a_bad_date_is_named(tmp_path):
    empty = run(tmp_path / "usage.tsv")
    assert empty.returncode == 0 and "no requests recorded" in empty.stdout
    bad = run(tmp_path / "usage.tsv", "--since", "yesterday")
    assert bad.returncode == 2 and "--since yesterday: expected a date like" in bad.stderr


def test_the_plans_standing_comes_from_anthropics_last_unified_headers(tmp_path):
    prefix = usage.UNIFIED_PREFIX
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"time": 1796415800.0, "headers": {
        f"{prefix}status": "allowed_warning", f"{prefix}representative-claim": "five_hour",
        f"{prefix}5h-utilization": "0.92", f"{prefix}5h-status": "allowed_warning",
        f"{prefix}5h-reset": "1796421060", f"{prefix}7d-utilization": "0.17", f"{prefix}7d-status": "allowed",
        f"{prefix}7d-reset": "1796766660"}}))
    plan = json.loads(run(tmp_path / "usage.tsv", "--plan", str(plan), "--json").stdout)["plan"]
    assert plan["status"] == "allowed_warning" and plan["representative_claim"] == "five_hour"
    assert plan["five_hour"] == {"utilization": 0.92, "status": "allowed_warning", "resets_at": 1796421060}
    assert plan["seven_day"]["utilization"] == 0.17
    text = run(tmp_path / "usage.tsv", "--plan", str(tmp_path / "plan.json")).stdout
    assert "5-hour window: 92% used, allowed_warning, resets" in text
    assert "7-day window: 17% used, allowed" in text


def test_without_a_recorded_standing_the_plan_line_says_so_and_refusals_are_explained(tmp_path):
    path = tmp_path / "usage.tsv"
    path.write_text(line(group="claude-opus-4-6", upstream="anthropic/claude-opus-4-6", status=400,
                         error="third_party_refused"))
    text = run(path, "--plan", str(tmp_path / "plan.json")).stdout
    assert "plan: no answer from Anthropic recorded its standing yet" in text
    assert "third_party_refused: Anthropic took the requests for a third-party app's" in text
