"""A damaged usage record never breaks ``openclaude --usage``: a line cut short by a crash
mid-write and glued to the next record is skipped and counted as skipped; the whole records
around it are summed; exit 0 (files/openclaude_usage.py, and through the rendered launcher)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

from tests.bash32 import launcher_bash  # noqa: F401  (fixture)
from tests.test_launcher import launcher  # noqa: F401  (fixture)
from tests.test_usage import run, usage

OPUS = {"group": "claude-opus-4-6", "upstream": "anthropic/claude-opus-4-6", "status": 200}


def record(tokens: int, when: float | None = None, **fields) -> str:
    """A whole record with ``tokens`` input tokens (each record its own count, to see which
    ones were summed)."""
    return usage.usage_line({**OPUS, "time": when or time.time(), "input": tokens, "output": 1,
                             "latency_ms": 120, **fields})


# Where the crash cut the record that the next one is glued to.
CUTS = {
    "in-its-time": lambda line: line[:5],
    "in-its-time-fraction": lambda line: line[:line.index(".") + 2],
    "after-its-time": lambda line: line[:line.index("\t") + 1],
    "mid-record": lambda line: line[:len(line) // 2],
    "in-its-cost": lambda line: line[:-3],
    "only-its-newline": lambda line: line[:-1],
}


@pytest.mark.parametrize("cut", CUTS)
def test_a_record_cut_short_and_glued_to_the_next_is_skipped_and_counted(tmp_path, cut):
    path = tmp_path / "usage.tsv"
    cut_record = record(1000, cost=0.125, fallback="rate_limit",
                        upstream="bedrock/converse/us.anthropic.claude-opus-4-6-v1")
    path.write_text(record(1) + record(2) + CUTS[cut](cut_record) + record(40) + record(8))

    done = run(path, "--json")

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    opus = summary["tiers"]["opus"]
    assert (opus["requests"], opus["input_tokens"]) == (3, 1 + 2 + 8)
    assert opus["fallbacks"] == {} and opus["bedrock_cost_usd"] == 0
    assert summary["skipped_lines"] == 1


def test_a_last_line_cut_short_and_bytes_that_are_no_text_are_skipped(tmp_path):
    path = tmp_path / "usage.tsv"
    path.write_bytes(record(1).encode() + b"\xff\xfe\x00garbage\n" + record(2).encode()
                     + record(4).encode()[:30])

    done = run(path)

    assert done.returncode == 0, done.stderr
    assert "opus (claude-opus-4-6): 2 requests, 2 ok; 3 input" in done.stdout, done.stdout
    assert "2 damaged lines skipped" in done.stdout


def test_damaged_lines_before_the_period_are_not_counted_in_it(tmp_path):
    path = tmp_path / "usage.tsv"
    yesterday = (datetime.now() - timedelta(days=1)).timestamp()
    path.write_text(record(100, yesterday) + CUTS["mid-record"](record(200, yesterday))
                    + record(300, yesterday) + record(350, yesterday)
                    + CUTS["mid-record"](record(400)) + record(1) + record(2))

    summary = json.loads(run(path, "--json").stdout)

    assert summary["tiers"]["opus"]["input_tokens"] == 2  # record(1) is glued to the cut one
    assert summary["skipped_lines"] == 1  # the one between yesterday's records and today's


def test_a_whole_record_says_nothing_about_damage(tmp_path):
    path = tmp_path / "usage.tsv"
    path.write_text(record(1) + record(2))
    done = run(path)
    assert done.returncode == 0 and "skipped" not in done.stdout
    assert json.loads(run(path, "--json").stdout)["skipped_lines"] == 0


def test_openclaude_usage_sums_around_a_damaged_line(launcher):  # noqa: F811
    path = launcher.config.parent / "usage.tsv"
    path.write_text(record(1) + CUTS["mid-record"](record(1000)) + record(40) + record(2))

    done = launcher.run("--usage")

    assert done.returncode == 0, done.stderr
    assert "opus (claude-opus-4-6): 2 requests, 2 ok; 3 input" in done.stdout, done.stdout
    assert "1 damaged line skipped" in done.stdout
    assert launcher.recorded("litellm") == []
