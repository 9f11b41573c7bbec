# shellcheck shell=sh
# Claude Code's managed settings on this system, for verify.py, after private_files.sh: each
# readable file by print_files (verify.py reads them unprinted: their contents are never shown).
# $1: the Linux directory, $2: the macOS one; OPENCLAUDE_MANAGED_SETTINGS_ROOT (tests) goes in
# front of it.
case $(uname -s 2>/dev/null) in
  Darwin) dir=$2 ;;
  *) dir=$1 ;;
esac
dir=${OPENCLAUDE_MANAGED_SETTINGS_ROOT:-}$dir
print_files "$dir/managed-settings.json" "$dir"/managed-settings.d/*.json
