"""Operations on files in the target user's home: atomic, backed up, private where it matters.

Each compares with an ``Entry`` from the ``OpenClaudeHost`` fact the deploy read once, so a
converged run costs no further round trips, and yields commands only for what differs.
"""

from __future__ import annotations

import posixpath
import shlex
import uuid
from io import BytesIO

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, StringCommand, operation
from pyinfra.operations.util.files import generate_color_diff

from operations.facts.unprinted import downloaded
from operations.facts.host import Entry
from operations.model.backups import backups_beyond
from operations.model.digest import cksum
from operations.sh import call

def _files_sh(function: str, *arguments) -> StringCommand:
    """A call of ``operations/sh/files.sh``'s ``function``."""
    return StringCommand(call("files", function, *arguments))


def _mode_text(mode: int) -> str:
    return format(mode, "o")


@operation()
def placed_file(
    path: str,
    content: str,
    *,
    current: Entry,
    mode: int = 0o600,
    show_diff: bool = True,
    backups_kept: int = 5,
):
    """
    Place a file atomically (temp file + rename in the same directory) with the given mode.

    Content that differs from the old file's is kept as a timestamped backup beside it; the
    run that adds one removes that file's backups beyond the newest ``backups_kept``.

    + path: absolute path on the target
    + content: the wanted text
    + current: the path's ``Entry`` from the ``OpenClaudeHost`` fact
    + mode: the wanted permission bits. Default 0o600.
    + show_diff: show the change with ``--diff`` (off for files that may hold secrets). Default True.
    + backups_kept: how many backups of this file to keep (the newest). Default 5.

    **Example:**

    .. code:: python

        placed_file(
            name="Write the LiteLLM config",
            path="/home/dev/.litellm/config.yaml",
            content=config_text(data),
            current=facts["entries"][".litellm/config.yaml"],
        )
    """
    if _up_to_date(current, content, mode):
        host.noop(f"{path} is up to date")
        return
    yield from _placing(path, content, current, mode=mode, show_diff=show_diff,
                        backups_kept=backups_kept)


@operation()
def placed_files(files: list, *, mode: int = 0o600, backups_kept: int = 5):
    """
    Place several files as ``placed_file`` does, in one operation: a converged run prepares one
    operation for all of them, not one each. Each file is replaced on its own, atomically.

    + files: ``(path, content, current)`` for each file, as ``placed_file``'s arguments
    + mode: the wanted permission bits of every file. Default 0o600.
    + backups_kept: how many backups of each file to keep (the newest). Default 5.

    **Example:**

    .. code:: python

        placed_files(
            name="Beside the config: openclaude_usage.py",
            files=[("/home/dev/.litellm/openclaude_usage.py", text, entry)],
        )
    """
    differing = [(path, content, current) for path, content, current in files
                 if not _up_to_date(current, content, mode)]
    if not differing:
        host.noop(f"{len(files)} files are up to date")
        return
    for path, content, current in differing:
        yield from _placing(path, content, current, mode=mode, show_diff=True,
                            backups_kept=backups_kept)


def holds(current: Entry, content: str | bytes) -> bool:
    """The fact found a file (not a symlink) holding ``content``, by its digest."""
    wanted = content.encode("utf-8") if isinstance(content, str) else content
    return current.kind == "file" and not current.link and current.digest == cksum(wanted)


def _up_to_date(current: Entry, content: str, mode: int) -> bool:
    return holds(current, content) and current.mode == mode


def _placing(path: str, content: str, current: Entry, *, mode: int, show_diff: bool,
             backups_kept: int):
    """The commands that place one file: a chmod when only its mode differs."""
    wanted = content.encode("utf-8")
    if holds(current, wanted):
        yield StringCommand("chmod", _mode_text(mode), shlex.quote(path))
        return

    if state.config.DIFF and show_diff:
        old_bytes = downloaded([path]).get(path, b"") if current.kind == "file" else b""
        old = old_bytes.decode("utf-8", "replace").splitlines(keepends=True)
        host.log(f"Will write {path}", logger.info)
        for line in generate_color_diff(old, content.splitlines(keepends=True)):
            logger.info("  %s", line)

    directory, name = posixpath.split(path)
    stale = backups_beyond(name, current.backups, backups_kept) if current.kind == "file" else []
    if current.kind == "file" and state.is_executing:
        host.log_styled(
            f"openClaude: {path} differs from this deploy's version; keeping the current file "
            "as a .bak beside it"
            + (f", removing its oldest backups (keeping {backups_kept}): {', '.join(stale)}"
               if stale else ""),
            fg="yellow", log_func=logger.warning,
        )

    tmp = f"{directory}/.{name}.{uuid.uuid4().hex[:12]}.tmp"
    yield _files_sh("start_temp", path, tmp)
    yield FileUploadCommand(BytesIO(wanted), tmp)
    # Replace only what this run read: another run (a rollback, say) may have written since.
    was = {"file": current.digest, "missing": "missing"}.get(current.kind) or "any"
    yield _files_sh("replace_file", path, tmp, was, _mode_text(mode),
                    *(f"{directory}/{backup}" for backup in stale))


@operation()
def directories(wanted: list):
    """
    Ensure directories exist; set a directory's mode only when one is given. One operation for
    all of them: a converged run prepares one operation, not one each.

    + wanted: ``(path, current, mode)`` for each directory: its absolute path on the target, its
      ``Entry`` from the ``OpenClaudeHost`` fact, and the wanted permission bits or None to
      leave an existing directory's alone

    **Example:**

    .. code:: python

        directories(name="~/.litellm (private) exists",
                    wanted=[("/home/dev/.litellm", entry, 0o700)])
    """
    commands = []
    for path, current, mode in wanted:
        if current.kind != "dir":
            mode_args = f"-m {_mode_text(mode)} " if mode is not None else ""
            commands.append(f"mkdir -p {mode_args}{shlex.quote(path)}")
        elif mode is not None and current.mode != mode:
            commands.append(StringCommand("chmod", _mode_text(mode), shlex.quote(path)))
    if not commands:
        host.noop(f"{len(wanted)} directories exist")
    yield from commands


@operation()
def symlink(path: str, target: str, *, current: Entry, same_file: bool = False,
            backups_kept: int = 5, launcher_changes: bool = False):
    """
    Ensure ``path`` is a symlink to ``target``; anything else there is kept as a backup. A run
    that changes the link or the launcher (``launcher_changes``) ends by proving both names run
    the launcher; otherwise the host fails naming the filesystem problem, with the launcher left
    a runnable file.

    On a case-insensitive filesystem ``openclaude`` and ``openClaude`` are one directory entry:
    a link there would replace the target with a link to itself, and moving "the other file"
    aside would move the target. So when both names differ only in case and already name one
    file, nothing is done. The command decides that again on the target, as the target may
    appear only after the fact was read (the first deploy writes it just before), by ``-ef`` or,
    where the filesystem reports an inode per spelling, by the directory listing.

    + path: absolute path of the link on the target
    + target: what the link points at (relative links stay relative)
    + current: the path's ``Entry`` from the ``OpenClaudeHost`` fact
    + same_file: the fact found ``path`` and the target to be one file. Default False.
    + backups_kept: how many backups of ``path`` to keep (the newest). Default 5.
    + launcher_changes: this run changes the launcher. Default False.

    **Example:**

    .. code:: python

        symlink(name="Lowercase alias", path="/home/dev/.local/bin/openclaude",
                target="openClaude", current=entry, same_file=False, launcher_changes=True)
    """
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    one_name = path.casefold() == resolved.casefold()
    if current.link == target or (one_name and same_file and not current.link):
        if not launcher_changes:
            host.noop(f"{path} already points at {target}" if current.link == target
                      else f"{path} is {resolved} itself (a case-insensitive filesystem)")
            return
        yield _files_sh("prove_launcher", path, resolved)
        return
    directory, name = posixpath.split(path)
    replaced = current.kind != "missing" and not current.link  # what the command backs up
    stale = backups_beyond(name, current.backups, backups_kept) if replaced else []
    if stale and state.is_executing:
        host.log_styled(f"openClaude: removing the oldest backups of {path} (keeping "
                        f"{backups_kept}): {', '.join(stale)}", fg="yellow", log_func=logger.warning)
    yield _files_sh("link_alias", path, target, resolved, "yes" if one_name else "no",
                    *(f"{directory}/{backup}" for backup in stale))


@operation()
def master_key(path: str, *, current: Entry):
    """
    Ensure a random per-machine LiteLLM master key exists (0600), created once, never replaced.

    The key is made on the target and never passes through pyinfra or its output.

    + path: absolute path of the key file on the target
    + current: the path's ``Entry`` from the ``OpenClaudeHost`` fact (described, not read)

    **Example:**

    .. code:: python

        master_key(name="Master key", path="/home/dev/.litellm/master.key", current=entry)
    """
    quoted = shlex.quote(path)
    if current.kind == "file":
        if current.mode == 0o600:
            host.noop(f"{path} exists and is private")
        else:
            yield f"chmod 600 {quoted}"
        return
    yield _files_sh("new_master_key", path)
