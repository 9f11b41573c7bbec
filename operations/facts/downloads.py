"""Files the deploy and verify must read, downloaded from the target (a copy @local, SFTP over
SSH): never through a fact's or command's output, which pyinfra prints at -vv, as the user's
settings hold tokens and keys."""

from __future__ import annotations

import dataclasses
from io import BytesIO

from pyinfra import host

from operations.facts.host import Entry


class DownloadError(Exception):
    """A file the fact found could not be downloaded."""


def downloaded(path: str) -> bytes:
    """The bytes of the file at ``path`` (absolute) on the target."""
    buffer = BytesIO()
    try:
        if host.get_file(path, buffer) is False:
            raise DownloadError(f"{path}: could not be read")
    except OSError as error:
        raise DownloadError(f"{path}: could not be read ({error})") from error
    return buffer.getvalue()


def with_content(entry: Entry, path: str) -> Entry:
    """``entry`` with the bytes of the file at ``path`` when the fact found a file there."""
    if entry.kind != "file":
        return entry
    return dataclasses.replace(entry, content=downloaded(path))
