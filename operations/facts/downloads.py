"""Files the deploy and verify must read, fetched from the target by one command sent with
pyinfra's printing off: never as a fact, whose output pyinfra prints at -vv, as the user's
settings hold tokens and keys. (One command, not pyinfra's ``get_file``: over SSH that opens an
SFTP session, about seven round trips, where a command costs two.)"""

from __future__ import annotations

import base64
import binascii
import dataclasses

from pyinfra import host, state
from pyinfra.api import StringCommand
from pyinfra.api.arguments import CONNECTOR_ARGUMENT_KEYS, pop_global_arguments

from operations.facts.host import Entry
from operations.sh import call


class DownloadError(Exception):
    """Files the fact found could not be read."""


def downloaded(paths) -> dict:
    """``{path: bytes}`` of the readable files among ``paths`` (absolute) on the target."""
    if not paths:
        return {}
    # As pyinfra runs a fact's command (its shell, sudo, env), but printing nothing.
    arguments, _ = pop_global_arguments(state, host, dict(host.current_op_global_arguments or {}))
    status, output = host.run_shell_command(
        StringCommand(call("private_files", "print_files", *paths)),
        print_output=False, print_input=False,
        **{key: value for key, value in arguments.items() if key in CONNECTOR_ARGUMENT_KEYS})
    if not status:
        raise DownloadError(f"{', '.join(paths)}: could not be read")
    found = {}
    for line in output.stdout_lines:
        field, _, rest = line.partition("\t")
        path, _, encoded = rest.rpartition("\t")
        if field == "file" and path:
            try:
                found[path] = base64.b64decode(encoded)
            except binascii.Error as error:
                raise DownloadError(f"{path}: could not be read ({error})") from error
    return found


def with_contents(entries: dict, home: str, paths) -> None:
    """Fill in, in the fact's ``entries``, the bytes of the home-relative ``paths`` that the fact
    found to be files; a file that could not be read raises ``DownloadError``."""
    files = [path for path in paths if entries[path].kind == "file"]
    contents = downloaded([f"{home}/{path}" for path in files])
    for path in files:
        if f"{home}/{path}" not in contents:
            raise DownloadError(f"{home}/{path}: could not be read")
        entries[path] = dataclasses.replace(entries[path], content=contents[f"{home}/{path}"])
