"""Which source a uv tool came from: the wanted requirement and uv's receipt, in one shape.

pyinfra's ``uv.tools`` compares names and versions only, so a fork and the official
release (both "litellm") look the same to it. These functions compare the source.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

TOOL = "litellm"
PROXY_EXTRA = "proxy"


@dataclass(frozen=True)
class Source:
    """A tool requirement reduced to what decides what gets installed."""

    name: str
    extras: frozenset = frozenset()
    specifier: SpecifierSet = SpecifierSet()
    git: str | None = None
    rev: str | None = None
    url: str | None = None


def uv_requirement(requirement: str) -> str:
    """The requirement as uv gets it: a bare URL becomes ``litellm[proxy] @ URL``."""
    requirement = requirement.strip()
    if "://" in requirement.split("@", 1)[0] or requirement.startswith("git+"):
        return f"{TOOL}[{PROXY_EXTRA}] @ {requirement}"
    return requirement


def _split_git(url: str) -> tuple[str, str | None]:
    """``git+https://host/repo.git@ref`` -> (``https://host/repo.git``, ``ref``)."""
    parts = urlsplit(url.removeprefix("git+"))
    path, rev = parts.path, None
    if "@" in path:
        path, rev = path.rsplit("@", 1)
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")), rev


def wanted_source(requirement: str) -> Source:
    """Parse a uv requirement; raise ValueError with the reason when it is not one."""
    try:
        parsed = Requirement(uv_requirement(requirement))
    except InvalidRequirement as error:
        raise ValueError(f"not a valid requirement: {error}") from None
    source = Source(name=parsed.name.lower(), extras=frozenset(parsed.extras))
    if parsed.url and parsed.url.startswith("git+"):
        git, rev = _split_git(parsed.url)
        return Source(source.name, source.extras, git=git, rev=rev)
    if parsed.url:
        return Source(source.name, source.extras, url=parsed.url)
    return Source(source.name, source.extras, specifier=parsed.specifier)


def installed_source(receipt: str | None, tool: str = TOOL) -> Source | None:
    """The source recorded in uv's ``uv-receipt.toml``; None when absent or unreadable."""
    if not receipt:
        return None
    try:
        requirements = tomllib.loads(receipt)["tool"]["requirements"]
    except (tomllib.TOMLDecodeError, KeyError, TypeError):
        return None
    for entry in requirements:
        if entry.get("name", "").lower() != tool:
            continue
        extras = frozenset(entry.get("extras", ()))
        if "git" in entry:
            parts = urlsplit(entry["git"])
            rev = parse_qs(parts.query).get("rev", [None])[0]
            git = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            return Source(tool, extras, git=git, rev=rev and unquote(rev))
        if "url" in entry or "directory" in entry or "path" in entry:
            url = entry.get("url") or entry.get("directory") or entry.get("path")
            return Source(tool, extras, url=url)
        return Source(tool, extras, specifier=SpecifierSet(entry.get("specifier", "")))
    return None
