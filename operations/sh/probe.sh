# shellcheck shell=sh
# verify.py's probe (operations/facts/probes.py VerifyProbe), after portable.sh. Arguments: the
# launcher, its alias, LiteLLM's Python, the AWS helper, the user's settings, the config, the
# generated AWS export config, then the directories claude may be in beside PATH.
# The AWS identity is the one the proxy will sign with, resolved by the launcher's own helper
# (botocore, LiteLLM's Python) from the user's settings over this shell's environment, without
# refreshing or writing anything.
launcher=$1; alias=$2; python=$3; aws_script=$4; settings=$5; config=$6; export_config=$7
shift 7
printf 'claude\t%s\n' "$(find_tool claude "$@")"
if [ -f "$launcher" ]; then bash -n "$launcher" 2>/dev/null; printf 'launcher_syntax\t%s\n' "$?"; fi
for name in "$launcher" "$alias"; do
  "$name" --help 2>/dev/null | grep -q '^Usage: openClaude'; printf 'runs\t%s\t%s\n' "$name" "$?"
done
if [ -x "$python" ] && [ -f "$aws_script" ]; then
  printf 'aws_identity\t%s\n' \
    "$("$python" "$aws_script" check "$settings" "$config" "$export_config" 2>/dev/null | tr -d '\n')"
fi
true
