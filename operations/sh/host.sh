# shellcheck shell=sh
# The OpenClaudeHost fact (operations/facts/host.py): everything a converged deploy compares
# against, in one command. The fact calls `tools UV_DIR...`, `modes PATH...` and `sums PATH...`
# first, then `entry`, `same`, `on_path` and `models` as asked. Lines: "<field>\t<value>",
# "entry\t<path>\t<kind>\t<link target>\t<mode>\t<digest>", "same\t<path>\t<other>" when both
# name one file (a symlink, or one entry on a case-insensitive filesystem) and, for every path
# but secret files, "backup\t<path>\t<name of a PATH.*.bak beside it>".
# A file is described by its POSIX cksum ("<CRC> <size>"), a secret file only by whether it
# looks like a LiteLLM key. Only the files asked as `entry read` are printed whole, by
# print_files (private_files.sh): the deploy then reads the fact with pyinfra's printing off
# (operations/facts/unprinted.py).

nl='
'

# modes PATH...: reads the permission bits of the home-relative PATHs with one stat, not one
# each, for mode_of: GNU's (it has --version) with -c, else BSD's (a Mac's) with -f.
modes() {
  count=$#
  for relative in "$@"; do set -- "$@" "$HOME/$relative"; done
  shift "$count"
  if stat --version >/dev/null 2>&1; then set -- -c '%a %n' "$@"; else set -- -f '%Lp %N' "$@"; fi
  known_modes=$(stat "$@" 2>/dev/null)
}

# found WORDS LIST PATH: sets found to the first WORDS words of the line of LIST (a command's
# output over several paths: lines "<word>... <path>") that ends with PATH; empty when LIST
# says nothing of PATH (a path with a newline in it).
found() {
  words=$1; rest=$2; found=
  while [ -n "$rest" ]; do
    line=${rest%%"$nl"*}; value=; tail=$line; n=0
    while [ "$n" -lt "$words" ]; do
      value="$value${value:+ }${tail%% *}"; tail=${tail#* }; n=$((n + 1))
    done
    if [ "$tail" = "$3" ]; then found=$value; return; fi
    [ "$line" = "$rest" ] && break
    rest=${rest#*"$nl"}
  done
}

# mode_of PATH: sets mode to PATH's permission bits: from modes, else a stat of its own.
mode_of() {
  found 1 "$known_modes" "$1"; mode=$found
  [ -n "$mode" ] || mode=$(stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1" 2>/dev/null)
}

# sums PATH...: the POSIX cksum ("<CRC> <size> <path>") of the home-relative PATHs that are
# readable files, with one cksum, for sum_of.
sums() {
  count=$#
  for relative in "$@"; do
    [ -f "$HOME/$relative" ] && [ -r "$HOME/$relative" ] && set -- "$@" "$HOME/$relative"
  done
  shift "$count"
  known_sums=
  [ $# = 0 ] || known_sums=$(cksum "$@" 2>/dev/null)
}

# sum_of FILE: sets body to FILE's POSIX cksum, "<CRC> <size>": from sums, else a cksum of its
# own.
sum_of() {
  found 2 "$known_sums" "$1"; body=$found
  [ -n "$body" ] || body=$(cksum < "$1")
}

# key_state FILE: sets body to valid when FILE's first line is a LiteLLM key (sk- and 64 hex
# digits) and every other line is empty, as the launcher reads it; else to invalid.
key_state() {
  body=invalid
  {
    IFS= read -r line || [ -n "$line" ] || return 0
    case $line in sk-*) ;; *) return 0 ;; esac
    hex=${line#sk-}
    case $hex in *[!0123456789abcdef]*) return 0 ;; esac
    [ "${#hex}" = 64 ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do [ -z "$line" ] || return 0; done
    body=valid
  } < "$1"
}

# entry digest|read|describe|key PATH: one home-relative path.
entry() {
  p="$HOME/$2"; target=""; kind=missing; mode=""; body=""
  [ -L "$p" ] && target=$(readlink "$p")
  if [ -d "$p" ]; then kind=dir; mode_of "$p"
  elif [ -f "$p" ]; then
    kind="file"; mode_of "$p"
    if [ ! -r "$p" ]; then kind=unreadable
    elif [ "$1" = digest ] || [ "$1" = read ]; then
      sum_of "$p"
      [ "$1" = digest ] || print_files "$p"
    elif [ "$1" = key ]; then key_state "$p"
    fi
  elif [ -e "$p" ] || [ -L "$p" ]; then kind=other
  elif [ -d "${p%/*}" ] && [ ! -x "${p%/*}" ]; then kind=unreadable
  fi
  if [ "$1" != key ]; then
    for backup in "$p".*.bak; do
      [ -f "$backup" ] && printf 'backup\t%s\t%s\n' "$2" "${backup##*/}"
    done
  fi
  printf 'entry\t%s\t%s\t%s\t%s\t%s\n' "$2" "$kind" "$target" "$mode" "$body"
}

# listed PATH: PATH's directory has an entry spelled exactly as PATH's last part (on a
# case-insensitive filesystem PATH may name an entry spelled otherwise).
listed() { for e in "${1%/*}"/* "${1%/*}"/.[!.]*; do [ "$e" = "$1" ] && return 0; done; return 1; }
lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# same PATH OTHER: the home-relative paths name one file (-ef), or differ in case only with
# PATH found under another spelling: a case-insensitive filesystem that reports an inode per
# spelling.
same() {
  { [ "$HOME/$1" -ef "$HOME/$2" ] || { [ -e "$HOME/$1" ] && ! listed "$HOME/$1" &&
    [ "$(lower "$1")" = "$(lower "$2")" ]; }; } && printf 'same\t%s\t%s\n' "$1" "$2"
  true
}

# tools UV_DIR...: the home, uv (on PATH or in a UV_DIR), python3, the OS, uv's tool
# directory and LiteLLM's uv receipt (else uv's executable directory). Sets uv, tool_dir and os
# for the functions below.
tools() {
  printf 'home\t%s\n' "$HOME"
  uv=$(find_tool uv "$@")
  printf 'uv\t%s\n' "$uv"
  python3=$(command -v python3 2>/dev/null)
  printf 'python3\t%s\n' "$python3"
  os=$(uname -s 2>/dev/null)
  printf 'os\t%s\n' "$os"
  # A Mac without the Command Line Tools: /usr/bin/python3 is a stub that opens an install dialog.
  if [ "$os" = Darwin ] && [ "$python3" = /usr/bin/python3 ] && ! xcode-select -p >/dev/null 2>&1; then
    printf 'python3_stub\t1\n'
  fi
  if [ -n "$uv" ]; then
    # uv's own rule for its tool directory; uv is asked (10 ms) only when LiteLLM is not there.
    tool_dir=${UV_TOOL_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/uv/tools}
    [ -r "$tool_dir/litellm/uv-receipt.toml" ] || tool_dir=$("$uv" tool dir 2>/dev/null)
    printf 'tool_dir\t%s\n' "$tool_dir"
    receipt="$tool_dir/litellm/uv-receipt.toml"
    if [ -r "$receipt" ]; then
      # Line by line, read by the shell (no process).
      while IFS= read -r line || [ -n "$line" ]; do printf 'receipt\t%s\n' "$line"; done < "$receipt"
    else
      # Where uv will put LiteLLM's executable; once it has, its receipt says where it did.
      printf 'bin_dir\t%s\n' "$("$uv" tool dir --bin 2>/dev/null)"
    fi
  fi
  true
}

# on_path DIR: whether HOME/DIR is on the login shell's PATH (a new terminal's), and the file
# that shell reads at login. Asked of that shell, with a watchdog, only when this shell's PATH
# lacks DIR.
on_path() {
  shell=${SHELL:-/bin/sh}; dir="$HOME/$1"
  printf 'shell\t%s\n' "$shell"
  case ${shell##*/} in
    zsh) profile=.zprofile ;;
    bash) if [ -f "$HOME/.bash_profile" ]; then profile=.bash_profile
          elif [ -f "$HOME/.bash_login" ]; then profile=.bash_login
          elif [ "$os" = Darwin ]; then profile=.bash_profile
          else profile=.profile; fi ;;
    fish) profile=.config/fish/config.fish ;;
    *) profile=.profile ;;
  esac
  printf 'profile\t%s\n' "$profile"
  case ":$PATH:" in *":$dir:"*) printf 'on_path\tyes\n'; return ;; esac
  # shellcheck disable=SC2016 # $PATH is the login shell's, expanded there
  said=$(limited 10 "$shell" -l -c 'printf "\nopenclaude-path=%s\n" "$PATH"' 2>/dev/null)
  # The last marked line: the login shell's profile may print lines of its own.
  login=
  while IFS= read -r line; do
    case $line in openclaude-path=*) login=${line#openclaude-path=} ;; esac
  done <<EOF
$said
EOF
  if [ -z "$login" ]; then printf 'on_path\tunknown\n'; return; fi
  case ":$login:" in *":$dir:"*) printf 'on_path\tyes\n' ;; *) printf 'on_path\tno\n' ;; esac
}

# models READER ID...: the ids' entries in the installed LiteLLM's model map (READER: Python).
models() {
  reader=$1; shift; python="$tool_dir/litellm/bin/python"
  if [ -n "$uv" ] && [ -x "$python" ]; then
    printf 'models\t%s\n' "$("$python" -c "$reader" "$@" 2>/dev/null)"
  fi
}
