# shellcheck shell=sh
# Functions for target-side scripts, portable to macOS (no timeout(1) there).

# find_tool NAME DIR...: NAME on PATH, else the first executable DIR/NAME.
find_tool() {
  name=$1; shift
  command -v "$name" 2>/dev/null && return 0
  for dir in "$@"; do [ -x "$dir/$name" ] && { printf '%s\n' "$dir/$name"; return 0; }; done
  return 0
}

# limited SECONDS COMMAND...: runs COMMAND, stopped with SIGTERM after SECONDS.
limited() {
  seconds=$1; shift
  "$@" & limited_pid=$!
  (trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
   sleep "$seconds" & sleeper=$!; wait "$sleeper" && kill -TERM "$limited_pid" 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  watchdog=$!
  wait "$limited_pid"; limited_status=$?
  kill -TERM "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null
  return "$limited_status"
}
