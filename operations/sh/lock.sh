# shellcheck shell=sh
# One openClaude run per home (operations/ops/runlock.py): a lock directory taken with mkdir
# (atomic everywhere; macOS has no flock), after digest.sh. POSIX sh and BSD userland: /proc
# where it exists (Linux), ps and sysctl otherwise.

boot_id() {
  if [ -r /proc/sys/kernel/random/boot_id ]; then read -r b < /proc/sys/kernel/random/boot_id; echo "$b"
  else sysctl -n kern.boottime 2>/dev/null | tr -d ' '; fi
}
stat_of() { [ -r "/proc/$1/stat" ] && read -r s < "/proc/$1/stat" && echo "$s"; }
# shellcheck disable=SC2086 # the fields of /proc/PID/stat, split on purpose
parent_of() {
  if s=$(stat_of "$1"); then s=${s##*) }; set -- $s; echo "$2"
  else ps -o ppid= -p "$1" 2>/dev/null | tr -d ' '; fi
}
name_of() {
  if s=$(stat_of "$1"); then s=${s#*(}; echo "${s%)*}"
  else n=$(ps -o comm= -p "$1" 2>/dev/null); echo "${n##*/}"; fi
}
# A token that changes when the pid is reused; empty when the process is gone (or a zombie).
# shellcheck disable=SC2086 # the fields of /proc/PID/stat, split on purpose
started_of() {
  if s=$(stat_of "$1"); then s=${s##*) }; set -- $s; [ "$1" = Z ] || echo "${20}"
  elif [ ! -d /proc/self ]; then ps -o lstart= -p "$1" 2>/dev/null | tr -d ' '; fi
}

# Sets anchor: the process that lives as long as this run (the pyinfra process for @local, the
# SSH session's sshd over SSH): the first ancestor of this shell that is not a shell.
find_anchor() {
  anchor=$$
  while parent=$(parent_of "$anchor") && [ -n "$parent" ] && [ "$parent" -gt 1 ]; do
    case $(name_of "$anchor") in sh|bash|dash|zsh|ksh|mksh|ash|-*) anchor=$parent ;; *) break ;; esac
  done
}

# take_lock LOCK RUN WAIT ABOUT: takes LOCK for this run (RUN: its id; ABOUT: who it is),
# waiting up to WAIT seconds for another run's; takes over a stale one (its process gone, or
# taken before the last boot); exits 1 when the wait runs out.
take_lock() {
  lock=$1; run=$2; wait=$3; about=$4
  find_anchor
  boot=$(boot_id); said=""; deadline=$(( $(date +%s) + wait ))
  while ! mkdir "$lock" 2>/dev/null; do
    opid=""; ostarted=""; oboot=""; osince="an unknown time"; oabout="another openClaude run"
    if [ -r "$lock/owner" ]; then
      while IFS='=' read -r key value; do
        case $key in pid) opid=$value ;; started) ostarted=$value ;; boot) oboot=$value ;;
          since) osince=$value ;; about) oabout=$value ;; esac
      done < "$lock/owner"
    fi
    stale=""
    if [ -z "$opid" ]; then
      # mkdir done, owner not written yet: a run starting now, unless it was killed in between.
      [ -n "$(find "$lock" -prune -mmin +1 2>/dev/null)" ] && stale="its owner file is missing"
    elif [ "$oboot" != "$boot" ]; then stale="it was taken before this machine last booted"
    elif [ -z "$ostarted" ] || [ "$(started_of "$opid")" != "$ostarted" ]; then
      stale="its process $opid is gone"
    fi
    if [ -n "$stale" ]; then
      moved="$lock.stale.$$"
      if mv "$lock" "$moved" 2>/dev/null; then
        rm -rf "$moved"
        echo "openClaude: took over $lock from $oabout (pid ${opid:-unknown}, started $osince): $stale"
      fi
      continue
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "openClaude: another openClaude run is changing this home: $oabout (pid ${opid:-unknown}, started $osince; lock $lock). Waited ${wait}s; nothing was changed. Re-run once it has finished (remove $lock only if no such run exists)." >&2
      exit 1
    fi
    [ -n "$said" ] || echo "openClaude: waiting up to ${wait}s for $oabout (pid ${opid:-unknown}, started $osince) to finish"
    said=1
    sleep 1
  done
  printf 'run=%s\npid=%s\nstarted=%s\nboot=%s\nsince=%s\nabout=%s\n' "$run" "$anchor" \
    "$(started_of "$anchor")" "$boot" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$about" > "$lock/owner"
}

# release_lock LOCK RUN: removes LOCK if run RUN holds it.
release_lock() { grep -qx "run=$2" "$1/owner" 2>/dev/null && rm -rf "$1"; true; }

# lock_unchanged LOCK RUN WAIT ABOUT SCRIPT DIGEST: take_lock, then run the fact's SCRIPT again
# and go on only if what it prints is what this run read (DIGEST), so two runs never interleave
# their changes.
lock_unchanged() {
  take_lock "$1" "$2" "$3" "$4"
  if [ "$(digest_of "$5")" != "$6" ]; then
    release_lock "$1" "$2"
    echo "openClaude: this home changed after this run read it (another openClaude run finished meanwhile?); nothing was changed; re-run" >&2
    exit 1
  fi
}
