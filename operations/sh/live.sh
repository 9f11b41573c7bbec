# shellcheck shell=sh
# verify.py's live prompts (operations/facts/probes.py LiveProbe), after portable.sh.
# Arguments: the launcher, the proxy's usage record, then the tier names to prompt.
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
