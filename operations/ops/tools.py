"""Operations for the tools openClaude runs on: uv, and LiteLLM as a uv tool from a chosen source."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import operation

from operations.model.sources import installed_source, uv_install_args, wanted_source

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
    home = shlex.quote(facts["home"])
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
    yield (
        'log=$(mktemp "${TMPDIR:-/tmp}/openclaude-uv.XXXXXX") && trap \'rm -f "$log"\' EXIT && '
        f"if ! python3 -m pip install --quiet --disable-pip-version-check --upgrade "
        f'--target {home}/{UV_HOME_DIR} {shlex.quote(requirement)} > "$log" 2>&1; then '
        f'echo {shlex.quote(failed)} >&2; tail -n 5 "$log" >&2; exit 1; fi && '
        f"mkdir -p {home}/.local/bin && "
        f"ln -sfn {home}/{UV_HOME_DIR}/bin/uv {home}/.local/bin/uv && {home}/.local/bin/uv --version"
    )


@operation()
def litellm_installed(requirement: str, *, facts: dict):
    """
    Ensure LiteLLM is a uv tool installed from ``requirement`` (official release or fork).

    Reads uv's receipt, not ``litellm --version`` (which takes ~18 s): same source -> nothing;
    another source -> replaced; absent -> installed, once. A replacing source is first installed
    into a staging tool directory, so a source that cannot be fetched or built leaves the
    installed LiteLLM in place; the real install then runs from uv's warm cache. Both compile
    bytecode, so the first proxy boot does not recompile LiteLLM (nor every boot, where
    ``PYTHONDONTWRITEBYTECODE`` is set).

    + requirement: a uv requirement, e.g. ``litellm[proxy]==1.108.5`` or ``git+https://...@ref``
    + facts: the ``OpenClaudeHost`` fact

    **Example:**

    .. code:: python

        litellm_installed(
            name="LiteLLM from the official release",
            requirement="litellm[proxy]==1.108.5",
            facts=facts,
        )
    """
    installed = installed_source(facts.get("receipt"))
    if installed == wanted_source(requirement):
        host.noop(f"LiteLLM is installed from {requirement}")
        return
    uv = shlex.quote(_uv_path(facts))
    wanted = " ".join(shlex.quote(arg) for arg in uv_install_args(requirement))
    staging = (
        # Staging trees of killed runs (an EXIT trap does not run on SIGKILL), after an hour.
        'find "${TMPDIR:-/tmp}" -maxdepth 1 -type d -name "openclaude-litellm.*" -user "$(id -u)" '
        "-mmin +60 -exec rm -rf {} + 2>/dev/null; "
        'staging=$(mktemp -d "${TMPDIR:-/tmp}/openclaude-litellm.XXXXXX") && '
        "trap 'rm -rf \"$staging\"' EXIT && "
    )
    failed = (
        f"echo {shlex.quote(f'openClaude: could not install LiteLLM from {requirement}; the installed LiteLLM (if any) was left in place. uv said:')} >&2; "
        'tail -n 15 "$staging/log" >&2; exit 1; fi'
    )
    if not facts.get("receipt"):
        # Nothing installed, so nothing to keep in place: one install, no staging install first.
        yield (
            f'{staging}if ! {uv} tool install --no-progress --force {wanted} --compile-bytecode '
            f'> "$staging/log" 2>&1; then {failed}'
        )
        return
    yield (
        f"{staging}"
        f'if ! UV_TOOL_DIR="$staging/tools" UV_TOOL_BIN_DIR="$staging/bin" '
        f'{uv} tool install --no-progress {wanted} --compile-bytecode > "$staging/log" 2>&1; then {failed} && '
        'rm -rf "$staging" && '
        f"{uv} tool install --no-progress --force {wanted} --compile-bytecode"
    )
