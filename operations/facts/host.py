"""The deploy's fact: everything a converged deploy compares against, in one command."""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from pyinfra.api import FactBase

from operations.model.layout import UV_DIRS, shell_words

# Shell functions for target-side scripts, portable to macOS (no timeout(1) there).
# find_tool NAME DIR...: NAME on PATH, else the first executable DIR/NAME.
# limited SECONDS COMMAND...: runs COMMAND, stopped with SIGTERM after SECONDS.
PORTABLE_SH = r"""
find_tool() {
  name=$1; shift
  command -v "$name" 2>/dev/null && return 0
  for dir in "$@"; do [ -x "$dir/$name" ] && { printf '%s\n' "$dir/$name"; return 0; }; done
  return 0
}
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
"""
# Reads everything a converged deploy compares against, in one command (one SSH round trip).
# Lines: "<field>\t<value>", "entry\t<path>\t<kind>\t<link target>\t<mode>\t<base64>",
# "same\t<path>\t<other>" when both name one file (a symlink, or one entry on a
# case-insensitive filesystem) and, for every path but secret files,
# "backup\t<path>\t<name of a PATH.*.bak beside it>".
# Secret files are described, never read: only whether they look like a LiteLLM key.
_HOST_SCRIPT = r"""
mode_of() { stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1" 2>/dev/null; }
entry() {
  p="$HOME/$2"; target=""; kind=missing; mode=""; body=""
  [ -L "$p" ] && target=$(readlink "$p")
  if [ -d "$p" ]; then kind=dir; mode=$(mode_of "$p")
  elif [ -f "$p" ]; then
    kind=file; mode=$(mode_of "$p")
    if [ ! -r "$p" ]; then kind=unreadable
    elif [ "$1" = content ]; then body=$(base64 < "$p" | tr -d '\n')
    elif [ "$1" = key ]; then
      # One line, as the launcher reads it (the first line is the key).
      if [ "$(grep -c . "$p")" = 1 ] && head -n 1 "$p" | grep -Eq '^sk-[0-9a-f]{64}$'; then
        body=valid; else body=invalid; fi
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
# same PATH OTHER: one file (-ef), or names differing in case only with PATH found under another
# spelling: a case-insensitive filesystem that reports an inode per spelling.
same() {
  { [ "$HOME/$1" -ef "$HOME/$2" ] || { [ -e "$HOME/$1" ] && ! listed "$HOME/$1" &&
    [ "$(lower "$1")" = "$(lower "$2")" ]; }; } && printf 'same\t%s\t%s\n' "$1" "$2"
  true
}
printf 'home\t%s\n' "$HOME"
uv=$(find_tool uv @UV_DIRS@)
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
  tool_dir=$("$uv" tool dir 2>/dev/null)
  printf 'tool_dir\t%s\n' "$tool_dir"
  printf 'bin_dir\t%s\n' "$("$uv" tool dir --bin 2>/dev/null)"
  receipt="$tool_dir/litellm/uv-receipt.toml"
  [ -r "$receipt" ] && printf 'receipt\t%s\n' "$(base64 < "$receipt" | tr -d '\n')"
fi
# Whether HOME/DIR is on the login shell's PATH (a new terminal's), and the file that shell reads
# at login. Asked of that shell, with a watchdog, only when this shell's PATH lacks DIR.
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
  login=$(limited 10 "$shell" -l -c 'printf "\nopenclaude-path=%s\n" "$PATH"' 2>/dev/null \
    | sed -n 's/^openclaude-path=//p' | tail -n 1)
  if [ -z "$login" ]; then printf 'on_path\tunknown\n'; return; fi
  case ":$login:" in *":$dir:"*) printf 'on_path\tyes\n' ;; *) printf 'on_path\tno\n' ;; esac
}
models() {
  reader=$1; shift; python="$tool_dir/litellm/bin/python"
  if [ -n "$uv" ] && [ -x "$python" ]; then
    printf 'models\t%s\n' "$("$python" -c "$reader" "$@" 2>/dev/null)"
  fi
}
"""
# login_agent: the user's service manager and whether the login agent is loaded in it.
LOGIN_AGENT_SH = (Path(__file__).with_name("login_agent.sh")).read_text(encoding="utf-8")
_HOST_SCRIPT = (PORTABLE_SH + LOGIN_AGENT_SH
                + _HOST_SCRIPT.replace("@UV_DIRS@", shell_words(UV_DIRS)))

# Looks up ids in the installed LiteLLM's bundled model map without importing LiteLLM (seconds).
_MODEL_MAP_READER = (
    "import importlib.util, json, pathlib, sys; "
    "spec = importlib.util.find_spec('litellm'); "
    "path = pathlib.Path(spec.origin).parent / 'model_prices_and_context_window_backup.json'; "
    "table = json.loads(path.read_text()); "
    "print(json.dumps({i: table.get(i) and {k: table[i].get(k) for k in "
    "('max_input_tokens', 'max_output_tokens', 'deprecation_date')} for i in sys.argv[1:]}))"
)


@dataclass(frozen=True)
class Entry:
    """One path under the user's home, as the target saw it."""

    kind: str  # file, dir, missing, unreadable, other
    mode: int | None = None
    link: str = ""  # symlink target, when the path is a symlink
    content: bytes | None = None
    key_valid: bool | None = None
    backups: tuple[str, ...] = ()  # names of PATH.*.bak files beside it (not for secret files)


def digested(script: str) -> str:
    """``script``, then a ``digest`` line: the POSIX ``cksum`` of everything it printed."""
    return (
        f"out=$(sh -c {shlex.quote(script)}); printf '%s\\n' \"$out\"; "
        "printf 'digest\\t%s\\n' \"$(printf '%s\\n' \"$out\" | cksum)\""
    )


def redigest(script: str) -> str:
    """A command setting ``$digest`` to what ``digested(script)`` reports, for a re-read."""
    return f"digest=$(out=$(sh -c {shlex.quote(script)}); printf '%s\\n' \"$out\" | cksum)"


class OpenClaudeHost(FactBase):
    """
    The target's home, uv, LiteLLM's uv receipt and the deploy's files, in one command.

    + content: home-relative paths whose bytes are read (base64 on the wire)
    + described: home-relative paths described only (kind, mode, link)
    + keys: home-relative secret files: only whether each holds a LiteLLM key
    + model_ids: upstream ids to look up in the installed LiteLLM's model map (offline)
    + same_files: home-relative (path, other) pairs: whether both name the same file (``-ef``, or
      one directory entry under two spellings where a filesystem reports an inode per spelling)
    + on_path: a home-relative directory: whether the login shell's PATH has it (``yes``, ``no``,
      ``unknown``), with ``shell`` and the ``profile`` that shell reads at login
    + login_agent: (wanted, launch agent path, systemd unit path), home-relative: the user's
      service manager (``agent_manager``: ``launchd``, ``systemd``; else ``agent_manager_missing``,
      why) and ``agent_loaded`` (``yes``, ``no``), asked only when the agent is wanted or its
      file exists

    **Example:**

    .. code:: python

        {"home": "/home/dev", "uv": "/home/dev/.local/bin/uv", "python3": "/usr/bin/python3",
         "tool_dir": "/home/dev/.local/share/uv/tools", "bin_dir": "/home/dev/.local/bin",
         "receipt": "[tool]\\nrequirements = ...", "entries": {".litellm/config.yaml": Entry(...)},
         "same_files": {(".local/bin/openclaude", ".local/bin/openClaude")},
         "os": "Darwin", "shell": "/bin/zsh", "profile": ".zprofile", "on_path": "no",
         "agent_manager": "launchd", "agent_domain": "gui/501", "agent_loaded": "yes",
         "models": {"qwen.qwen3-next-80b-a3b": {"max_input_tokens": 256000,
                                                "max_output_tokens": 8000,
                                                "deprecation_date": None}}}
    """

    _script = ""  # what command() ran, for the lock's re-read

    def command(self, content=(), described=(), keys=(), model_ids=(), same_files=(),
                on_path=None, login_agent=None) -> str:
        calls = [
            f"entry {kind} {shlex.quote(path)}"
            for kind, paths in (("content", content), ("describe", described), ("key", keys))
            for path in paths
        ]
        calls += [f"same {shlex.quote(path)} {shlex.quote(other)}" for path, other in same_files]
        if on_path:
            calls.append(f"on_path {shlex.quote(on_path)}")
        if login_agent:
            wanted, launch_agent, systemd_unit = login_agent
            calls.append(f"login_agent \"$os\" {'yes' if wanted else 'no'} "
                         f"{shlex.quote(launch_agent)} {shlex.quote(systemd_unit)}")
        if model_ids:
            quoted = " ".join(shlex.quote(model_id) for model_id in model_ids)
            calls.append(f"models {shlex.quote(_MODEL_MAP_READER)} {quoted}")
        self._script = _HOST_SCRIPT + "\n".join(calls)
        return digested(self._script)

    @staticmethod
    def default() -> dict:
        return {}

    def process(self, output) -> dict:
        # The script and its output's digest: a run that must change something re-reads under
        # its lock (operations/runlock.py) and goes on only if nothing changed since.
        facts: dict = {"entries": {}, "same_files": set(), "script": self._script}
        backups: dict = {}
        for line in output:
            field, _, rest = line.partition("\t")
            if field == "backup":
                path, name = rest.split("\t")
                backups.setdefault(path, []).append(name)
            elif field == "entry":
                path, kind, link, mode, body = rest.split("\t")
                facts["entries"][path] = Entry(
                    kind=kind,
                    mode=int(mode, 8) if mode else None,
                    link=link,
                    content=base64.b64decode(body) if kind == "file" and body not in (
                        "valid", "invalid") else None,
                    key_valid={"valid": True, "invalid": False}.get(body),
                    backups=tuple(backups.pop(path, ())),
                )
            elif field == "same":
                facts["same_files"].add(tuple(rest.split("\t")))
            elif field == "models":
                facts["models"] = json.loads(rest) if rest else None
            elif field == "receipt":
                facts["receipt"] = base64.b64decode(rest).decode("utf-8", "replace")
            else:
                facts[field] = rest or None
        return facts
