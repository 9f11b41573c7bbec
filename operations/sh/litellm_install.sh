# shellcheck shell=sh
# Installs LiteLLM as a uv tool. Whatever fails, the installed LiteLLM (or its absence) is left
# as it was: the lock's distributions are checked against their sha256 first, in a throwaway
# environment, and a replacing install is first made in a staging tool directory.
# Arguments: uv; the lock as uploaded for this run, or "" (unlocked); the lock's name in the
# repository; 1 when a LiteLLM is installed, else 0; the requirement as the data names it;
# then uv tool install's arguments.
uv=$1; upload=$2; lock_name=$3; installed=$4; shown=$5; shift 5
# Staging trees and uploads of killed runs (an EXIT trap does not run on SIGKILL), after an hour.
find "${TMPDIR:-/tmp}" -maxdepth 1 -type d -name "openclaude-litellm.*" -user "$(id -u)" \
  -mmin +60 -exec rm -rf {} + 2>/dev/null
if [ -n "$upload" ]; then
  find "${upload%/*}" -maxdepth 1 -type f -name ".openclaude-litellm-*.lock.*" -mmin +60 \
    -exec rm -f {} + 2>/dev/null
fi
staging=""
trap 'rm -rf ${staging:+"$staging"} ${upload:+"$upload"}' EXIT
staging=$(mktemp -d "${TMPDIR:-/tmp}/openclaude-litellm.XXXXXX") || exit 1
failed() {
  echo "openClaude: $1; the installed LiteLLM (if any) was left in place. uv said:" >&2
  tail -n 15 "$staging/log" >&2
  exit 1
}
if [ -n "$upload" ]; then
  lock=$upload
  if ! { "$uv" venv --quiet "$staging/check" &&
         "$uv" pip install --no-progress --require-hashes --python "$staging/check/bin/python" \
           -r "$lock"; } > "$staging/log" 2>&1; then
    # shellcheck disable=SC2016 # uv quotes the distribution in backticks
    mismatch=$(sed -n 's/.*Hash mismatch for `\([^`]*\)`.*/\1/p' "$staging/log" | head -n 1)
    [ -z "$mismatch" ] || failed "$mismatch does not match its sha256 in $lock_name (a changed or tampered distribution), so nothing was installed"
    failed "the distributions $lock_name pins could not all be fetched and checked against their sha256, so nothing was installed"
  fi
  rm -rf "${staging:?}/check"
  # Only what was just checked: uv's cache, offline, within the lock's pins.
  set -- --offline --constraints "$lock" "$@"
fi
if [ "$installed" = 1 ] && ! UV_TOOL_DIR="$staging/tools" UV_TOOL_BIN_DIR="$staging/bin" \
    "$uv" tool install --no-progress --compile-bytecode "$@" > "$staging/log" 2>&1; then
  failed "could not install LiteLLM from $shown"
fi
rm -rf "${staging:?}/tools" "${staging:?}/bin"
if ! "$uv" tool install --no-progress --force --compile-bytecode "$@" > "$staging/log" 2>&1; then
  failed "could not install LiteLLM from $shown"
fi
