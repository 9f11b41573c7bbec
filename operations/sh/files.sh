# shellcheck shell=sh
# Placing files in the target user's home (operations/ops/homefiles.py): atomic, backed up,
# private where it matters.

# Temp files older than this (minutes) are a killed run's leftovers, not a running one's.
STALE_MINUTES=60

# remove_stale DIR PATTERN: this user's temp files in DIR matching PATTERN left by killed runs.
remove_stale() {
  find "$1" -maxdepth 1 -type f -name "$2" -mmin +"$STALE_MINUTES" -exec rm -f {} + 2>/dev/null
  true
}

# private_file PATH: PATH created empty, only this user can read it.
private_file() { (umask 077 && : > "$1"); }

# start_temp DEST TMP: removes a killed run's temp files for DEST, then creates TMP private, so
# that secret content never sits in a readable temp file.
start_temp() { remove_stale "${1%/*}" ".${1##*/}.*.tmp*"; private_file "$2"; }

# keep_backup DEST NEW [OLD_BACKUP...]: when DEST differs from NEW, copies it to a private
# DEST.<UTC time>[.N].bak created exclusively (set -C never overwrites a backup; not a hard
# link: chmod on a link would change DEST's mode too), then removes the OLD_BACKUPs.
keep_backup() {
  dest=$1; new=$2; shift 2
  if [ ! -f "$dest" ] || cmp -s "$new" "$dest"; then return 0; fi
  stamp=$(date -u +%Y%m%dT%H%M%SZ); backup="$dest.$stamp.bak"; n=0
  until (umask 077; set -C; : > "$backup") 2>/dev/null; do
    n=$((n+1)); backup="$dest.$stamp.$n.bak"
    [ "$n" -lt 100 ] || { echo "openClaude: cannot back up $dest" >&2; exit 1; }
  done
  cat "$dest" > "$backup" || { echo "openClaude: cannot back up $dest" >&2; exit 1; }
  echo "openClaude: kept the previous $dest as $backup"
  for old in "$@"; do
    rm -f "$old" && echo "openClaude: removed the old backup $old"
  done
}

# replace_file DEST TMP WAS MODE [OLD_BACKUP...]: moves TMP over DEST with MODE if DEST is
# still what this run read (WAS: the POSIX cksum it read, "<CRC> <size>"; "missing"; or "any"),
# keeping a differing DEST as a backup (keep_backup). Another run (a rollback, say) may have
# written DEST since: then nothing is replaced and it exits 1.
replace_file() {
  dest=$1; tmp=$2; was=$3; mode=$4; shift 4
  case $was in
    missing) [ ! -e "$dest" ] && [ ! -L "$dest" ]; unchanged=$? ;;
    any) unchanged=0 ;;
    *) [ -f "$dest" ] && [ "$(cksum < "$dest")" = "$was" ]; unchanged=$? ;;
  esac
  if [ "$unchanged" != 0 ]; then
    rm -f "$tmp"
    echo "openClaude: $dest changed after this run read it (another openClaude run?); it was left as it is; re-run" >&2
    exit 1
  fi
  chmod "$mode" "$tmp" && keep_backup "$dest" "$tmp" "$@" && mv -f "$tmp" "$dest"
}

# listed PATH: PATH's directory has an entry spelled exactly as PATH's last part (on a
# case-insensitive filesystem PATH may name an entry spelled otherwise).
listed() { for e in "${1%/*}"/* "${1%/*}"/.[!.]*; do [ "$e" = "$1" ] && return 0; done; return 1; }

# runs_launcher NAME: NAME runs the launcher (its --help answers with the launcher's usage);
# else $why holds the first line of what it said.
runs_launcher() {
  why=$("$1" --help 2>&1 </dev/null) && case $why in "Usage: openClaude"*) return 0 ;; esac
  why=$(printf '%s\n' "$why" | head -n 1)
  return 1
}

# prove_launcher ALIAS TARGET: both names run the launcher. Else the launcher is put back from
# the copy link_alias kept (when the link step broke it), the filesystem problem named, and the
# command exits 1.
prove_launcher() {
  alias=$1; target=$2; keep="$2.$$.keep"; directory=${1%/*}
  if runs_launcher "$target" && runs_launcher "$alias"; then rm -f "$keep"
  elif [ -f "$keep" ] && { [ -L "$target" ] || [ ! -f "$target" ]; }; then
    rm -f "$alias"; mv -f "$keep" "$target"
    echo "openClaude: making $alias a link to $target turned $target into a link to itself: the filesystem of $directory treats both names as one file but reports two (a case-insensitive filesystem that gives each spelling its own inode). The launcher was put back and runs as $target; for a second name choose one that differs in more than case: --data launcher_alias=PATH." >&2
    exit 1
  else
    rm -f "$keep"; failed=$alias; runs_launcher "$target" || failed=$target; runs_launcher "$failed"
    echo "openClaude: after this run $failed does not run the launcher ($why): check the filesystem of $directory (mounted noexec? no symbolic links?)" >&2
    exit 1
  fi
}

# link_alias ALIAS LINK TARGET CASE_ONLY [OLD_BACKUP...]: ALIAS becomes a symlink to LINK (which
# resolves to TARGET, the launcher); anything else at ALIAS is kept as ALIAS.<UTC time>.bak, and
# the OLD_BACKUPs removed; then prove_launcher. CASE_ONLY (yes/no): ALIAS and TARGET differ only
# in case, so on a case-insensitive filesystem they may be one file (by -ef or, where it reports
# an inode per spelling, by the directory listing): then no link is made (it would replace
# TARGET with a link to itself).
link_alias() {
  alias=$1; link=$2; target=$3; case_only=$4; shift 4
  if [ "$case_only" = yes ] && [ ! -L "$alias" ] &&
      { [ "$alias" -ef "$target" ] || { [ -e "$alias" ] && ! listed "$alias"; }; }; then
    echo "openClaude: $alias is $target itself (a case-insensitive filesystem); no link needed"
  else
    # A copy of the launcher, for the proof to put back should the link step break it.
    if [ -f "$target" ] && [ ! -L "$target" ]; then cp -p "$target" "$target.$$.keep"; fi
    if [ -e "$alias" ] && [ ! -L "$alias" ]; then
      mv "$alias" "$alias.$(date -u +%Y%m%dT%H%M%SZ).bak" &&
        echo "openClaude: kept the previous $alias as a .bak beside it"
      [ $# = 0 ] || rm -f "$@"
    fi
    ln -sfn "$link" "$alias" || return 1
  fi
  prove_launcher "$alias" "$target"
}

# new_master_key PATH: a random LiteLLM key (sk- and 64 hex digits) in PATH, 0600, made here
# and never shown. ln refuses to replace a key another run made meanwhile: the first key stays.
new_master_key() {
  remove_stale "${1%/*}" "${1##*/}.*.tmp"
  umask 077 && tmp="$1.$$.tmp" &&
    printf 'sk-%s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" > "$tmp" &&
    { ln "$tmp" "$1" 2>/dev/null || true; } && rm -f "$tmp"
}
