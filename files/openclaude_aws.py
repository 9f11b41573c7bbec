"""The AWS identity the proxy signs Bedrock requests with: the one the user's Claude Code used.

Claude Code on Bedrock reads ``AWS_PROFILE``, ``AWS_REGION`` and the other ``AWS_*`` variables
from ``~/.claude/settings.json``'s ``env`` (over the shell's), runs ``awsAuthRefresh`` when its
credentials expire and takes credentials from ``awsCredentialExport``. In the openClaude state the
proxy signs instead, so the launcher runs this file (with the LiteLLM tool's Python, which ships
botocore) when the cheap inputs it watches change, and botocore resolves the same identity:

    python openclaude_aws.py resolve SETTINGS CONFIG EXPORT_CONFIG
        The proxy's AWS environment and identity, as lines for the launcher (see ``Identity``);
        runs awsAuthRefresh once when the credentials are missing or expired. Exit 1 with one
        message (naming the setting and the fix) when no usable credentials result.
    python openclaude_aws.py resolve-or-none SETTINGS CONFIG EXPORT_CONFIG
        The same, for a state whose subscription tiers need no AWS (OAuth): when no usable
        credentials result, one line says which Bedrock tiers cannot work and the fix, and the
        lines carry ``unavailable PROBLEM`` (the proxy's callback answers those tiers' requests
        with it at once) and an identity that is resolved again at every launch, so the first
        launch after the fix picks the credentials up.
    python openclaude_aws.py environment SETTINGS CONFIG EXPORT_CONFIG
        Only the proxy's environment lines and the region note, without botocore: for a start
        whose identity the launcher's last resolution still vouches for.
    python openclaude_aws.py check SETTINGS CONFIG EXPORT_CONFIG
        The same resolution as JSON, without refreshing or writing anything (verify.py).
    python openclaude_aws.py describe SETTINGS CONFIG EXPORT_CONFIG
        The same, as the lines ``openClaude --status`` shows when no proxy runs.
    python openclaude_aws.py credential-process SETTINGS
        botocore's ``credential_process``: runs awsCredentialExport and prints its credentials
        in the process format, so the proxy refreshes them itself before they expire.

Secrets never leave this process except to botocore or, as the proxy's environment, to the
launcher's stdout pipe: nothing here prints, logs or writes a key.
"""

from __future__ import annotations

import configparser
import datetime as dt
import hashlib
import io
import json
import os
import shlex
import subprocess
import sys
import tempfile

EXPORT_PROFILE = "openclaude-credential-export"
# The shell's keys would override a profile the settings name (in botocore and in LiteLLM alike).
STATIC_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
               "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION")
SECRET_NAMES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_BEARER_TOKEN_BEDROCK")
METHODS = {
    "env": "environment variables",
    "shared-credentials-file": "the shared credentials file",
    "config-file": "the AWS config file",
    "sso": "AWS SSO (IAM Identity Center), refreshed by the proxy",
    "assume-role": "an assumed role, refreshed by the proxy",
    "assume-role-with-web-identity": "web identity, refreshed by the proxy",
    "custom-process": "credential_process, refreshed by the proxy",
    "container-role": "the container role",
    "iam-role": "the instance role",
}
# Methods whose credentials the proxy's botocore renews by itself before they expire.
REFRESHABLE = {"sso", "assume-role", "assume-role-with-web-identity", "custom-process",
               "container-role", "iam-role"}


class IdentityError(Exception):
    """No usable AWS identity; the message names the setting and the one-line fix."""


class CredentialsUnavailable(IdentityError):
    """Missing or expired credentials: what awsAuthRefresh exists for."""


class SettingsUnusable(IdentityError):
    """The settings file itself cannot be used (the settings check reports it too)."""


def shown(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home):] if path.startswith(home + os.sep) else path


def read_settings(path: str) -> dict:
    """The user's Claude Code settings (missing or empty: ``{}``); the AWS keys checked."""
    try:
        with open(path, encoding="utf-8") as source:
            text = source.read()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsUnusable(f"{shown(path)}: cannot read: {error}") from None
    try:
        settings = json.loads(text) if text.strip() else {}
    except ValueError as error:
        raise SettingsUnusable(f"{shown(path)}: invalid JSON: {error}") from None
    if not isinstance(settings, dict) or not isinstance(settings.get("env", {}), dict):
        raise SettingsUnusable(f"{shown(path)}: expected an object with an \"env\" object")
    for key in ("awsAuthRefresh", "awsCredentialExport"):
        if key in settings and not (isinstance(settings[key], str) and settings[key].strip()):
            raise IdentityError(f'{shown(path)}: "{key}" must be a shell command (a string)')
    for name, value in (settings.get("env") or {}).items():
        if name.startswith("AWS_") and not isinstance(value, str):
            raise IdentityError(f'{shown(path)}: env "{name}" must be a string')
        if name.startswith("AWS_") and ("\n" in value or "\0" in value):
            raise IdentityError(f'{shown(path)}: env "{name}" holds a line break')
    return settings


def proxy_environment(settings: dict, shell: dict, export_config: str) -> dict:
    """The AWS_* variables the proxy gets: the settings' over the shell's; with
    awsCredentialExport, a private config whose profile runs it through credential_process."""
    mine = {name: value for name, value in (settings.get("env") or {}).items()
            if name.startswith("AWS_")}
    env = {name: value for name, value in shell.items() if name.startswith("AWS_")}
    if "AWS_PROFILE" in mine and not any(key in mine for key in STATIC_KEYS):
        for key in STATIC_KEYS:
            env.pop(key, None)
    env.update(mine)
    if settings.get("awsCredentialExport"):
        for key in STATIC_KEYS:
            env.pop(key, None)
        env["AWS_CONFIG_FILE"] = export_config
        env["AWS_PROFILE"] = EXPORT_PROFILE
        env.pop("AWS_DEFAULT_PROFILE", None)
    return env


def export_config_text(settings_path: str) -> str:
    """The private AWS config for awsCredentialExport: no secret, only the adapter's command."""
    parser = configparser.ConfigParser(interpolation=None)
    command = [sys.executable, os.path.abspath(__file__), "credential-process", settings_path]
    parser[f"profile {EXPORT_PROFILE}"] = {"credential_process": shlex.join(command)}
    text = io.StringIO()
    text.write("# Generated by openClaude: the proxy's credentials come from awsCredentialExport.\n")
    parser.write(text)
    return text.getvalue()


def write_private(path: str, text: str) -> None:
    """Atomically replace ``path`` (0600) when its text differs."""
    try:
        with open(path, encoding="utf-8") as current:
            if current.read() == text:
                return
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".aws-config.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def config_files(env: dict) -> tuple[str, str]:
    config = os.path.expanduser(env.get("AWS_CONFIG_FILE") or "~/.aws/config")
    credentials = os.path.expanduser(env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials")
    return config, credentials


def where(name: str, settings: dict, settings_path: str) -> str:
    if name in (settings.get("env") or {}):
        return f"env.{name} in {shown(settings_path)}"
    return f"{name} in the shell"


def login_fix(settings: dict, profile: str | None, scoped: dict) -> str:
    """The one command most likely to give this identity credentials again."""
    if settings.get("awsAuthRefresh"):
        return f"run {settings['awsAuthRefresh']}"
    option = f" --profile {profile}" if profile else ""
    if any(key.startswith("sso_") for key in scoped):
        return f"aws sso login{option}"
    return f"aws configure{option}"


def bedrock_deployments(config_path: str) -> list[dict]:
    """The config's deployments that call Bedrock (unreadable config: none)."""
    import yaml

    try:
        with open(config_path, encoding="utf-8") as source:
            config = yaml.safe_load(source) or {}
        return [d for d in config.get("model_list") or []
                if str((d.get("litellm_params") or {}).get("model", "")).startswith("bedrock/")]
    except (OSError, yaml.YAMLError, AttributeError):
        return []


def tier_regions(config_path: str) -> list[str]:
    """The regions the config's Bedrock deployments sign for (data aws_region)."""
    params = [d.get("litellm_params") or {} for d in bedrock_deployments(config_path)]
    return sorted({p["aws_region_name"] for p in params if p.get("aws_region_name")})


def bedrock_tiers(config_path: str) -> list[str]:
    """The model names Claude Code asks for that Bedrock serves (fallbacks and the wildcard
    routes for Bedrock-style ids aside: a user reads names, not patterns)."""
    return sorted({d.get("model_name") for d in bedrock_deployments(config_path)
                   if d.get("model_name") and "*" not in d["model_name"]
                   and not (d.get("model_info") or {}).get("openclaude_fallback_for")})


def region_note(user_region: str | None, regions: list[str], origin: str) -> str:
    """One line when the tiers sign for another region than the user's AWS_REGION."""
    other = [region for region in regions if region != user_region]
    if not user_region or not other:
        return ""
    return (f"the Bedrock tiers sign for {', '.join(regions)} (data aws_region) while your "
            f"AWS_REGION is {user_region} ({origin}); to align them re-run the deploy with "
            f"--data aws_region={user_region}")


def fingerprint(env: dict, method: str, scoped: dict, frozen, export: str | None) -> str:
    """A hash of what picks the identity (static keys included, refreshed ones not): never a secret."""
    material = {"env": env, "method": method, "profile": scoped, "export": export}
    if method not in REFRESHABLE:
        material["keys"] = [frozen.access_key, frozen.secret_key, frozen.token]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:20]


def resolve(settings: dict, settings_path: str, env: dict) -> dict:
    """Resolve credentials with botocore in the proxy's environment; the identity, no secret."""
    import botocore.exceptions
    import botocore.session

    os.environ.update(env)
    for name in [name for name in os.environ if name.startswith("AWS_") and name not in env]:
        del os.environ[name]
    export = settings.get("awsCredentialExport")
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE")
    config, credentials = config_files(env)
    session = botocore.session.Session()
    scoped: dict = {}
    try:
        scoped = dict(session.get_scoped_config())
        found = session.get_credentials()
        frozen = found.get_frozen_credentials() if found is not None else None
    except botocore.exceptions.ProfileNotFound:
        raise IdentityError(
            f"AWS profile '{profile}' ({where('AWS_PROFILE', settings, settings_path)}) is in "
            f"neither {shown(config)} nor {shown(credentials)}; fix: correct the name, or create "
            f"it with aws configure --profile {profile}") from None
    except (botocore.exceptions.ConfigParseError, botocore.exceptions.InvalidConfigError) as error:
        raise IdentityError(f"the AWS config cannot be read ({error}); fix: correct {shown(config)}") from None
    except botocore.exceptions.CredentialRetrievalError as error:
        if export:
            raise CredentialsUnavailable(
                f"awsCredentialExport in {shown(settings_path)} gave no credentials: "
                f"{str(error).split('error: ', 1)[-1].strip()}; fix: make that command print "
                '{"Credentials": {"AccessKeyId": ..., "SecretAccessKey": ..., "SessionToken": ...}}'
            ) from None
        raise CredentialsUnavailable(
            f"AWS credentials for {profile or 'the default profile'} could not be fetched "
            f"({error}); fix: {login_fix(settings, profile, scoped)}") from None
    except (botocore.exceptions.BotoCoreError, RuntimeError) as error:
        raise CredentialsUnavailable(
            f"AWS credentials for {profile or 'the default profile'} are unusable ({error}); "
            f"fix: {login_fix(settings, profile, scoped)}") from None
    if frozen is None or not frozen.access_key or not frozen.secret_key:
        raise CredentialsUnavailable(
            f"no AWS credentials found for {profile or 'the default profile'} "
            f"({shown(config)}, {shown(credentials)}, environment); fix: "
            f"{login_fix(settings, profile, scoped)}")
    expiry = getattr(found, "_expiry_time", None)
    if expiry is not None and expiry <= dt.datetime.now(dt.timezone.utc):
        raise CredentialsUnavailable(
            f"the AWS credentials for {profile or 'the default profile'} expired at "
            f"{expiry:%Y-%m-%d %H:%M} UTC; fix: {login_fix(settings, profile, scoped)}")
    method = found.method
    source = METHODS.get(method, method)
    if export:
        source = f"awsCredentialExport in {shown(settings_path)}, refreshed by the proxy"
    elif method == "shared-credentials-file":
        source = shown(credentials)
    elif method == "config-file":
        source = shown(config)
    elif method == "env":
        origin = "settings env" if "AWS_ACCESS_KEY_ID" in (settings.get("env") or {}) else "shell"
        source = f"environment variables ({origin})"
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
    return {
        "profile": "" if export else (profile or "default"),
        "region": region,
        "region_origin": where("AWS_REGION" if env.get("AWS_REGION") else "AWS_DEFAULT_REGION",
                               settings, settings_path),
        "source": source,
        "method": method,
        "refreshable": method in REFRESHABLE,
        "expiry": int(expiry.timestamp()) if expiry is not None else None,
        "fingerprint": fingerprint(env, method, scoped, frozen, export),
        "watch": [config, credentials],
    }


def summary(identity: dict) -> str:
    parts = [f"profile {identity['profile']}"] if identity["profile"] else []
    parts.append(f"credentials from {identity['source']}")
    if identity["expiry"]:
        parts.append("expire " + dt.datetime.fromtimestamp(identity["expiry"], dt.timezone.utc)
                     .strftime("%Y-%m-%d %H:%M UTC"))
    parts.append(f"AWS_REGION {identity['region'] or 'not set'}")
    return ", ".join(parts)


def run_refresh(settings: dict, settings_path: str, cause: str) -> None:
    """awsAuthRefresh, as Claude Code runs it: through the shell, its output shown."""
    command = settings["awsAuthRefresh"]
    print(f"openClaude: {cause}", file=sys.stderr)
    print(f"openClaude: running awsAuthRefresh from {shown(settings_path)}: {command}",
          file=sys.stderr, flush=True)
    done = subprocess.run(command, shell=True, stdout=sys.stderr.fileno(), check=False)
    if done.returncode != 0:
        raise IdentityError(
            f"awsAuthRefresh in {shown(settings_path)} ({command}) failed with exit status "
            f"{done.returncode}; fix that command (or run it by hand) and start openClaude again")


def identity_for(settings_path: str, config_path: str, export_config: str, *,
                 refresh: bool, write: bool) -> tuple[dict, dict]:
    settings = read_settings(settings_path)
    if settings.get("awsCredentialExport") and not write:
        # verify.py changes nothing: the export profile lives in a temporary file for the check.
        with tempfile.TemporaryDirectory(prefix="openclaude-aws-") as scratch:
            return identity_for(settings_path, config_path, os.path.join(scratch, "config"),
                                refresh=refresh, write=True)
    env = proxy_environment(settings, dict(os.environ), export_config)
    if settings.get("awsCredentialExport"):
        write_private(export_config, export_config_text(settings_path))
    try:
        identity = resolve(settings, settings_path, env)
    except CredentialsUnavailable as error:
        if not (refresh and settings.get("awsAuthRefresh")):
            raise
        run_refresh(settings, settings_path, str(error))
        try:
            identity = resolve(settings, settings_path, env)
        except CredentialsUnavailable as again:
            raise IdentityError(f"after awsAuthRefresh: {again}") from None
        identity["refreshed"] = True
    identity["note"] = region_note(identity["region"], tier_regions(config_path),
                                   identity["region_origin"])
    identity["summary"] = summary(identity)
    return identity, env


def environment_lines(env: dict, shell: dict) -> list[str]:
    """The proxy's AWS environment as the launcher applies it."""
    lines = [f"unset {name}" for name in sorted(shell) if name.startswith("AWS_") and name not in env]
    return lines + [f"set {name}={value}" for name, value in sorted(env.items())]


def environment_only(settings_path: str, config_path: str, export_config: str) -> list[str]:
    """The proxy's environment and region note without botocore: for a start whose identity the
    launcher's record already holds (same cheap inputs, credentials not near expiry)."""
    settings = read_settings(settings_path)
    shell = dict(os.environ)
    env = proxy_environment(settings, shell, export_config)
    if settings.get("awsCredentialExport"):
        write_private(export_config, export_config_text(settings_path))
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
    origin = where("AWS_REGION" if env.get("AWS_REGION") else "AWS_DEFAULT_REGION",
                   settings, settings_path)
    note = region_note(region, tier_regions(config_path), origin)
    return environment_lines(env, shell) + [f"note {note}"]


def launcher_lines(identity: dict, env: dict, shell: dict) -> list[str]:
    """What the launcher reads: the proxy's AWS environment, then the record's fields."""
    lines = environment_lines(env, shell)
    lines += [f"watch {path}" for path in identity["watch"]]
    lines += [
        f"fingerprint {identity['fingerprint']}",
        f"expiry {identity['expiry'] or ''}",
        f"refreshed {'yes' if identity.get('refreshed') else 'no'}",
        f"summary {identity['summary']}",
        f"note {identity['note']}",
    ]
    return lines


def unavailable_lines(problem: str, env: dict, shell: dict, config_path: str) -> list[str]:
    """What the launcher reads when no identity resolves in a state that runs without one: the
    proxy's environment, the problem, and a record that never vouches for itself (expiry 0), so
    every launch resolves again and the first one after the fix restarts the proxy."""
    config, credentials = config_files(env)
    digest = hashlib.sha256(json.dumps([problem, env], sort_keys=True).encode()).hexdigest()[:20]
    return environment_lines(env, shell) + [
        f"unavailable {problem}",
        f"watch {config}",
        f"watch {credentials}",
        f"fingerprint unavailable-{digest}",
        "expiry 0",
        "refreshed no",
        f"summary no usable credentials, Bedrock ({', '.join(bedrock_tiers(config_path))}) "
        f"requests fail: {problem}",
        "note ",
    ]


def credential_process(settings_path: str) -> int:
    """Run awsCredentialExport and print botocore's process format (Version 1)."""
    try:
        command = read_settings(settings_path).get("awsCredentialExport")
    except IdentityError as error:
        print(error, file=sys.stderr)
        return 1
    if not command:
        print(f"awsCredentialExport is no longer set in {shown(settings_path)}", file=sys.stderr)
        return 1
    # The export command is the user's: it needs their AWS settings, not the proxy's key.
    env = {name: value for name, value in os.environ.items() if name != "LITELLM_MASTER_KEY"}
    done = subprocess.run(command, shell=True, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        print(f"the command failed with exit status {done.returncode} ({reason[0][:200]})",
              file=sys.stderr)
        return 1
    try:
        printed = json.loads(done.stdout)
        found = printed.get("Credentials", printed)
        credentials = {"Version": 1, "AccessKeyId": found["AccessKeyId"],
                       "SecretAccessKey": found["SecretAccessKey"]}
        if not all(isinstance(value, str) and value for value in credentials.values()
                   if value != 1):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        # Never echo the output: it may hold a secret.
        print(f"it printed {len(done.stdout)} bytes that are not credentials JSON",
              file=sys.stderr)
        return 1
    for key in ("SessionToken", "Expiration"):
        if isinstance(found.get(key), str) and found[key]:
            credentials[key] = found[key]
    print(json.dumps(credentials))
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "credential-process":
        return credential_process(argv[2])
    if len(argv) != 5 or argv[1] not in ("resolve", "resolve-or-none", "environment", "check",
                                          "describe"):
        print(__doc__, file=sys.stderr)
        return 2
    command, settings_path, config_path, export_config = argv[1:]
    if command == "environment":
        try:
            print("\n".join(environment_only(settings_path, config_path, export_config)))
        except IdentityError as error:
            print(f"openClaude: {error}. claude was not started.", file=sys.stderr)
            return 1
        return 0
    shell = dict(os.environ)
    resolving = command in ("resolve", "resolve-or-none")
    try:
        identity, env = identity_for(settings_path, config_path, export_config,
                                     refresh=resolving, write=resolving)
    except IdentityError as error:
        if command == "resolve-or-none" and not isinstance(error, SettingsUnusable):
            tiers = ", ".join(bedrock_tiers(config_path)) or "none"
            print(f"openClaude: Bedrock ({tiers}) cannot work: {error}. Starting anyway: the "
                  "subscription tiers need no AWS.", file=sys.stderr)
            try:
                settings = read_settings(settings_path)
            except IdentityError:
                settings = {}  # a malformed AWS setting: the shell's environment, as Claude Code
            env = proxy_environment(settings, shell, export_config)
            print("\n".join(unavailable_lines(str(error), env, shell, config_path)))
            return 0
        if command == "check":
            print(json.dumps({"ok": False, "problem": str(error),
                              "settings_unusable": isinstance(error, SettingsUnusable)}))
            return 0
        if command == "describe":
            print(f"aws:     not usable: {error}")
            return 0
        print(f"openClaude: {error}. claude was not started.", file=sys.stderr)
        return 1
    if command == "describe":
        print(f"aws:     {identity['summary']} (what the next launch uses)")
        if identity["note"]:
            print(f"region:  {identity['note']}")
        return 0
    if command == "check":
        print(json.dumps({"ok": True, **{key: value for key, value in identity.items()
                                         if key != "watch"}}))
        return 0
    print("\n".join(launcher_lines(identity, env, shell)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
