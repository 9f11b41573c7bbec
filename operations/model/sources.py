"""Which source a uv tool came from: the wanted requirement and uv's receipt, in one shape.

pyinfra's ``uv.tools`` compares names and versions only, so a fork and the official
release (both "litellm") look the same to it. These functions compare the source.

uv records a local source by its normalised path (``directory = "/srv/litellm"``, ``path =
".../litellm.whl"``, ``editable = ...``) where the requirement said ``file:///srv/litellm/``,
and drops a URL's hash fragment: both sides are reduced to the same normalised form here.
"""

from __future__ import annotations

import posixpath
import sys
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

TOOL = "litellm"
PROXY_EXTRA = "proxy"
EDITABLE_PREFIXES = ("-e ", "--editable ", "--editable=")


@dataclass(frozen=True)
class Source:
    """A tool requirement reduced to what decides what gets installed."""

    name: str
    extras: frozenset = frozenset()
    specifier: SpecifierSet = SpecifierSet()
    git: str | None = None
    rev: str | None = None
    url: str | None = None  # a local source as ``file://`` + its normalised path
    subdirectory: str | None = None
    editable: bool = False

    def describe(self) -> str:
        """The source as a requirement reads, e.g. ``litellm[proxy] @ git+file:///srv/litellm@main``."""
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        if self.git:
            where = f"git+{self.git}" + (f"@{self.rev}" if self.rev else "")
        elif self.url:
            where = self.url
        else:
            return f"{self.name}{extras}{self.specifier}"
        subdirectory = f"#subdirectory={self.subdirectory}" if self.subdirectory else ""
        return f"{'-e ' if self.editable else ''}{self.name}{extras} @ {where}{subdirectory}"


def _editable(requirement: str) -> tuple[bool, str]:
    """``-e /srv/litellm`` -> (True, ``/srv/litellm``): uv's ``--editable`` flag, as data."""
    for prefix in EDITABLE_PREFIXES:
        if requirement.startswith(prefix):
            return True, requirement[len(prefix):].strip()
    return False, requirement


def uv_requirement(requirement: str) -> str:
    """The requirement as uv gets it: a bare URL or absolute path becomes ``litellm[proxy] @ URL``."""
    requirement = _editable(requirement.strip())[1]
    if requirement.startswith("/"):
        return f"{TOOL}[{PROXY_EXTRA}] @ file://{quote(requirement)}"
    if "://" in requirement.split("@", 1)[0] or requirement.startswith("git+"):
        return f"{TOOL}[{PROXY_EXTRA}] @ {requirement}"
    return requirement


def uv_install_args(requirement: str) -> list[str]:
    """The ``uv tool install`` arguments that install ``requirement`` (``--editable`` included)."""
    editable, _ = _editable(requirement.strip())
    return [*(["--editable"] if editable else []), uv_requirement(requirement)]


def _local_path(path: str) -> str:
    """A path as uv records it: percent-decoded, no ``.``/``..``/trailing slash."""
    return posixpath.normpath(unquote(path)) if path else "/"


def _normalised_url(url: str) -> tuple[str, str | None]:
    """(URL, subdirectory): local paths as ``file://PATH``, no hash fragment (uv drops it)."""
    parts = urlsplit(url)
    subdirectory = parse_qs(parts.fragment).get("subdirectory", [None])[0]
    if parts.scheme in ("", "file"):
        return f"file://{_local_path(parts.path)}", subdirectory
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, "")), subdirectory


def _normalised_git(url: str) -> str:
    """A git URL without query and fragment; a local repository's path normalised."""
    parts = urlsplit(url)
    path = _local_path(parts.path) if parts.scheme == "file" else parts.path
    netloc = "" if parts.scheme == "file" else parts.netloc
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _split_git(url: str) -> tuple[str, str | None, str | None]:
    """``git+https://host/repo.git@ref#subdirectory=x`` -> (``https://host/repo.git``, ref, x)."""
    parts = urlsplit(url.removeprefix("git+"))
    path, rev = parts.path, None
    if "@" in path:
        path, rev = path.rsplit("@", 1)
    subdirectory = parse_qs(parts.fragment).get("subdirectory", [None])[0]
    return _normalised_git(urlunsplit((parts.scheme, parts.netloc, path, "", ""))), rev, subdirectory


def wanted_source(requirement: str) -> Source:
    """Parse a uv requirement; raise ValueError with the reason when it is not one."""
    editable, _ = _editable(requirement.strip())
    try:
        parsed = Requirement(uv_requirement(requirement))
    except InvalidRequirement as error:
        raise ValueError(f"not a valid requirement: {error}") from None
    name, extras = parsed.name.lower(), frozenset(parsed.extras)
    if editable and not (parsed.url or "").startswith("file:"):
        raise ValueError("an editable install (-e) needs a local directory")
    if parsed.url and parsed.url.startswith("git+"):
        git, rev, subdirectory = _split_git(parsed.url)
        return Source(name, extras, git=git, rev=rev, subdirectory=subdirectory)
    if parsed.url:
        url, subdirectory = _normalised_url(parsed.url)
        return Source(name, extras, url=url, subdirectory=subdirectory, editable=editable)
    return Source(name, extras, specifier=parsed.specifier)


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
            query = parse_qs(urlsplit(entry["git"]).query)
            rev = query.get("rev", [None])[0]
            subdirectory = query.get("subdirectory", [None])[0]
            return Source(tool, extras, git=_normalised_git(entry["git"]), rev=rev,
                          subdirectory=subdirectory)
        for key in ("editable", "directory", "path"):
            if key in entry:
                return Source(tool, extras, url=f"file://{_local_path(entry[key])}",
                              subdirectory=entry.get("subdirectory"),
                              editable=key == "editable")
        if "url" in entry:
            url, subdirectory = _normalised_url(entry["url"])
            return Source(tool, extras, url=url,
                          subdirectory=entry.get("subdirectory") or subdirectory)
        return Source(tool, extras, specifier=SpecifierSet(entry.get("specifier", "")))
    return None


def entrypoint_path(receipt: str | None, name: str = TOOL) -> str | None:
    """Where uv installed the tool's ``name`` executable, as its receipt records; None when not."""
    try:
        entrypoints = tomllib.loads(receipt or "")["tool"]["entrypoints"]
    except (tomllib.TOMLDecodeError, KeyError, TypeError):
        return None
    for entry in entrypoints:
        if isinstance(entry, dict) and entry.get("name") == name and entry.get("install-path"):
            return entry["install-path"]
    return None
