"""Local git repositories standing in for LiteLLM's sources: the fork's branch and a release tag.

Each is a tiny real package named ``litellm`` with a ``litellm`` executable and a bundled model
map, so uv installs it for real (``git+file://``) and uv's receipt records where it came from.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta
from pathlib import Path

FORK_BRANCH = "fix/anthropic-oauth-token-forwarding"
RELEASE_TAG = "v1.108.5"

# Relative to today, so the lifecycle cases stay "retiring soon" and "retired" whenever tests run.
RETIRING_SOON = (date.today() + timedelta(days=4)).isoformat()
RETIRED = (date.today() - timedelta(days=300)).isoformat()

MODEL_MAP = {
    "claude-opus-4-6": {"max_input_tokens": 1000000, "max_output_tokens": 128000, "deprecation_date": None},
    "claude-sonnet-4-6": {"max_input_tokens": 1000000, "max_output_tokens": 128000, "deprecation_date": None},
    "claude-sonnet-4-5-20250929": {"max_input_tokens": 200000, "max_output_tokens": 64000, "deprecation_date": RETIRING_SOON},
    "claude-3-opus-20240229": {"max_input_tokens": 200000, "max_output_tokens": 4096, "deprecation_date": RETIRED},
    "us.anthropic.claude-opus-4-6-v1": {"max_input_tokens": 1000000, "max_output_tokens": 128000, "deprecation_date": None},
    "us.anthropic.claude-sonnet-4-6": {"max_input_tokens": 1000000, "max_output_tokens": 64000, "deprecation_date": None},
    "qwen.qwen3-next-80b-a3b": {"max_input_tokens": 256000, "max_output_tokens": 8000, "deprecation_date": None},
}

PYPROJECT = """\
[project]
name = "litellm"
version = "{version}"
requires-python = ">=3.8"

# Like the real release's proxy extra, it brings botocore and pyyaml: the launcher's AWS
# helper (files/openclaude_aws.py) runs with this tool's Python.
[project.optional-dependencies]
proxy = ["botocore>=1.34", "pyyaml>=6"]

[project.scripts]
litellm = "litellm:main"

[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[tool.setuptools.package-data]
litellm = ["*.json"]
"""

MODULE = '''"""Stand-in LiteLLM ({flavour})."""


def main():
    print("litellm stand-in {flavour} {version}")
'''


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=tests@localhost", "-c", "user.name=tests", *args],
        cwd=repo, check=True, capture_output=True,
    )


def make_source(repo: Path, *, flavour: str, version: str) -> Path:
    package = repo / "litellm"
    package.mkdir(parents=True)
    (repo / "pyproject.toml").write_text(PYPROJECT.format(version=version))
    (package / "__init__.py").write_text(MODULE.format(flavour=flavour, version=version))
    (package / "model_prices_and_context_window_backup.json").write_text(json.dumps(MODEL_MAP))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", f"{flavour} {version}")
    return repo


def make_sources(root: Path) -> dict:
    """The fork (on its branch) and the release (at its tag), as uv requirements."""
    fork = make_source(root / "fork", flavour="fork", version="1.81.0")
    _git(fork, "branch", FORK_BRANCH)
    release = make_source(root / "release", flavour="release", version="1.108.5")
    _git(release, "tag", RELEASE_TAG)
    return {
        "fork": f"git+file://{fork}@{FORK_BRANCH}",
        "release": f"litellm[proxy] @ git+file://{release}@{RELEASE_TAG}",
        "fork_repo": fork,
        "release_repo": release,
    }


def make_local_sources(root: Path, uv: Path) -> dict:
    """A release checkout as a plain directory and as a wheel file, built by the real uv."""
    directory = make_source(root / "checkout", flavour="release", version="1.108.5")
    subprocess.run([str(uv), "build", "--wheel", "--out-dir", str(root / "wheels"), str(directory)],
                   check=True, capture_output=True)
    [wheel] = (root / "wheels").glob("litellm-*.whl")
    return {"directory": directory, "wheel": wheel}


# An in-tree PEP 517 backend (no download): its build either fails or stops at a marker file,
# as a source with a broken build, or an install killed while it builds.
UNBUILDABLE_BACKEND = '''"""Stand-in LiteLLM whose build {how}."""
import pathlib
import time


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    marker = {marker!r}
    if marker:
        pathlib.Path(marker).touch()
        time.sleep(600)
    raise RuntimeError("stand-in LiteLLM: this source fetches but does not build")
'''


def make_unbuildable_source(repo: Path, *, hang_marker: Path | None = None) -> str:
    """A git repository uv fetches but cannot build; with ``hang_marker``, its build touches
    that file and hangs (to be killed). Returns its requirement."""
    repo.mkdir(parents=True)
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "litellm"\nversion = "1.200.0"\n'
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n')
    how = "hangs" if hang_marker else "fails"
    (repo / "backend.py").write_text(UNBUILDABLE_BACKEND.format(
        how=how, marker=str(hang_marker) if hang_marker else ""))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", f"a build that {how}")
    return f"git+file://{repo}@main"
