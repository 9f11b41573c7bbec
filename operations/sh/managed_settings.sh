# shellcheck shell=sh
# Claude Code's managed settings on this system, for verify.py: one line per readable file,
# "file<TAB>path" (verify.py reads them unprinted: their contents are never shown). $1: the Linux
# directory, $2: the macOS one; OPENCLAUDE_MANAGED_SETTINGS_ROOT (tests) goes in front of it.
case $(uname -s 2>/dev/null) in
  Darwin) dir=$2 ;;
  *) dir=$1 ;;
esac
dir=${OPENCLAUDE_MANAGED_SETTINGS_ROOT:-}$dir
for file in "$dir/managed-settings.json" "$dir"/managed-settings.d/*.json; do
  [ -f "$file" ] && [ -r "$file" ] || continue
  printf 'file\t%s\n' "$file"
done
