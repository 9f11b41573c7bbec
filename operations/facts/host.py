"""The deploy's fact: everything a converged deploy compares against, in one command."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from pyinfra.api import FactBase

from operations.facts.unprinted import printed_files
from operations.model.layout import UV_DIRS, shell_words
from operations.sh import load

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
    digest: str | None = None  # a file's POSIX cksum, "<CRC> <size>" (operations/model/digest.py)
    content: bytes | None = None  # a file's bytes, for the paths asked as ``read``
    key_valid: bool | None = None
    backups: tuple[str, ...] = ()  # names of PATH.*.bak files beside it (not for secret files)


class OpenClaudeHost(FactBase):
    """
    The target's home, uv, LiteLLM's uv receipt and the deploy's files, in one command
    (``operations/sh/host.sh``). Files are compared by digest; only those asked as ``read`` are
    printed whole (pyinfra prints a fact's output at -vv: see ``read``).

    + digests: home-relative paths described with their POSIX cksum (one ``cksum`` for all)
    + read: home-relative paths described so and read whole (``Entry.content``): files that may
      hold secrets, so a fact asked for them must be read unprinted
      (``operations/facts/unprinted.py``), never with ``host.get_fact``
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
         "receipt": "[tool]\\nrequirements = ...",
         "entries": {".litellm/config.yaml": Entry(kind="file", mode=0o600, digest="3215 912")},
         "same_files": {(".local/bin/openclaude", ".local/bin/openClaude")},
         "os": "Darwin", "shell": "/bin/zsh", "profile": ".zprofile", "on_path": "no",
         "agent_manager": "launchd", "agent_domain": "gui/501", "agent_loaded": "yes",
         "models": {"qwen.qwen3-next-80b-a3b": {"max_input_tokens": 256000,
                                                "max_output_tokens": 8000,
                                                "deprecation_date": None}}}
    """

    _script = ""  # what command() ran, for the lock's re-read

    def command(self, digests=(), read=(), described=(), keys=(), model_ids=(), same_files=(),
                on_path=None, login_agent=None) -> str:
        entries = [(kind, path) for kind, paths in (("digest", digests), ("read", read),
                                                     ("describe", described), ("key", keys))
                   for path in paths]
        calls = [f"tools {shell_words(UV_DIRS)}"]
        if entries:
            calls.append("modes " + " ".join(shlex.quote(path) for _, path in entries))
        if digests or read:
            calls.append("sums " + " ".join(shlex.quote(path) for path in (*digests, *read)))
        calls += [f"entry {kind} {shlex.quote(path)}" for kind, path in entries]
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
        self._script = load("portable", "login_agent", "private_files", "host") + "\n".join(calls)
        return f"{load('digest')}digested {shlex.quote(self._script)}"

    @staticmethod
    def default() -> dict:
        return {}

    def process(self, output) -> dict:
        # The script and its output's digest: a run that must change something re-reads under
        # its lock (operations/ops/runlock.py) and goes on only if nothing changed since.
        facts: dict = {"entries": {}, "same_files": set(), "script": self._script}
        backups: dict = {}
        contents = printed_files(output)  # the files asked as ``read``, by absolute path
        for line in output:
            field, _, rest = line.partition("\t")
            if field == "file":
                continue
            if field == "backup":
                path, name = rest.split("\t")
                backups.setdefault(path, []).append(name)
            elif field == "entry":
                path, kind, link, mode, body = rest.split("\t")
                facts["entries"][path] = Entry(
                    kind=kind,
                    mode=int(mode, 8) if mode else None,
                    link=link,
                    digest=body if kind == "file" and body not in ("valid", "invalid") else None,
                    content=contents.get(f"{facts['home']}/{path}") if kind == "file" else None,
                    key_valid={"valid": True, "invalid": False}.get(body),
                    backups=tuple(backups.pop(path, ())),
                )
            elif field == "same":
                facts["same_files"].add(tuple(rest.split("\t")))
            elif field == "models":
                facts["models"] = json.loads(rest) if rest else None
            elif field == "receipt":
                facts["receipt"] = facts.get("receipt", "") + rest + "\n"
            else:
                facts[field] = rest or None
        return facts
