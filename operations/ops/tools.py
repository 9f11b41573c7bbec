"""Operations for the tools openClaude runs on: uv, and LiteLLM as a uv tool from a chosen source."""

from __future__ import annotations

import shlex
import uuid
from io import BytesIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import FileUploadCommand, operation

from operations.model.sources import installed_source, uv_install_args, wanted_source
from operations.model.supply_chain import lock_constraints, read_lock, receipt_constraints
from operations.sh import call, load

UV_HOME_DIR = ".local/share/openclaude/uv"
_MAC_INSTALL_UV = (
    "Install uv for this user (brew install uv, or uv's standalone installer, which puts it in "
    "~/.local/bin), or the Command Line Tools for python3 and pip (xcode-select --install)"
)


def _uv_path(facts: dict) -> str:
    """uv as found by the fact, else where ``uv_installed`` puts it."""
    return facts.get("uv") or f"{facts['home']}/.local/bin/uv"


@operation()
def uv_installed(requirement: str = "uv", *, facts: dict):
    """
    Ensure ``uv`` is available to the target user, installing it from PyPI without sudo.

    Found on PATH or where installers put it (``UV_DIRS``: ``~/.local/bin``, ``~/.cargo/bin``,
    Homebrew's; a non-interactive shell's PATH often lacks them). Otherwise pip installs the
    ``uv`` wheel into ``~/.local/share/openclaude/uv`` and ``~/.local/bin/uv`` links to it. On a
    Mac without the Command Line Tools, whose ``/usr/bin/python3`` is only an installer stub,
    it fails at once (running the stub would open a dialog) and says what to install.

    + requirement: pip requirement for uv. Default "uv".
    + facts: the ``OpenClaudeHost`` fact

    **Example:**

    .. code:: python

        uv_installed(name="uv is available", requirement="uv==0.13.9", facts=facts)
    """
    if facts.get("uv"):
        host.noop(f"uv found at {facts['uv']}")
        return
    if facts.get("python3_stub"):
        stub = (
            "openClaude: uv is not installed, and /usr/bin/python3 is macOS's placeholder that "
            "asks for the Command Line Tools, so uv cannot be installed with pip. "
            f"{_MAC_INSTALL_UV}, and re-run."
        )
        yield f"echo {shlex.quote(stub)} >&2; exit 1"
        return
    install_pip = (_MAC_INSTALL_UV if facts.get("os") == "Darwin" else
                   "Install uv for this user (~/.local/bin/uv), or pip for python3 "
                   "(Debian/Ubuntu: python3-pip) with access to a package index")
    failed = (
        f"openClaude: uv is not installed and could not be installed with 'python3 -m pip install "
        f"--target ~/{UV_HOME_DIR} {requirement}' (no sudo is used). {install_pip}, and re-run. "
        "pip said:"
    )
    yield call("tools", "install_uv", facts["home"], UV_HOME_DIR, requirement, failed)


@operation()
def litellm_installed(requirement: str, *, facts: dict, lock: Path | None = None):
    """
    Ensure LiteLLM is a uv tool installed from ``requirement`` (official release or fork), with
    exactly the distributions ``lock`` pins when there is one.

    Reads uv's receipt, not ``litellm --version`` (which takes ~18 s): same source and same
    lock pins -> nothing; otherwise installed, once. With a lock, every distribution it pins
    is first installed with ``--require-hashes`` into a throwaway environment (``uv tool
    install`` checks no hash), then the tool offline from what was checked, constrained by the
    lock. A replacing source is first installed into a staging tool directory, so a source that
    cannot be fetched, checked or built leaves the installed LiteLLM in place. Both compile
    bytecode, so the first proxy boot does not recompile LiteLLM (nor every boot, where
    ``PYTHONDONTWRITEBYTECODE`` is set).

    + requirement: a uv requirement, e.g. ``litellm[proxy]==1.108.7`` or ``git+https://...@ref``
    + facts: the ``OpenClaudeHost`` fact
    + lock: the lock file (``files/litellm-<version>.lock``), or None to install unlocked

    **Example:**

    .. code:: python

        litellm_installed(
            name="LiteLLM from the official release",
            requirement="litellm[proxy]==1.108.7",
            facts=facts,
            lock=Path("files/litellm-1.108.7.lock"),
        )
    """
    receipt = facts.get("receipt")
    pins = lock_constraints(read_lock(lock.read_text(), lock.name)) if lock else frozenset()
    if installed_source(receipt) == wanted_source(requirement) and receipt_constraints(receipt) == pins:
        host.noop(f"LiteLLM is installed from {requirement}" + (f" as {lock.name} pins" if lock else ""))
        return
    upload = ""
    if lock:
        # In the user's home, not a shared /tmp; the install removes it when it ends.
        upload = f"{facts['home']}/.openclaude-{lock.name}.{uuid.uuid4().hex}"
        yield FileUploadCommand(BytesIO(lock.read_bytes()), upload)
    arguments = [_uv_path(facts), upload, f"files/{lock.name}" if lock else "",
                 "1" if receipt else "0", requirement, *uv_install_args(requirement)]
    yield (f"sh -c {shlex.quote(load('litellm_install'))} litellm-install "
           + " ".join(shlex.quote(argument) for argument in arguments))
