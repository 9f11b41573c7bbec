"""What openClaude trusts of LiteLLM's supply chain, as one table, and the lock it installs from.

The lock (``files/litellm-<version>.lock``) pins every distribution of the official release's
tool environment by version and sha256, for every Python and platform the release supports
(``uv pip compile --universal``). It is chosen by the release's exact pin; any other
``litellm_release`` is installed unlocked (and the deploy says so).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from operations.model.sources import PROXY_EXTRA, TOOL, uv_requirement, wanted_source

FILES = Path(__file__).resolve().parents[2] / "files"

# Releases of LiteLLM published compromised on the package registry (2026).
COMPROMISED_VERSIONS = {
    "1.82.7": "March 2026: litellm_init.pth stole SSH, cloud and environment secrets",
    "1.82.8": "March 2026: litellm_init.pth stole SSH, cloud and environment secrets",
    "1.107.0": "2026-10-21: cook.pth, cook.py and sitecustomize.py sent credentials out",
}
# Files those releases left in the tool environment (LiteLLM's own releases ship none of them).
INDICATOR_FILES = ("cook.pth", "cook.py", "litellm_init.pth", "sitecustomize.py")
# The 1.107.0 payload's detached daemon holds this lock while it runs.
DAEMON_LOCK = "/tmp/remote_code_loader.lock"
# What the incident reports asked users to do.
INCIDENT_STEPS = (
    "treat this machine's credentials as taken: stop any litellm process, remove the tool "
    "environment (uv tool uninstall litellm; do not start it, nor pip, from it), rotate every "
    "credential it could read (AWS keys and SSO sessions, SSH keys, cloud and API tokens, the "
    "Claude sign-in: /login again), then re-run deploy.py"
)

# The fork of the plan (PR #19912's branch, LiteLLM ~1.81.4) against what the releases fixed.
FORK_ADVISORIES = (
    "GHSA-jjhc-v7c2-5hh6",
    "GHSA-69x8-hrgq-fjj8",
    "CVE-2026-42271 (on CISA's known-exploited list)",
    "PR #37905 (before 1.99.0 the client's OAuth token goes to Bedrock)",
)
FORK_WARNING = (
    "litellm_source=fork installs {requirement} (branch {branch}), LiteLLM ~1.81.4: it lacks the "
    "fixes for " + ", ".join(FORK_ADVISORIES) + ". The official release has carried the fork's "
    "change (PR #19912) since 1.81.14: --data litellm_source=release installs the locked release."
)
FORK_UNPINNED = (
    "litellm_fork names no commit ({ref!r} can move between two deploys): set it to the commit "
    "you reviewed, git+https://...@<40 hex digits>."
)

UNLOCKED = (
    "litellm_release {requirement!r} has no lock ({locks} in the repository): it installs "
    "unlocked, its dependencies resolved afresh and checked against no hash"
)
# verify.py's line for the fork.
FORK_HOLES = (
    "the plan's fork (LiteLLM ~1.81.4) lacks the fixes for " + ", ".join(FORK_ADVISORIES)
    + "; the official release has its change since 1.81.14"
)

LOCK_NAME = "litellm-{version}.lock"
# How the lock is made: one command, run from the repository (docs/safety.md, "Supply chain").
LOCK_COMMAND = (
    "echo 'litellm[proxy]=={version}' | uv pip compile - --universal --python-version 3.10 "
    "--generate-hashes -o files/litellm-{version}.lock"
)
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Pin:
    """One line of the lock: a distribution, its version and where it applies."""

    name: str
    version: str
    marker: Marker | None = None

    def applies(self, environment: dict) -> bool:
        return self.marker is None or self.marker.evaluate(environment)


class LockError(ValueError):
    """A lock file that is not one distribution per line, pinned with ``==`` and hashed."""


def release_version(requirement: str) -> str | None:
    """``litellm[proxy]==1.108.7`` -> ``1.108.7``; None for anything else (URL, range, extras)."""
    try:
        parsed = Requirement(uv_requirement(requirement))
    except InvalidRequirement:
        return None
    if parsed.url or canonicalize_name(parsed.name) != TOOL or set(parsed.extras) != {PROXY_EXTRA}:
        return None
    specifiers = list(parsed.specifier)
    if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
        return None
    return specifiers[0].version


def lock_path(requirement: str, files: Path = FILES) -> Path | None:
    """The lock shipped for this exact release pin, or None (installed unlocked)."""
    version = release_version(requirement)
    if version is None:
        return None
    path = files / LOCK_NAME.format(version=version)
    return path if path.is_file() else None


def read_lock(text: str, source: str) -> list[Pin]:
    """The lock's pins; LockError naming ``source`` and the line when one is not pinned+hashed."""
    pins = []
    # Continuation lines ("\\" + newline) join a requirement with its hashes.
    for line in text.replace("\\\n", " ").splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        hashes = [w for w in words if w.startswith("--hash=sha256:")]
        requirement = " ".join(w for w in words if not w.startswith("--hash="))
        try:
            parsed = Requirement(requirement)
        except InvalidRequirement as error:
            raise LockError(f"{source}: {requirement!r} is not a requirement ({error})") from None
        specifiers = list(parsed.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==" or not hashes:
            raise LockError(f"{source}: {parsed.name} is not pinned with == and a sha256 hash")
        pins.append(Pin(canonicalize_name(parsed.name), specifiers[0].version, parsed.marker))
    return pins


def locked_set(pins: list[Pin], environment: dict) -> dict[str, str]:
    """``{distribution: version}`` the lock installs on a Python with these marker values."""
    return {pin.name: pin.version for pin in pins if pin.applies(environment)}


def lock_constraints(pins: list[Pin]) -> frozenset:
    """The lock as uv's receipt records the constraints it was installed with."""
    return frozenset((pin.name, f"=={pin.version}", str(pin.marker or "")) for pin in pins)


def receipt_constraints(receipt: str | None) -> frozenset:
    """The constraints uv's receipt says the tool was installed with (empty: none, or unreadable)."""
    try:
        entries = tomllib.loads(receipt or "")["tool"].get("constraints", [])
        return frozenset(
            (canonicalize_name(entry["name"]), entry.get("specifier", ""),
             str(Marker(entry["marker"])) if entry.get("marker") else "")
            for entry in entries
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, InvalidMarker):
        return frozenset()


def set_differences(installed: dict[str, str], locked: dict[str, str]) -> list[str]:
    """What the installed distributions have that the lock does not say, one phrase each."""
    found = []
    for name in sorted(set(installed) | set(locked)):
        have, want = installed.get(name), locked.get(name)
        if have == want:
            continue
        if have is None:
            found.append(f"{name} {want} missing")
        elif want is None:
            found.append(f"{name} {have} not in the lock")
        else:
            found.append(f"{name} {have} (locked {want})")
    return found


def compromised_problem(requirement: str) -> str | None:
    """Why the deploy refuses ``requirement``: it names or allows a compromised release."""
    version = release_version(requirement)
    try:
        parsed = Requirement(uv_requirement(requirement))
    except InvalidRequirement:
        return None
    if canonicalize_name(parsed.name) != TOOL:
        return None
    if parsed.url:
        # A wheel's file name carries its version; a directory or git ref says nothing yet.
        match = re.search(r"/litellm-([^-/]+)-[^/]*\.whl", parsed.url)
        candidates = [match.group(1)] if match else []
    else:
        candidates = [v for v in COMPROMISED_VERSIONS if parsed.specifier.contains(v, prereleases=True)]
        if version is None and candidates:
            allowed = ", ".join(candidates)
            return (f"LiteLLM requirement {requirement!r} allows the compromised release(s) "
                    f"{allowed}; pin a reviewed version (the default litellm_release is locked)")
    for candidate in candidates:
        if candidate in COMPROMISED_VERSIONS:
            return (f"LiteLLM {candidate} is a compromised release ({COMPROMISED_VERSIONS[candidate]}); "
                    "it is never installed, whatever the data says: set litellm_release to a "
                    "reviewed version")
    return None


def dist_info_version(name: str) -> tuple[str, str] | None:
    """``zipp-4.1.2.dist-info`` -> (``zipp``, ``4.1.2``)."""
    match = re.fullmatch(r"(.+?)-([^-]+)\.dist-info", name)
    if not match:
        return None
    try:
        return canonicalize_name(match.group(1)), str(Version(match.group(2)))
    except InvalidVersion:
        return canonicalize_name(match.group(1)), match.group(2)


def indicator_findings(indicators: list[str], dists: list[str]) -> list[str]:
    """The compromise indicators among a tool environment's files (``LitellmEnvironment``) and
    distributions (``*.dist-info`` paths), each naming its path."""
    found = [f"{path} (the 1.107.0 payload's daemon)" if path == DAEMON_LOCK else path
             for path in indicators]
    for path in dists:
        parsed = dist_info_version(path.rsplit("/", 1)[-1])
        if parsed and parsed[0] == TOOL and parsed[1] in COMPROMISED_VERSIONS:
            found.append(f"{path} (compromised release {parsed[1]})")
    return found


def installed_set(dists: list[str]) -> dict[str, str]:
    """``{distribution: version}`` from ``*.dist-info`` paths."""
    return dict(filter(None, (dist_info_version(path.rsplit("/", 1)[-1]) for path in dists)))


def supply_problems(requirement: str, files: Path = FILES) -> list[str]:
    """What stops the deploy: a compromised release, or a lock that is not the release's."""
    problem = compromised_problem(requirement)
    if problem:
        return [problem]
    lock = lock_path(requirement, files)
    if lock is None:
        return []
    version = release_version(requirement)
    regenerate = f"regenerate it: {LOCK_COMMAND.format(version=version)}"
    try:
        pins = read_lock(lock.read_text(), f"files/{lock.name}")
    except LockError as error:
        return [f"{error}; {regenerate}"]
    pinned = sorted(pin.version for pin in pins if pin.name == TOOL)
    if pinned != [version]:
        return [f"files/{lock.name} pins litellm {', '.join(pinned) or 'nowhere'}, not {version}; "
                f"{regenerate}"]
    return []


def supply_warnings(requirement: str, *, fork: bool, fork_branch: str | None,
                    files: Path = FILES) -> list[str]:
    """What the deploy says once per run about the LiteLLM it installs."""
    if fork:
        warnings = [FORK_WARNING.format(requirement=requirement, branch=fork_branch or "unknown")]
        if not fork_is_pinned(requirement):
            warnings.append(FORK_UNPINNED.format(ref=wanted_source(requirement).rev or "no ref"))
        return warnings
    if lock_path(requirement, files) is None:
        locks = ", ".join(f"files/{path.name}" for path in sorted(files.glob("litellm-*.lock")))
        return [UNLOCKED.format(requirement=requirement, locks=locks or "none")]
    return []


def fork_is_pinned(requirement: str) -> bool:
    """Whether a git requirement names a full commit (a branch or tag can move)."""
    try:
        rev = wanted_source(requirement).rev
    except ValueError:
        return False
    return bool(rev and _COMMIT.fullmatch(rev))


# Prints the PEP 508 marker values of the Python running it (packaging's default_environment),
# so the lock's markers are evaluated as uv evaluated them for that environment.
MARKER_READER = (
    "import json, os, platform, sys; i = sys.implementation; v = i.version; "
    "iv = '%d.%d.%d' % v[:3] + ('' if v.releaselevel == 'final' else v.releaselevel[0] + str(v.serial)); "
    "print(json.dumps({'implementation_name': i.name, 'implementation_version': iv, "
    "'os_name': os.name, 'platform_machine': platform.machine(), "
    "'platform_release': platform.release(), 'platform_system': platform.system(), "
    "'platform_version': platform.version(), 'python_full_version': platform.python_version(), "
    "'platform_python_implementation': platform.python_implementation(), "
    "'python_version': '.'.join(platform.python_version_tuple()[:2]), "
    "'sys_platform': sys.platform}))"
)
