"""Reading what may hold secrets: a fact asked to read files whole, and the old text of a file
for ``--diff``, run as pyinfra runs a fact's command (its shell, sudo, environment) but with its
printing off. At -vv pyinfra prints every fact's output, and the user's settings hold tokens
and keys. (One command, not pyinfra's ``get_file``: over SSH that opens an SFTP session, about
seven round trips, where a command costs two; the deploy's fact reads the user's settings in the
command it runs anyway.)"""

from __future__ import annotations

import base64
import binascii

from pyinfra import host, state
from pyinfra.api import StringCommand
from pyinfra.api.arguments import CONNECTOR_ARGUMENT_KEYS, pop_global_arguments

from operations.sh import call


class UnprintedReadError(Exception):
    """The target could not be read."""


def read_unprinted(fact_class, **arguments):
    """``fact_class``'s fact on this host with ``arguments``, its command and output unprinted."""
    fact = fact_class()
    return fact.process(_unprinted_lines(fact.command(**arguments), fact_class.__name__))


def downloaded(paths) -> dict:
    """``{path: bytes}`` of the readable files among ``paths`` (absolute) on the target."""
    return printed_files(_unprinted_lines(call("private_files", "print_files", *paths), "files"))


def printed_files(lines) -> dict:
    """``{path: bytes}`` of the files ``print_files`` (``operations/sh/private_files.sh``) printed
    among ``lines``."""
    found = {}
    for line in lines:
        field, _, rest = line.partition("\t")
        path, _, encoded = rest.rpartition("\t")
        if field == "file" and path:
            try:
                found[path] = base64.b64decode(encoded)
            except binascii.Error as error:
                raise UnprintedReadError(f"{path}: could not be read ({error})") from error
    return found


def _unprinted_lines(command: str, what: str) -> list[str]:
    if not host.connected:
        host.connect(reason=f"to read {what}", raise_exceptions=True)
    arguments, _ = pop_global_arguments(state, host, dict(host.current_op_global_arguments or {}))
    status, output = host.run_shell_command(
        StringCommand(command), print_output=False, print_input=False,
        **{key: value for key, value in arguments.items() if key in CONNECTOR_ARGUMENT_KEYS})
    if not status:
        said = output.stderr_lines[-1] if output.stderr_lines else "no output"
        raise UnprintedReadError(f"reading {what} on the target failed: {said}")
    return output.stdout_lines
