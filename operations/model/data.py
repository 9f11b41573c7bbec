"""The deploy's data, read from pyinfra's ``host.data`` and checked once.

Every default lives in ``group_data/all.py``; this module only validates and
shapes it. A problem is reported per host (naming the key and the value), so one
host's bad group data fails that host alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

# Claude Code's model slots, named after the model family each serves, the highest first.
TIERS = ("fable", "opus", "sonnet", "haiku")
MODES = ("oauth", "bedrock")
SOURCES = ("release", "fork")
PROVIDERS = ("anthropic/", "bedrock/")
PATH_KEYS = (
    "litellm_config",
    "master_key_file",
    "proxy_log",
    "proxy_pid_file",
    "launcher",
    "launcher_alias",
    "claude_settings",
    "openclaude_dir",
    "launch_agent",
    "systemd_unit",
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
ANTHROPIC_HOSTS = ("api.anthropic.com",)


class DataError(ValueError):
    """Deploy data that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Tier:
    """One Claude Code model slot: the name it is pinned to (None: the model Claude Code itself
    asks for), where the proxy routes the family's names, its output cap."""

    slot: str
    name: str | None
    model: str
    output_limit: int | None
    context_window: int | None = None

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0]

    @property
    def upstream_id(self) -> str:
        """The id the upstream API sees: the model minus LiteLLM's provider route."""
        route, _, model_id = self.model.partition("/")
        if route == "bedrock" and model_id.startswith(("converse/", "invoke/")):
            model_id = model_id.split("/", 1)[1]
        return model_id


@dataclass(frozen=True)
class DeployData:
    """Everything one host's deploy needs, validated."""

    mode: str
    uv_requirement: str
    litellm_requirement: str
    port: int
    aws_region: str
    anthropic_api_base: str | None
    bedrock_runtime_endpoint: str | None
    health_timeout: int
    backups_kept: int
    lock_wait: int
    long_context: bool
    tiers: tuple[Tier, ...]
    paths: dict[str, str]
    # Subscription tier slot -> the Bedrock model that serves it when Anthropic refuses (opt-in).
    bedrock_fallbacks: dict[str, str] | None = None
    # Request field -> the keys of it Claude on Bedrock gets; the betas it gets.
    bedrock_claude_fields: dict[str, list[str]] | None = None
    bedrock_claude_betas: list[str] | None = None
    # Start the proxy at login with the user's service manager (operations/ops/login_agent.py).
    proxy_at_login: bool = False
    # Whether litellm_requirement is the plan's fork, and the branch its pin was taken from.
    fork: bool = False
    fork_branch: str | None = None

    def tier(self, slot: str) -> Tier:
        return next(tier for tier in self.tiers if tier.slot == slot)


def _positive_int(key: str, value, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        allowed = "a positive whole number" + (" or null" if optional else "")
        raise DataError(f"{key}: expected {allowed}, got {value!r}")
    return value


def _text(key: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{key}: expected a non-empty string, got {value!r}")
    return value.strip()


def _pinned_name(key: str, value) -> str | None:
    """A slot's pinned model name, None when Claude Code's own model is wanted."""
    if value is None or value == "":
        return None
    name = _text(key, value)
    if "*" in name:
        raise DataError(f"{key}: expected a model name without '*', got {value!r}")
    return name


def _url(key: str, value) -> str | None:
    if value is None:
        return None
    parts = urlsplit(_text(key, value))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DataError(f"{key}: expected an http(s) URL or null, got {value!r}")
    return value.strip().rstrip("/")


def _relative_path(key: str, value) -> str:
    path = PurePosixPath(_text(key, value))
    if path.is_absolute() or ".." in path.parts:
        raise DataError(
            f"{key}: expected a path relative to the user's home without '..', got {value!r}"
        )
    return str(path)


def _get(data, key: str):
    value = data.get(key)
    if value is None and key not in _NULLABLE:
        raise DataError(f"{key}: missing from the deploy data (see group_data/all.py)")
    return value


_NULLABLE = {
    "anthropic_api_base",
    "bedrock_runtime_endpoint",
    *(f"{slot}_output_limit" for slot in TIERS),
    *(f"{slot}_context_window" for slot in TIERS),
    *(f"{slot}_model_name" for slot in TIERS),
}


def load_data(data, mode: str) -> DeployData:
    """Check and shape the deploy data for ``mode``; raise DataError naming the bad key."""
    if mode not in MODES:
        raise DataError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    source = _get(data, "litellm_source")
    if source not in SOURCES:
        raise DataError(f"litellm_source: expected 'release' or 'fork', got {source!r}")
    # The all-Bedrock state always runs the official release: the fork leaks OAuth to Bedrock.
    requirement_key = "litellm_fork" if mode == "oauth" and source == "fork" else "litellm_release"

    port = _positive_int("litellm_port", _get(data, "litellm_port"))
    if port > 65535:
        raise DataError(f"litellm_port: expected a TCP port (1-65535), got {port!r}")
    long_context = _get(data, "long_context")
    if not isinstance(long_context, bool):
        raise DataError(f"long_context: expected true or false, got {long_context!r}")

    tiers = []
    for slot in TIERS:
        model = _text(f"{mode}_{slot}_model", _get(data, f"{mode}_{slot}_model"))
        if not model.startswith(PROVIDERS):
            raise DataError(
                f"{mode}_{slot}_model: expected a LiteLLM model starting with "
                f"'anthropic/' or 'bedrock/', got {model!r}"
            )
        tiers.append(
            Tier(
                slot=slot,
                name=_pinned_name(f"{slot}_model_name", data.get(f"{slot}_model_name")),
                model=model,
                output_limit=_positive_int(
                    f"{slot}_output_limit", data.get(f"{slot}_output_limit"), optional=True
                ),
                context_window=_positive_int(
                    f"{slot}_context_window", data.get(f"{slot}_context_window"), optional=True
                ),
            )
        )
    names = [tier.name for tier in tiers if tier.name]
    if len(set(names)) != len(names):
        raise DataError(f"*_model_name: the pinned tiers need distinct names, got {names}")
    proxy_at_login = data.get("proxy_at_login", False)
    if not isinstance(proxy_at_login, bool):
        raise DataError(f"proxy_at_login: expected true or false, got {proxy_at_login!r}")
    fallback = data.get("fallback_to_bedrock", False)
    if not isinstance(fallback, bool):
        raise DataError(f"fallback_to_bedrock: expected true or false, got {fallback!r}")
    bedrock_fallbacks = None
    if fallback and mode == "oauth":
        bedrock_fallbacks = {}
        for tier in tiers:
            if tier.provider == "anthropic":
                key = f"bedrock_{tier.slot}_model"
                bedrock_fallbacks[tier.slot] = _text(key, _get(data, key))
                if not bedrock_fallbacks[tier.slot].startswith("bedrock/"):
                    raise DataError(f"{key}: expected a model starting with 'bedrock/', "
                                    f"got {bedrock_fallbacks[tier.slot]!r}")

    return DeployData(
        mode=mode,
        uv_requirement=_text("uv_requirement", _get(data, "uv_requirement")),
        litellm_requirement=_text(requirement_key, _get(data, requirement_key)),
        port=port,
        aws_region=_text("aws_region", _get(data, "aws_region")),
        anthropic_api_base=_url("anthropic_api_base", data.get("anthropic_api_base")),
        bedrock_runtime_endpoint=_url(
            "bedrock_runtime_endpoint", data.get("bedrock_runtime_endpoint")
        ),
        health_timeout=_positive_int("proxy_health_timeout", _get(data, "proxy_health_timeout")),
        backups_kept=_positive_int("backups_kept", _get(data, "backups_kept")),
        lock_wait=_positive_int("lock_wait", _get(data, "lock_wait")),
        long_context=long_context,
        tiers=tuple(tiers),
        paths={key: _relative_path(key, _get(data, key)) for key in PATH_KEYS},
        bedrock_fallbacks=bedrock_fallbacks,
        bedrock_claude_fields=_fields_rule("bedrock_claude_fields", data.get("bedrock_claude_fields")),
        bedrock_claude_betas=_names("bedrock_claude_betas", data.get("bedrock_claude_betas")),
        proxy_at_login=proxy_at_login,
        fork=requirement_key == "litellm_fork",
        fork_branch=data.get("litellm_fork_branch"),
    )


def _names(key: str, value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise DataError(f"{key}: expected a list of names, got {value!r}")
    return list(value)


def _fields_rule(key: str, value) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DataError(f"{key}: expected {{field: [kept keys]}}, got {value!r}")
    return {str(field): _names(f"{key}.{field}", keys) for field, keys in value.items()}


def token_leak_warning(data: DeployData) -> str | None:
    """OAuth mode forwards the user's token to ``anthropic_api_base``: warn unless it is safe."""
    if data.mode != "oauth" or not data.anthropic_api_base:
        return None
    if not any(tier.provider == "anthropic" for tier in data.tiers):
        return None
    hostname = urlsplit(data.anthropic_api_base).hostname
    if hostname in ANTHROPIC_HOSTS or hostname in LOOPBACK_HOSTS:
        return None
    return (
        f"anthropic_api_base is {data.anthropic_api_base}: LiteLLM forwards the Claude plan "
        "OAuth token to that host (LiteLLM issue #42172). Use it only if you trust it with "
        "your subscription token."
    )
