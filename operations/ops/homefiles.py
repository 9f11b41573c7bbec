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

from operations.facts.host import Entry
from operations.model.backups import backups_beyond

# Keeps differing old content as PATH.<UTC time>[.N].bak, a private copy created exclusively
# (set -C never overwrites an existing backup). Not a hard link: chmod on a link would change
# the live file's mode too.
_BACKUP = (
    'if [ -f "$dest" ] && ! cmp -s "$tmp" "$dest"; then '
    'stamp=$(date -u +%Y%m%dT%H%M%SZ); backup="$dest.$stamp.bak"; n=0; '
    'until (umask 077; set -C; : > "$backup") 2>/dev/null; do n=$((n+1)); '
    'backup="$dest.$stamp.$n.bak"; '
    '[ "$n" -lt 100 ] || { echo "openClaude: cannot back up $dest" >&2; exit 1; }; done; '
    'cat "$dest" > "$backup" || { echo "openClaude: cannot back up $dest" >&2; exit 1; }; '
    'echo "openClaude: kept the previous $dest as $backup"; '
)


def _backup(prune: str) -> str:
    """The backup command; ``prune`` (removing older backups) runs only once the backup exists."""
    return f"{_BACKUP}{prune}fi"


# Temp files older than this (minutes) are a killed run's leftovers, not a running one's.
_STALE_MINUTES = 60


def _remove_stale(directory: str, pattern: str) -> str:
    """A command removing this user's temp files matching ``pattern`` left by killed runs."""
    return (
        f"find {shlex.quote(directory)} -maxdepth 1 -type f -name {shlex.quote(pattern)} "
        f"-mmin +{_STALE_MINUTES} -exec rm -f {{}} + 2>/dev/null; "
    )


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
    wanted = content.encode("utf-8")
    if current.kind == "file" and current.content == wanted and not current.link:
        if current.mode == mode:
            host.noop(f"{path} is up to date")
        else:
            yield StringCommand("chmod", _mode_text(mode), shlex.quote(path))
        return

    if state.config.DIFF and show_diff:
        old = (current.content or b"").decode("utf-8", "replace").splitlines(keepends=True)
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
    seen = f"{tmp}.seen"
    quoted = f"dest={shlex.quote(path)}; tmp={shlex.quote(tmp)}; seen={shlex.quote(seen)}"
    prune = "".join(
        f"rm -f {shlex.quote(f'{directory}/{backup}')} && "
        f"echo {shlex.quote(f'openClaude: removed the old backup {directory}/{backup}')}; "
        for backup in stale
    )
    # Created private first, so secret content never sits in a readable temp file.
    yield StringCommand(
        f'{quoted}; {_remove_stale(directory, f".{name}.*.tmp*")}umask 077 && : > "$tmp"'
    )
    yield FileUploadCommand(BytesIO(wanted), tmp)
    # Replace only what this run read: another run (a rollback, say) may have written since.
    if current.kind == "file":
        yield StringCommand(f'{quoted}; umask 077 && : > "$seen"')
        yield FileUploadCommand(BytesIO(current.content), seen)
        unchanged = 'cmp -s "$seen" "$dest"; same=$?; rm -f "$seen"; [ "$same" = 0 ]'
    elif current.kind == "missing":
        unchanged = '[ ! -e "$dest" ] && [ ! -L "$dest" ]'
    else:
        unchanged = "true"
    changed = shlex.quote(
        f"openClaude: {path} changed after this run read it (another openClaude run?); "
        "it was left as it is; re-run"
    )
    yield StringCommand(
        f'{quoted}; if ! {{ {unchanged}; }}; then rm -f "$tmp"; echo {changed} >&2; exit 1; fi; '
        f'chmod {_mode_text(mode)} "$tmp" && {{ {_backup(prune)}; }} && '
        'mv -f "$tmp" "$dest"'
    )


@operation()
def directory(path: str, *, current: Entry, mode: int | None = None):
    """
    Ensure a directory exists; set its mode only when one is given.

    + path: absolute path on the target
    + current: the path's ``Entry`` from the ``OpenClaudeHost`` fact
    + mode: the wanted permission bits, or None to leave an existing directory's alone

    **Example:**

    .. code:: python

        directory(name="Private LiteLLM directory", path="/home/dev/.litellm",
                  current=entry, mode=0o700)
    """
    if current.kind == "dir":
        if mode is None or current.mode == mode:
            host.noop(f"{path} exists")
        else:
            yield StringCommand("chmod", _mode_text(mode), shlex.quote(path))
        return
    mode_args = f"-m {_mode_text(mode)} " if mode is not None else ""
    yield f"mkdir -p {mode_args}{shlex.quote(path)}"


# listed PATH: PATH's directory has an entry spelled exactly as PATH's last part.
_LISTED = (
    'listed() { for e in "${1%/*}"/* "${1%/*}"/.[!.]*; do [ "$e" = "$1" ] && return 0; done; '
    "return 1; }; "
)
# runs_launcher NAME: NAME runs the launcher (its --help answers with the launcher's usage);
# else $why holds the first line of what it said.
_RUNS_LAUNCHER = (
    'runs_launcher() { why=$("$1" --help 2>&1 </dev/null) && '
    'case $why in "Usage: openClaude"*) return 0 ;; esac; why=$(printf "%s\\n" "$why" | head -n 1); '
    "return 1; }; "
)


def _proof(path: str, resolved: str) -> str:
    """Shell proving both names run the launcher; else the launcher is put back from the copy
    ``$keep`` (when the link step broke it), the filesystem problem named, and exit 1."""
    directory = posixpath.dirname(path)
    broken = shlex.quote(
        f"openClaude: making {path} a link to {resolved} turned {resolved} into a link to itself: "
        f"the filesystem of {directory} treats both names as one file but reports two (a "
        "case-insensitive filesystem that gives each spelling its own inode). The launcher was "
        f"put back and runs as {resolved}; for a second name choose one that differs in more "
        "than case: --data launcher_alias=PATH.")
    return (
        f"{_RUNS_LAUNCHER}"
        'if runs_launcher "$target" && runs_launcher "$alias"; then rm -f "$keep"; '
        'elif [ -f "$keep" ] && { [ -L "$target" ] || [ ! -f "$target" ]; }; then '
        f'rm -f "$alias"; mv -f "$keep" "$target"; echo {broken} >&2; exit 1; '
        'else rm -f "$keep"; failed=$alias; runs_launcher "$target" || failed=$target; '
        'runs_launcher "$failed"; '
        'echo "openClaude: after this run $failed does not run the launcher ($why): check the '
        f'filesystem of {directory} (mounted noexec? no symbolic links?)" >&2; exit 1; fi'
    )


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
    quoted = (f"alias={shlex.quote(path)}; target={shlex.quote(resolved)}; "
              'keep="$target.$$.keep"; ')
    if current.link == target or (one_name and same_file and not current.link):
        if not launcher_changes:
            host.noop(f"{path} already points at {target}" if current.link == target
                      else f"{path} is {resolved} itself (a case-insensitive filesystem)")
            return
        yield f"{quoted}{_proof(path, resolved)}"
        return
    directory, name = posixpath.split(path)
    replaced = current.kind != "missing" and not current.link  # what the command backs up
    stale = backups_beyond(name, current.backups, backups_kept) if replaced else []
    if stale and state.is_executing:
        host.log_styled(f"openClaude: removing the oldest backups of {path} (keeping "
                        f"{backups_kept}): {', '.join(stale)}", fg="yellow", log_func=logger.warning)
    prune = "".join(f"rm -f {shlex.quote(f'{directory}/{backup}')}; " for backup in stale)
    # A copy of the launcher, for the proof to put back should the link step break it.
    replace = (
        'if [ -f "$target" ] && [ ! -L "$target" ]; then cp -p "$target" "$keep"; fi; '
        'if [ -e "$alias" ] && [ ! -L "$alias" ]; then '
        'mv "$alias" "$alias.$(date -u +%Y%m%dT%H%M%SZ).bak" && '
        f"echo {shlex.quote(f'openClaude: kept the previous {path} as a .bak beside it')}; "
        f"{prune}fi && "
        f'ln -sfn {shlex.quote(target)} "$alias"'
    )
    if not one_name:
        yield f"{quoted}{replace} && {{ {_proof(path, resolved)}; }}"
        return
    itself = shlex.quote(
        f"openClaude: {path} is {resolved} itself (a case-insensitive filesystem); no link needed")
    yield (
        f"{quoted}{_LISTED}"
        'if [ ! -L "$alias" ] && { [ "$alias" -ef "$target" ] || '
        '{ [ -e "$alias" ] && ! listed "$alias"; }; }; then '
        f"echo {itself}; else {replace}; fi && {{ {_proof(path, resolved)}; }}"
    )


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
    # ln refuses to replace a key another run made meanwhile: the first key stays.
    directory, name = posixpath.split(path)
    yield (
        f"{_remove_stale(directory, f'{name}.*.tmp')}umask 077 && tmp={quoted}.$$.tmp && "
        'printf "sk-%s\\n" "$(od -An -N32 -tx1 /dev/urandom | tr -d " \\n")" > "$tmp" && '
        f'{{ ln "$tmp" {quoted} 2>/dev/null || true; }} && rm -f "$tmp"'
    )
