"""Shared fixtures: a sandbox HOME with real uv and local git stand-ins for LiteLLM's sources
(the helpers behind them are in tests/support)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading

import pytest

from tests.litellm_sources import make_local_sources, make_sources
from tests.sshfleet import make_ssh_fleet, ssh_fleet, ssh_fleet_module  # noqa: F401  (fixtures)
from tests.support.runs import BIN
from tests.support.sandbox import home_sandbox


@pytest.fixture(scope="session")
def litellm_sources(tmp_path_factory):
    return make_sources(tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="session")
def local_sources(tmp_path_factory):
    """LiteLLM's release as a local directory and a wheel file (``directory``, ``wheel``)."""
    return make_local_sources(tmp_path_factory.mktemp("local-sources"), BIN / "uv")


@pytest.fixture(scope="session")
def wheel_server(local_sources):
    """The wheel's directory over HTTP on loopback (a `url` source, as an internal index serves
    it); its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(local_sources["wheel"].parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory):
    """One uv cache for the session: sandboxes get fresh homes, not fresh downloads."""
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture
def sandbox(tmp_path, litellm_sources, uv_cache):
    home = tmp_path / "home"
    home.mkdir()
    return home_sandbox(home, litellm_sources, uv_cache)


@pytest.fixture
def uv_calls(sandbox, tmp_path):
    """Log every uv command the sandbox's runs make: a shim first on PATH, then the real uv.
    Returns a function giving the logged argument lines so far."""
    shim_dir = tmp_path / "uv-shim"
    shim_dir.mkdir()
    log = tmp_path / "uv-calls.log"
    shim = shim_dir / "uv"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {BIN / "uv"} "$@"\n')
    shim.chmod(0o755)
    sandbox.env["PATH"] = f"{shim_dir}{os.pathsep}{sandbox.env['PATH']}"
    return lambda: log.read_text().splitlines() if log.exists() else []


@pytest.fixture(scope="session")
def git_available():
    assert shutil.which("git"), "git is needed for the LiteLLM source stand-ins"
