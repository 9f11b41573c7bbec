"""verify.py's facts: what its table needs beyond the deploy's fact, and the live prompts."""

from __future__ import annotations

import json
import shlex

from pyinfra.api import FactBase

from files.openclaude_usage import FIELDS as USAGE_FIELDS
from operations.facts.host import PORTABLE_SH
from operations.model.layout import CLAUDE_DIRS, shell_words

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
