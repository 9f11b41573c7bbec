"""Another URL is another source: requirements that differ only in a URL's query, host or
scheme (or a git source's revision) are different sources, so the converged check
(operations/sources.py) reinstalls. The receipts are the real uv's, of installs from a wheel
served on loopback and from a local git repository."""

from __future__ import annotations

import os
import subprocess

import pytest

from operations.model.sources import installed_source, wanted_source
from tests.support.runs import BIN
from tests.litellm_sources import RELEASE_TAG


@pytest.fixture(scope="module")
def wheel_url(wheel_server, local_sources):
    """The served wheel's URL less its scheme (any query string serves the same file)."""
    return f"{wheel_server.removeprefix('http://')}/{local_sources['wheel'].name}"


def receipt_of(requirement: str, root, uv_cache) -> str:
    """uv's receipt after ``uv tool install requirement`` into a tool directory of its own."""
    env = {**os.environ, "UV_TOOL_DIR": str(root / "tools"), "UV_TOOL_BIN_DIR": str(root / "bin"),
           "UV_CACHE_DIR": str(uv_cache), "UV_NO_PROGRESS": "1"}
    done = subprocess.run([str(BIN / "uv"), "tool", "install", requirement], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return (root / "tools" / "litellm" / "uv-receipt.toml").read_text()


# installed, then another requirement differing from it only as named
DIFFERENCES = {
    "query": ("http://{url}?channel=stable", "http://{url}?channel=nightly"),
    "query-removed": ("http://{url}?channel=stable", "http://{url}"),
    "host": ("http://{url}", "http://{url_by_name}"),
    "scheme": ("http://{url}", "https://{url}"),
    "git-rev": ("git+file://{repo}@{tag}", "git+file://{repo}@main"),
    "git-scheme": ("git+file://{repo}@{tag}", "git+ssh://localhost{repo}@{tag}"),
}


@pytest.mark.parametrize("difference", DIFFERENCES)
def test_a_source_differing_only_in_its_url_is_another_source(difference, wheel_url, tmp_path,
                                                              uv_cache, litellm_sources):
    names = {"url": wheel_url, "url_by_name": wheel_url.replace("127.0.0.1", "localhost", 1),
             "repo": litellm_sources["release_repo"], "tag": RELEASE_TAG}
    installed, other = (f"litellm @ {form.format(**names)}" for form in DIFFERENCES[difference])
    receipt = receipt_of(installed, tmp_path, uv_cache)
    recorded = installed_source(receipt)

    assert recorded == wanted_source(installed), receipt  # converged: nothing to do
    assert recorded != wanted_source(other), receipt  # changed: reinstall
