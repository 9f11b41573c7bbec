"""Which of a file's timestamped backups (``PATH.<stamp>[.N].bak``) a run removes."""

from __future__ import annotations

import re

# PATH.<stamp>[.N].bak: the deploy's stamps end in Z (UTC), the launcher's have none.
_BACKUP_NAME = re.compile(r"\.(\d{8}T\d{6})Z?(?:\.(\d+))?\.bak")


def backups_beyond(name: str, backups, keep: int) -> list[str]:
    """Which of ``name``'s backups to remove when one more is added: all but the newest
    ``keep - 1`` existing ones, newest by (time, N), not by name (".1.bak" sorts before ".bak")."""
    ordered = []
    for backup in backups:
        match = backup.startswith(name) and _BACKUP_NAME.fullmatch(backup[len(name):])
        if match:
            ordered.append(((match.group(1), int(match.group(2) or 0)), backup))
    ordered.sort(reverse=True)
    return sorted(backup for _, backup in ordered[max(keep - 1, 0):])
