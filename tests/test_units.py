"""Unit tests for the pure pieces: settings transform, config builder, receipt parser, data checks,
model lifecycle, and the output-limit callback's arithmetic."""

from __future__ import annotations

import ast
import importlib.util
import json
import logging
import subprocess
import sys
import types
from datetime import date
from pathlib import Path

import pytest
import yaml

from files.openclaude_settings import (
    SettingsError,
    derive_file_text,
    derive_settings,
    displacing_settings,
    parse_settings,
)
from files.openclaude_usage import AWS_PROBLEM_ENV
from operations.deploys.openclaude import DEFAULTS
from operations.model.data import ANTHROPIC_HOSTS, LOOPBACK_HOSTS, DataError, load_data, token_leak_warning
from operations.model.lifecycle import lifecycle_findings
from operations.model.render import build_config, config_text, proxy_environment, settings_tiers
from operations.model.routes import route_of, routes, upstream_of
from operations.model.sources import installed_source, uv_install_args, uv_requirement, wanted_source

REPO = Path(__file__).resolve().parent.parent
TIERS = {"model": "claude-opus-4-6[1m]", "opus": "claude-opus-4-6[1m]",
         "sonnet": "claude-sonnet-4-6[1m]", "haiku": "qwen-3-coder"}


def data(mode="oauth", **overrides):
    return load_data({**DEFAULTS, **overrides}, mode)


# The settings transform (the plan's jq program).

def test_transform_matches_the_plans_jq_program():
    source = {
        "model": "old", "awsCredentialExport": "x", "awsAuthRefresh": "y", "theme": "dark",
        "env": {"CLAUDE_CODE_USE_BEDROCK": "1", "ANTHROPIC_API_KEY": "sk-x", "AWS_PROFILE": "p",
                "ANTHROPIC_BASE_URL": "https://bedrock-gateway.example"},
    }
    assert derive_settings(source, TIERS) == {
        "model": "claude-opus-4-6[1m]",
        "theme": "dark",
        "env": {
            "AWS_PROFILE": "p",
            "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-4-6[1m]",
            "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-4-6[1m]",
            "ANTHROPIC_SMALL_FAST_MODEL": "qwen-3-coder",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": "qwen-3-coder",
        },
    }
    assert source["env"]["ANTHROPIC_API_KEY"] == "sk-x", "the input is not modified"


DISPLACING = {
    "apiKeyHelper": "~/bin/gateway-key", "theme": "dark",
    "env": {"ANTHROPIC_AUTH_TOKEN": "gw-token", "ANTHROPIC_API_KEY": "sk-x",
            "CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_USE_VERTEX": "1",
            "CLAUDE_CODE_USE_FOUNDRY": "1", "AWS_PROFILE": "p"},
}


def test_oauth_transform_leaves_out_every_credential_that_displaces_the_subscription():
    derived = derive_settings(DISPLACING, TIERS, "oauth")

    assert "apiKeyHelper" not in derived
    assert derived["theme"] == "dark"
    assert set(derived["env"]) == {"AWS_PROFILE", "ANTHROPIC_DEFAULT_OPUS_MODEL",
                                   "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_SMALL_FAST_MODEL",
                                   "ANTHROPIC_DEFAULT_HAIKU_MODEL"}
    assert DISPLACING["apiKeyHelper"] and DISPLACING["env"]["ANTHROPIC_AUTH_TOKEN"], "input kept"


def test_bedrock_transform_is_the_plans_and_keeps_the_other_credentials():
    derived = derive_settings(DISPLACING, TIERS, "bedrock")

    assert derived["apiKeyHelper"] == "~/bin/gateway-key"
    assert {"ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY"} <= set(derived["env"])
    assert "ANTHROPIC_API_KEY" not in derived["env"] and "CLAUDE_CODE_USE_BEDROCK" not in derived["env"]


def test_displacing_settings_are_named_without_their_values():
    names = displacing_settings(DISPLACING)

    assert names == ["apiKeyHelper", "env.ANTHROPIC_AUTH_TOKEN", "env.ANTHROPIC_API_KEY",
                     "env.CLAUDE_CODE_USE_BEDROCK", "env.CLAUDE_CODE_USE_VERTEX",
                     "env.CLAUDE_CODE_USE_FOUNDRY"]
    assert displacing_settings({"env": {"AWS_PROFILE": "p"}}) == []


def test_transform_keeps_the_users_key_order_and_unicode():
    text = derive_file_text('{"theme": "dark", "model": "x", "note": "日本語 ✓"}', "s.json", TIERS)
    assert list(yaml.safe_load(text)) == ["theme", "model", "note", "env"]
    assert "日本語 ✓" in text


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_missing_or_empty_settings_count_as_an_empty_object(text):
    assert yaml.safe_load(derive_file_text(text, "s.json", TIERS)) == derive_settings({}, TIERS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"model": ', "s.json: invalid JSON at line 1 column 11"),
        ("[1, 2]", "s.json: expected a JSON object at the top level, found an array"),
        ('"text"', "found a string"),
        ("3", "found a number"),
        ("null", "found null"),
        ('{"env": "FOO=1"}', 's.json: "env" must be a JSON object, found a string'),
        ('{"env": [1]}', "found an array"),
    ],
)
def test_malformed_settings_are_refused_with_the_file_and_problem(text, message):
    with pytest.raises(SettingsError, match=message.replace("[", r"\[")):
        parse_settings(text, "s.json")


def test_settings_tiers_pin_only_what_the_data_pins():
    assert settings_tiers(data()) == {"haiku": "qwen-3-coder", "max_context_tokens": 256000}
    pinned = data(opus_model_name="claude-opus-4-6", sonnet_model_name="claude-sonnet-4-6")
    assert settings_tiers(pinned) == {**TIERS, "max_context_tokens": 256000}
    short = settings_tiers(data(long_context=False, opus_model_name="claude-opus-4-6",
                                sonnet_model_name="claude-sonnet-4-5", haiku_context_window=None))
    assert short == {"model": "claude-opus-4-6", "opus": "claude-opus-4-6",
                     "sonnet": "claude-sonnet-4-5", "haiku": "qwen-3-coder"}


def test_unpinned_slots_lose_the_users_slot_variables_and_keep_the_users_model():
    source = {"model": "opus", "env": {"ANTHROPIC_DEFAULT_OPUS_MODEL": "us.anthropic.claude-opus-4-6-v1",
                                       "ANTHROPIC_DEFAULT_FABLE_MODEL": "x", "AWS_PROFILE": "p"}}
    derived = derive_settings(source, settings_tiers(data()))
    assert derived["model"] == "opus"
    assert derived["env"] == {"AWS_PROFILE": "p", "ANTHROPIC_SMALL_FAST_MODEL": "qwen-3-coder",
                              "ANTHROPIC_DEFAULT_HAIKU_MODEL": "qwen-3-coder",
                              "CLAUDE_CODE_MAX_CONTEXT_TOKENS": "256000"}


# Context windows: what Claude Code assumes per tier, against LiteLLM's map.

MAP = {"claude-opus-4-6": {"max_input_tokens": 1000000},
       "claude-sonnet-4-6": {"max_input_tokens": 1000000},
       "qwen.qwen3-next-80b-a3b": {"max_input_tokens": 256000}}


def test_the_settings_cap_claude_codes_window_for_a_name_it_does_not_know():
    derived = derive_settings({}, {**TIERS, "max_context_tokens": 256000})
    assert derived["env"]["CLAUDE_CODE_MAX_CONTEXT_TOKENS"] == "256000"
    assert "CLAUDE_CODE_MAX_CONTEXT_TOKENS" not in derive_settings({}, TIERS)["env"]


@pytest.mark.parametrize(("own", "kept"), [("100000", "100000"), ("900000", "256000"),
                                           ("lots", "256000"), ("0", "256000")])
def test_a_users_own_window_is_kept_only_when_smaller(own, kept):
    source = {"env": {"CLAUDE_CODE_MAX_CONTEXT_TOKENS": own}}
    derived = derive_settings(source, {**TIERS, "max_context_tokens": 256000})
    assert derived["env"]["CLAUDE_CODE_MAX_CONTEXT_TOKENS"] == kept


def test_default_windows_fit_the_models_in_both_states():
    from operations.model.windows import assumed_windows, window_findings

    assert assumed_windows(data()) == {"haiku": 256000}, "Claude tiers follow Claude Code"
    assert assumed_windows(data("bedrock")) == {"fable": 200000, "opus": 1000000, "sonnet": 1000000,
                                                "haiku": 256000}
    assert window_findings(data(), MAP) == []
    bedrock_map = {"us.anthropic.claude-fable-5-1": {"max_input_tokens": 1000000},
                   "us.anthropic.claude-opus-4-6-v1": {"max_input_tokens": 1000000},
                   "us.anthropic.claude-sonnet-4-6": {"max_input_tokens": 1000000},
                   "qwen.qwen3-next-80b-a3b": {"max_input_tokens": 256000}}
    assert window_findings(data("bedrock"), bedrock_map) == []


def test_a_pinned_model_with_a_smaller_window_is_reported_with_the_fix():
    from operations.model.windows import window_findings

    pinned = data(oauth_haiku_model="bedrock/converse/qwen.qwen3-coder-30b-a3b-v1:0")
    [finding] = window_findings(pinned, {**MAP, "qwen.qwen3-coder-30b-a3b-v1:0": {"max_input_tokens": 128000}})
    assert "haiku tier" in finding and "256000" in finding and "--data haiku_context_window=128000" in finding
    # Without the setting Claude Code 2.1.332 assumes 1M for the unknown name.
    [finding] = window_findings(data(haiku_context_window=None), MAP)
    assert "1000000" in finding
    short = {**MAP, "claude-sonnet-4-6": {"max_input_tokens": 200000}}
    assert window_findings(data(), short) == [], "an unpinned sonnet follows Claude Code"
    [finding] = window_findings(data(sonnet_model_name="claude-sonnet-4-6"), short)
    assert "sonnet tier" in finding and "--data long_context=false" in finding
    assert window_findings(data(long_context=False, sonnet_model_name="claude-sonnet-4-6"), short) == []


# The LiteLLM config builder.

ROUTED = "anthropic/claude-{}-*"
QWEN_MODEL = "bedrock/converse/qwen.qwen3-next-80b-a3b"


def routes_of(config) -> list:
    return [(d["model_name"], d["litellm_params"]["model"], d["model_info"]["openclaude_tier"])
            for d in config["model_list"]]


def test_oauth_config_answers_every_claude_name_on_the_subscription_and_the_haiku_slot_on_bedrock():
    config = build_config(data())
    assert routes_of(config) == [
        ("claude-fable-*", "anthropic/claude-fable-*", "fable"),
        ("*anthropic.claude-*fable*", "anthropic/claude-fable-5-2", "fable"),
        ("claude-opus-*", "anthropic/claude-opus-*", "opus"),
        ("*anthropic.claude-*opus*", "anthropic/claude-opus-5-5", "opus"),
        ("claude-sonnet-*", "anthropic/claude-sonnet-*", "sonnet"),
        ("*anthropic.claude-*sonnet*", "anthropic/claude-sonnet-5-5", "sonnet"),
        ("*anthropic.claude-*haiku*", QWEN_MODEL, "haiku"),
        ("qwen-3-coder", QWEN_MODEL, "haiku"),
        ("claude-*", "anthropic/claude-*", "claude"),
    ]
    haiku = config["model_list"][-2]
    assert haiku["litellm_params"]["aws_region_name"] == "us-west-2"
    assert haiku["model_info"] == {"openclaude_tier": "haiku", "openclaude_output_limit": 8000}
    assert config["model_list"][0]["model_info"] == {"openclaude_tier": "fable"}
    assert config["litellm_settings"] == {
        "drop_params": True,
        "callbacks": ["openclaude_models.unknown_model",
                      "openclaude_callbacks.output_limit", "openclaude_callbacks.usage_record",
                      "openclaude_callbacks.bedrock_credentials",
                      "openclaude_count_tokens.count_tokens_route",
                      "openclaude_bedrock_fields.documented_fields_only",
                      "openclaude_passthrough.passthrough"],
        "model_group_settings": {"forward_client_headers_to_llm_api": [
            name for name, model, _ in routes_of(config) if model.startswith("anthropic/")]},
    }
    assert config["general_settings"] == {"master_key": "os.environ/LITELLM_MASTER_KEY"}
    assert config["router_settings"] == {"num_retries": 0}


@pytest.mark.parametrize(("mode", "name", "upstream"), [
    ("oauth", "claude-opus-5-5", "anthropic/claude-opus-5-5"),
    ("oauth", "claude-fable-5-2", "anthropic/claude-fable-5-2"),
    ("oauth", "claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5-20250929"),
    ("oauth", "claude-haiku-5-5", "anthropic/claude-haiku-5-5"),
    ("oauth", "claude-3-7-sonnet-20250219", "anthropic/claude-3-7-sonnet-20250219"),
    ("oauth", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic/claude-sonnet-5-5"),
    ("oauth", "global.anthropic.claude-opus-4-6-v1", "anthropic/claude-opus-5-5"),
    ("oauth", "eu.anthropic.claude-haiku-4-5-20251001-v1:0", QWEN_MODEL),
    ("oauth", "qwen-3-coder", QWEN_MODEL),
    ("oauth", "gpt-4o", None),
    ("bedrock", "claude-opus-5-5", "bedrock/converse/us.anthropic.claude-opus-4-6-v1"),
    ("bedrock", "claude-fable-5-2", "bedrock/converse/us.anthropic.claude-fable-5-1"),
    ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock/converse/us.anthropic.claude-sonnet-4-6"),
    ("bedrock", "claude-haiku-5-5", QWEN_MODEL),
    ("bedrock", "claude-3-7-sonnet-20250219", None),
])
def test_each_name_claude_code_may_send_routes_to_its_familys_model(mode, name, upstream):
    from operations.model.routes import route_of, routes, upstream_of

    route = route_of(routes(data(mode).tiers, mode), name)
    assert (route and upstream_of(route, name)) == upstream


def test_a_pinned_name_routes_with_its_family_or_to_its_slots_model():
    from operations.model.routes import route_of, routes, upstream_of

    pinned = data(opus_model_name="claude-opus-4-6", sonnet_model_name="team-sonnet")
    found = routes(pinned.tiers, "oauth")
    assert upstream_of(route_of(found, "claude-opus-4-6"), "claude-opus-4-6") == "anthropic/claude-opus-4-6"
    assert route_of(found, "team-sonnet").model == "anthropic/claude-sonnet-5-5"
    on_bedrock = data(oauth_opus_model="bedrock/converse/us.anthropic.claude-opus-4-6-v1")
    route = route_of(routes(on_bedrock.tiers, "oauth"), "claude-opus-5-5")
    assert route.model == "bedrock/converse/us.anthropic.claude-opus-4-6-v1"


def test_the_model_map_check_covers_what_the_data_decides():
    from operations.model.routes import pinned_tiers

    assert [t.upstream_id for t in pinned_tiers(data().tiers, "oauth")] == ["qwen.qwen3-next-80b-a3b"]
    pinned = data(opus_model_name="claude-opus-4-6[1m]")
    assert [t.upstream_id for t in pinned_tiers(pinned.tiers, "oauth")] == [
        "claude-opus-4-6", "qwen.qwen3-next-80b-a3b"]
    assert [t.upstream_id for t in pinned_tiers(data("bedrock").tiers, "bedrock")] == [
        "us.anthropic.claude-fable-5-1", "us.anthropic.claude-opus-4-6-v1",
        "us.anthropic.claude-sonnet-4-6", "qwen.qwen3-next-80b-a3b"]


def test_bedrock_config_routes_every_name_to_bedrock_without_header_forwarding():
    config = build_config(data("bedrock"))
    assert {model for _, model, _ in routes_of(config)} == {
        "bedrock/converse/us.anthropic.claude-fable-5-1",
        "bedrock/converse/us.anthropic.claude-opus-4-6-v1",
        "bedrock/converse/us.anthropic.claude-sonnet-4-6",
        QWEN_MODEL,
    }
    assert "claude-*" not in [name for name, _, _ in routes_of(config)]
    assert "model_group_settings" not in config["litellm_settings"]


def test_endpoints_go_only_to_their_providers_deployments():
    config = build_config(data(anthropic_api_base="http://127.0.0.1:9/",
                               bedrock_runtime_endpoint="http://127.0.0.1:8"))
    for deployment in config["model_list"]:
        params = deployment["litellm_params"]
        if params["model"].startswith("anthropic/"):
            assert params["api_base"] == "http://127.0.0.1:9"
            assert "aws_bedrock_runtime_endpoint" not in params
        else:
            assert params["aws_bedrock_runtime_endpoint"] == "http://127.0.0.1:8"
            assert "api_base" not in params


def test_config_text_is_yaml_of_the_built_config_with_a_header():
    text = config_text(data())
    assert text.startswith("# LiteLLM routing for openClaude")
    assert yaml.safe_load(text) == build_config(data())


# Data checks.

@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"haiku_output_limit": "lots"}, "haiku_output_limit: expected a positive whole number"),
        ({"haiku_output_limit": -1}, "haiku_output_limit"),
        ({"opus_output_limit": True}, "opus_output_limit"),
        ({"litellm_source": "nightly"}, "litellm_source: expected 'release' or 'fork'"),
        ({"litellm_port": 70000}, "litellm_port: expected a TCP port"),
        ({"litellm_port": "4000x"}, "litellm_port"),
        ({"oauth_opus_model": "claude-opus-4-6"}, "oauth_opus_model: expected a LiteLLM model"),
        ({"sonnet_model_name": "claude-x", "opus_model_name": "claude-x"}, "distinct names"),
        ({"opus_model_name": "claude-opus-*"}, "opus_model_name: expected a model name without"),
        ({"anthropic_api_base": "ftp://x"}, "anthropic_api_base: expected an http"),
        ({"litellm_config": "/etc/litellm.yaml"}, "litellm_config: expected a path relative"),
        ({"launcher": "../bin/openClaude"}, "launcher"),
        ({"long_context": "yes"}, "long_context: expected true or false"),
    ],
)
def test_bad_data_is_refused_naming_the_key(overrides, message):
    with pytest.raises(DataError, match=message):
        data(**overrides)


def test_source_setting_picks_the_requirement_and_rollback_always_takes_the_release():
    assert data().litellm_requirement == DEFAULTS["litellm_release"]
    assert data(litellm_source="fork").litellm_requirement == DEFAULTS["litellm_fork"]
    assert data("bedrock", litellm_source="fork").litellm_requirement == DEFAULTS["litellm_release"]


def test_default_release_is_an_exact_pin_at_or_after_the_bedrock_oauth_fix():
    source = wanted_source(DEFAULTS["litellm_release"])
    [spec] = list(source.specifier)
    assert spec.operator == "==" and tuple(map(int, spec.version.split("."))) >= (1, 99, 0)
    assert source.extras == {"proxy"}


def test_a_third_party_anthropic_base_warns_about_the_token():
    assert token_leak_warning(data()) is None
    assert token_leak_warning(data(anthropic_api_base="http://127.0.0.1:4010")) is None
    assert token_leak_warning(data(anthropic_api_base="https://api.anthropic.com")) is None
    assert "#42172" in token_leak_warning(data(anthropic_api_base="https://gw.example.com"))
    assert token_leak_warning(data("bedrock", anthropic_api_base="https://gw.example.com")) is None


# Requirement and receipt parsing.

RECEIPT_RELEASE = """[tool]
requirements = [{ name = "litellm", extras = ["proxy"], specifier = "==1.108.5" }]
entrypoints = [{ name = "litellm", install-path = "/h/.local/bin/litellm", from = "litellm" }]
"""
RECEIPT_FORK = """[tool]
requirements = [{ name = "litellm", git = "https://github.com/iamadamreed/litellm.git?rev=fix%2Fanthropic-oauth-token-forwarding" }]
"""


def test_litellm_runs_from_where_uv_put_it_else_where_uv_will():
    """A converged host's fact asks uv only for its tool directory: the receipt says the rest."""
    from operations.model.layout import tool_dirs

    elsewhere = {"home": "/h", "tool_dir": "/t", "bin_dir": "/uv/bin"}
    assert tool_dirs({**elsewhere, "receipt": RECEIPT_RELEASE}) == ("/t", "/h/.local/bin")
    assert tool_dirs({**elsewhere, "receipt": RECEIPT_FORK}) == ("/t", "/uv/bin")
    assert tool_dirs(elsewhere) == ("/t", "/uv/bin")
    assert tool_dirs({"home": "/h"}) == ("/h/.local/share/uv/tools", "/h/.local/bin")


def test_receipt_parser_reads_a_release_pin():
    assert installed_source(RECEIPT_RELEASE) == wanted_source("litellm[proxy]==1.108.5")
    assert installed_source(RECEIPT_RELEASE) != wanted_source("litellm[proxy]==1.108.4")
    assert installed_source(RECEIPT_RELEASE) != wanted_source("litellm==1.108.5")


def test_receipt_parser_tells_the_fork_from_the_release_and_refs_apart():
    fork = installed_source(RECEIPT_FORK)
    assert fork.git == "https://github.com/iamadamreed/litellm.git"
    assert fork.rev == "fix/anthropic-oauth-token-forwarding"
    assert fork != installed_source(RECEIPT_RELEASE)
    assert fork != wanted_source("git+https://github.com/iamadamreed/litellm.git@main")


@pytest.mark.parametrize("receipt", [None, "", "not toml [", "[tool]\n", '[tool]\nrequirements = [{ name = "ruff" }]'])
def test_receipt_parser_treats_unreadable_or_foreign_receipts_as_absent(receipt):
    assert installed_source(receipt) is None


def test_bare_urls_get_the_proxy_extra():
    url = "git+https://github.com/iamadamreed/litellm.git@fix/x"
    assert uv_requirement(url) == f"litellm[proxy] @ {url}"
    assert uv_requirement("litellm[proxy]==1.108.5") == "litellm[proxy]==1.108.5"
    assert uv_requirement(f"litellm[proxy] @ {url}") == f"litellm[proxy] @ {url}"


def receipt_of(entry: str) -> str:
    return f'[tool]\nrequirements = [{{ name = "litellm", extras = ["proxy"], {entry} }}]\n'


# What uv recorded (real uv 0.13.9 receipts) -> requirements that name the same source.
SAME_SOURCE = {
    'directory = "/srv/litellm"': ["litellm[proxy] @ file:///srv/litellm",
                                   "litellm[proxy] @ file:///srv/litellm/", "/srv/litellm",
                                   "/srv/./x/../litellm/", "file:///srv/litellm"],
    'directory = "/srv/my src"': ["litellm[proxy] @ file:///srv/my%20src", "/srv/my src"],
    'path = "/srv/wheels/litellm-1.108.5-py3-none-any.whl"': [
        "file:///srv/wheels/litellm-1.108.5-py3-none-any.whl",
        "/srv/wheels/litellm-1.108.5-py3-none-any.whl",
        "litellm[proxy] @ file:///srv/wheels//litellm-1.108.5-py3-none-any.whl#sha256=00"],
    'url = "http://127.0.0.1:8080/litellm-1.108.5-py3-none-any.whl"': [
        "http://127.0.0.1:8080/litellm-1.108.5-py3-none-any.whl",
        "litellm[proxy] @ http://127.0.0.1:8080/litellm-1.108.5-py3-none-any.whl#sha256=ab"],
    'editable = "/srv/litellm"': ["-e /srv/litellm", "--editable /srv/litellm/",
                                  "-e litellm[proxy] @ file:///srv/litellm"],
    'git = "file:///srv/litellm/?rev=main"': ["git+file:///srv/litellm@main",
                                              "git+file:///srv/litellm/@main"],
    'git = "file:///srv/litellm?subdirectory=pkg"': ["git+file:///srv/litellm#subdirectory=pkg"],
}
OTHER_SOURCE = {
    'directory = "/srv/litellm"': ["/srv/litellm-other", "-e /srv/litellm",
                                   "file:///srv/litellm/litellm-1.108.5-py3-none-any.whl",
                                   "litellm[proxy]==1.108.5", "git+file:///srv/litellm@main",
                                   "litellm @ file:///srv/litellm"],
    'path = "/srv/wheels/litellm-1.108.5-py3-none-any.whl"': [
        "/srv/wheels/litellm-1.108.4-py3-none-any.whl",
        "http://127.0.0.1:8080/litellm-1.108.5-py3-none-any.whl"],
    'editable = "/srv/litellm"': ["/srv/litellm"],
    'git = "file:///srv/litellm/?rev=main"': ["git+file:///srv/litellm@other", "/srv/litellm"],
    'git = "file:///srv/litellm?subdirectory=pkg"': ["git+file:///srv/litellm"],
}


@pytest.mark.parametrize("entry", SAME_SOURCE)
def test_each_receipt_form_matches_every_spelling_of_its_source(entry):
    installed = installed_source(receipt_of(entry))
    for requirement in SAME_SOURCE[entry]:
        assert installed == wanted_source(requirement), requirement


@pytest.mark.parametrize("entry", OTHER_SOURCE)
def test_each_receipt_form_differs_from_other_sources(entry):
    installed = installed_source(receipt_of(entry))
    for requirement in OTHER_SOURCE[entry]:
        assert installed != wanted_source(requirement), requirement


def test_installed_source_reads_as_a_requirement():
    assert installed_source(receipt_of('directory = "/srv/litellm"')).describe() == \
        "litellm[proxy] @ file:///srv/litellm"
    assert installed_source(RECEIPT_FORK).describe() == (
        "litellm @ git+https://github.com/iamadamreed/litellm.git"
        "@fix/anthropic-oauth-token-forwarding")
    assert installed_source(RECEIPT_RELEASE).describe() == "litellm[proxy]==1.108.5"
    assert installed_source(receipt_of('editable = "/srv/x"')).describe() == \
        "-e litellm[proxy] @ file:///srv/x"


def test_editable_and_local_paths_become_uv_arguments():
    assert uv_install_args("-e /srv/my src") == ["--editable", "litellm[proxy] @ file:///srv/my%20src"]
    assert uv_install_args("/srv/litellm") == ["litellm[proxy] @ file:///srv/litellm"]
    assert uv_install_args("litellm[proxy]==1.108.5") == ["litellm[proxy]==1.108.5"]
    with pytest.raises(ValueError, match="editable"):
        wanted_source("-e litellm[proxy]==1.108.5")


def test_invalid_requirement_is_a_clear_value_error():
    with pytest.raises(ValueError, match="not a valid requirement"):
        wanted_source("litellm[[proxy]")


# Model lifecycle, offline.

def test_lifecycle_flags_unknown_retired_and_retiring_ids_only():
    today = date(2026, 11, 26)
    findings = lifecycle_findings({
        "claude-opus-4-6-20250514": None,
        "claude-3-opus-20240229": {"deprecation_date": "2026-01-05"},
        "claude-sonnet-4-5-20250929": {"deprecation_date": "2026-11-30"},
        "claude-sonnet-4-6": {"deprecation_date": None},
        "us.anthropic.claude-sonnet-4-5-v1": {"deprecation_date": "2027-04-08"},
    }, today)
    assert findings == [
        ("error", "claude-3-opus-20240229: retired on 2026-01-05; pin a current model with --data"),
        ("warning", "claude-opus-4-6-20250514: not in the installed LiteLLM's model map; check "
                    "the id (a typo routes every request of that tier to an error)"),
        ("warning", "claude-sonnet-4-5-20250929: retires on 2026-11-30; pin its successor with "
                    "--data before then"),
    ]


def test_lifecycle_counts_the_retirement_day_itself_as_retired():
    assert lifecycle_findings({"m": {"deprecation_date": "2026-11-30"}}, date(2026, 11, 30))[0][0] == "error"
    assert lifecycle_findings({"m": {"deprecation_date": "2026-12-30"}}, date(2026, 11, 30))[0][0] == "warning"
    assert lifecycle_findings({"m": {"deprecation_date": "2026-12-31"}}, date(2026, 11, 30)) == []


def test_the_pass_through_trusts_the_hosts_the_deploy_trusts():
    """The module beside the config cannot import operations/: its copy must not drift."""
    tree = ast.parse((REPO / "files" / "openclaude_passthrough.py").read_text())
    [trusted] = [ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                 and [target.id for target in node.targets] == ["TRUSTED_HOSTS"]]
    assert set(trusted) == set(ANTHROPIC_HOSTS) | set(LOOPBACK_HOSTS)


def test_bedrock_claude_model_groups_carry_the_documented_fields_rule():
    rule = {"fields": {"thinking": ["type", "budget_tokens"], "output_config": ["effort"]},
            "betas": ["context-1m-2025-08-07", "effort-2025-11-24", "interleaved-thinking-2025-05-14"]}
    bedrock = build_config(data("bedrock"))["model_list"]
    assert [d["model_info"].get("openclaude_bedrock_claude") for d in bedrock] == [rule] * 6 + [None] * 3
    assert not [d for d in build_config(data())["model_list"]
                if "openclaude_bedrock_claude" in (d.get("model_info") or {})]


def module_beside_config(directory: Path, name: str, monkeypatch, siblings=()):
    """Load files/<name>.py copied into ``directory`` (beside the config, as deployed) by its
    path, as LiteLLM loads a callback, with the ``siblings`` from files/ it imports copied beside
    it and imported afresh from there (``config_beside`` put the directory on the import path)."""
    for file_name in (*siblings, f"{name}.py"):
        (directory / file_name).write_bytes((REPO / "files" / file_name).read_bytes())
        monkeypatch.delitem(sys.modules, file_name.removesuffix(".py"), raising=False)
    spec = importlib.util.spec_from_file_location(name, directory / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def config_name() -> str:
    """The LiteLLM config's file name (the data's ``litellm_config``)."""
    return "config.yaml"


def config_beside(directory: Path, name: str, text: str, monkeypatch) -> None:
    """Write the config as ``name`` and give the modules beside it the environment the launcher
    starts the proxy with (their directory on the import path, where the usage record is)."""
    (directory / name).write_text(text)
    for variable, value in proxy_environment(str(directory)).items():
        monkeypatch.setenv(variable, value)
    monkeypatch.syspath_prepend(str(directory))


@pytest.fixture
def bedrock_fields(tmp_path, monkeypatch, config_name):
    """files/openclaude_bedrock_fields.py beside an all-Bedrock config, LiteLLM's base class faked."""
    fake = types.ModuleType("litellm.integrations.custom_logger")
    fake.CustomLogger = type("CustomLogger", (), {"__init__": lambda self: None})
    for name in ("litellm", "litellm.integrations"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    # LiteLLM's model map: the output limits of the config's Bedrock models.
    sys.modules["litellm"].model_cost = {
        "us.anthropic.claude-sonnet-4-6": {"max_output_tokens": 64000},
        "us.anthropic.claude-opus-4-6-v1": {"max_output_tokens": 128000}}
    monkeypatch.setitem(sys.modules, "litellm.integrations.custom_logger", fake)
    config_beside(tmp_path, config_name, config_text(data("bedrock")), monkeypatch)
    return module_beside_config(tmp_path, "openclaude_bedrock_fields", monkeypatch)


def test_only_documented_fields_and_betas_reach_bedrock_claude(bedrock_fields):
    import asyncio

    [rule] = {json.dumps(d["model_info"]["openclaude_bedrock_claude"], sort_keys=True)
              for d in build_config(data("bedrock"))["model_list"]
              if "openclaude_bedrock_claude" in d["model_info"]}
    request = {
        "model": "us.anthropic.claude-opus-4-6-v1",
        "litellm_metadata": {"model_group": "claude-opus-*",
                             "model_info": {"openclaude_bedrock_claude": json.loads(rule)}},
        "thinking": {"type": "adaptive", "display": "omitted"},
        "output_config": {"effort": "high", "task_budget": 5},
        "provider_specific_header": {"custom_llm_provider": "anthropic,bedrock", "extra_headers": {
            "anthropic-beta": "context-1m-2025-08-07,advanced-tool-use-2025-11-20, effort-2025-11-24"}},
    }
    hook = bedrock_fields.documented_fields_only.async_pre_call_deployment_hook(request, "anthropic_messages")
    asyncio.run(hook)
    assert request["thinking"] == {"type": "adaptive"}
    assert request["output_config"] == {"effort": "high"}
    assert request["provider_specific_header"]["extra_headers"] == {
        "anthropic-beta": "context-1m-2025-08-07,effort-2025-11-24"}
    haiku = {"model": "qwen-3-coder", "thinking": {"type": "adaptive", "display": "omitted"},
             "litellm_metadata": {"model_group": "qwen-3-coder", "model_info": {"openclaude_tier": "haiku"}}}
    asyncio.run(bedrock_fields.documented_fields_only.async_pre_call_deployment_hook(haiku, "x"))
    assert haiku["thinking"] == {"type": "adaptive", "display": "omitted"}, "no rule: untouched"
    only_undocumented = {"output_config": {"task_budget": 5}}
    bedrock_fields.documented_fields(only_undocumented, {"output_config": ["effort"]})
    assert only_undocumented == {}


# The output-limit callback (its LiteLLM base class is replaced by a plain one here; the
# end-to-end test runs it inside the real proxy).

class HTTPExceptionStandIn(Exception):
    """FastAPI's HTTPException as LiteLLM's proxy reads it: a status and a detail."""

    def __init__(self, status_code: int, detail: str):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@pytest.fixture
def callbacks(tmp_path, monkeypatch, config_name):
    monkeypatch.delenv(AWS_PROBLEM_ENV, raising=False)
    return callbacks_beside_config(tmp_path, monkeypatch, config_name)


def callbacks_beside_config(tmp_path, monkeypatch, config_name="config.yaml", mode="oauth"):
    module_name = "litellm.integrations.custom_logger"
    fake = types.ModuleType(module_name)
    fake.CustomLogger = type("CustomLogger", (), {"__init__": lambda self: None})
    logging_module = types.ModuleType("litellm._logging")
    logging_module.verbose_proxy_logger = logging.getLogger("litellm-proxy-stand-in")
    for name in ("litellm", "litellm.integrations"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    # LiteLLM's model map: the output limits of the config's Bedrock models.
    sys.modules["litellm"].model_cost = {
        "us.anthropic.claude-sonnet-4-6": {"max_output_tokens": 64000},
        "us.anthropic.claude-opus-4-6-v1": {"max_output_tokens": 128000}}
    monkeypatch.setitem(sys.modules, module_name, fake)
    monkeypatch.setitem(sys.modules, "litellm._logging", logging_module)
    fastapi = types.ModuleType("fastapi")
    fastapi.HTTPException = HTTPExceptionStandIn
    monkeypatch.setitem(sys.modules, "fastapi", fastapi)
    config_beside(tmp_path, config_name, config_text(data(mode=mode)), monkeypatch)
    module = module_beside_config(tmp_path, "openclaude_callbacks", monkeypatch, siblings=(
        "openclaude_usage.py", "openclaude_bedrock_fields.py", "openclaude_models.py"))
    # LiteLLM's router resolves a name to its deployment in the proxy; here the same routes do.
    infos = {d["model_name"]: d["model_info"] for d in build_config(data(mode=mode))["model_list"]}
    found = routes(data(mode=mode).tiers, mode)

    def resolved_deployment(name):
        route = route_of(found, name) if isinstance(name, str) else None
        return route and {"model_name": route.model_name, "model_info": infos[route.model_name],
                          "litellm_params": {"model": upstream_of(route, name)}}

    monkeypatch.setattr(module.models, "resolved_deployment", resolved_deployment)
    return module


def test_capped_max_tokens_arithmetic(callbacks):
    assert callbacks.capped_max_tokens(32000, 8000) == 8000
    assert callbacks.capped_max_tokens(4000, 8000) == 4000
    assert callbacks.capped_max_tokens(8000, 8000) == 8000
    assert callbacks.capped_max_tokens(64000, None) == 64000
    assert callbacks.capped_max_tokens(None, 8000) is None


def test_callback_lowers_only_the_tier_whose_deployment_sets_a_limit(callbacks):
    import asyncio

    haiku = asyncio.run(callbacks.output_limit.async_pre_call_hook(
        None, None, {"model": "qwen-3-coder", "max_tokens": 32000}, "anthropic_messages"))
    bedrock_id = asyncio.run(callbacks.output_limit.async_pre_call_hook(
        None, None, {"model": "us.anthropic.claude-haiku-4-5-v1:0", "max_tokens": 32000}, "x"))
    assert bedrock_id["max_tokens"] == 8000
    opus = asyncio.run(callbacks.output_limit.async_pre_call_hook(
        None, None, {"model": "claude-opus-4-6", "max_tokens": 64000}, "anthropic_messages"))
    assert haiku["max_tokens"] == 8000 and opus["max_tokens"] == 64000


def test_a_bedrock_model_gets_at_most_its_output_limit_in_litellms_map(tmp_path, monkeypatch):
    """All-Bedrock (rollback): Claude Code's sonnet asks 128000; Sonnet 4.6 on Bedrock takes
    64000. A tier's own cap wins; a model the map lacks keeps the client's value."""
    import asyncio

    callbacks = callbacks_beside_config(tmp_path, monkeypatch, mode="bedrock")

    def asked(model, max_tokens):
        return asyncio.run(callbacks.output_limit.async_pre_call_hook(
            None, None, {"model": model, "max_tokens": max_tokens}, "anthropic_messages"))["max_tokens"]

    assert asked("claude-sonnet-5-5", 128000) == 64000
    assert asked("claude-sonnet-5-5", 32000) == 32000
    assert asked("claude-opus-5-5", 128000) == 128000
    assert asked("qwen-3-coder", 32000) == 8000  # the haiku tier's own cap
    monkeypatch.setattr(sys.modules["litellm"], "model_cost", {})
    assert asked("claude-sonnet-5-5", 128000) == 128000


@pytest.mark.parametrize("config_name", ["routing.yaml"])
def test_modules_beside_the_config_read_no_config_file(callbacks, tmp_path):
    """--data litellm_config=.litellm/routing.yaml: no module looks for a config file (each asks
    LiteLLM's router which deployment a name resolves to); the record is where the launcher says."""
    assert not (tmp_path / "config.yaml").exists()
    for module in (callbacks, callbacks.bedrock_fields, callbacks.models):
        assert not hasattr(module, "CONFIG")
    assert callbacks.usage_record.path == str(tmp_path / "usage.tsv")


def test_without_aws_credentials_bedrock_tiers_are_answered_at_once_with_the_fix(
        tmp_path, monkeypatch):
    import asyncio

    problem = "no AWS credentials found for dev (~/.aws/config); fix: aws sso login --profile dev"
    monkeypatch.setenv(AWS_PROBLEM_ENV, problem)
    module = callbacks_beside_config(tmp_path, monkeypatch)
    guard = module.bedrock_credentials
    with pytest.raises(module.HTTPException) as refused:
        asyncio.run(guard.async_pre_call_hook(None, None, {"model": "qwen-3-coder"}, "x"))
    assert refused.value.status_code == 400  # Claude Code does not retry it
    assert problem in refused.value.detail and "start openClaude again" in refused.value.detail
    with pytest.raises(module.HTTPException):  # a Claude Haiku id of a Bedrock-era project too
        asyncio.run(guard.async_pre_call_hook(None, None, {"model": "us.anthropic.claude-haiku-4-5-v1:0"}, "x"))
    opus = {"model": "claude-opus-4-6", "max_tokens": 64000}
    assert asyncio.run(guard.async_pre_call_hook(None, None, opus, "x")) is opus


def test_with_aws_credentials_the_bedrock_guard_passes_every_request(callbacks):
    import asyncio

    haiku = {"model": "qwen-3-coder"}
    assert callbacks.bedrock_credentials.problem is None
    assert asyncio.run(callbacks.bedrock_credentials.async_pre_call_hook(None, None, haiku, "x")) is haiku


def test_backups_beyond_the_newest_are_chosen_by_time_then_same_second_number():
    from operations.model.backups import backups_beyond

    names = ["c.yaml.20240101T000000Z.bak", "c.yaml.20240101T000000Z.1.bak",
             "c.yaml.20240101T000000Z.10.bak", "c.yaml.20240101T000000Z.2.bak",
             "c.yaml.20240102T000000.bak", "c.yaml.mine.bak", "c.yaml.old.20240101T000000Z.bak"]
    assert backups_beyond("c.yaml", names, 3) == [
        "c.yaml.20240101T000000Z.1.bak", "c.yaml.20240101T000000Z.2.bak",
        "c.yaml.20240101T000000Z.bak"]
    assert backups_beyond("c.yaml", names, 6) == []
    assert backups_beyond("c.yaml", names, 1) == sorted(names[:5])


# The usage record and the Bedrock fallback guard in the same callback module.

def attempt(kind: str, text: str) -> dict:
    return {"exception_type": kind, "exception_string": text}


def test_usage_callback_records_a_success_without_text_headers_or_secrets(callbacks, tmp_path):
    import asyncio
    from datetime import datetime, timedelta

    started = datetime(2026, 12, 1, 9, 0, 0)
    kwargs = {
        "model": "anthropic/claude-opus-4-6",
        "headers": {"authorization": "Bearer sk-ant-oat01-SECRET"},
        "messages": [{"role": "user", "content": "the prompt text"}],
        "litellm_params": {"metadata": {"model_group": "claude-opus-4-6"}},
        "standard_logging_object": {"model": "anthropic/claude-opus-4-6", "custom_llm_provider": "anthropic",
                                    "prompt_tokens": 12, "completion_tokens": 5, "response_cost": 0.5},
    }
    asyncio.run(callbacks.usage_record.async_log_success_event(
        kwargs, None, started, started + timedelta(milliseconds=250)))

    usage_file = tmp_path / "usage.tsv"
    [line] = usage_file.read_text().splitlines()
    fields = dict(zip(callbacks.usage.FIELDS, line.split("\t")))
    assert fields | {"time": ""} == {"time": "", "group": "claude-opus-4-6", "upstream": "anthropic/claude-opus-4-6",
                                     "status": "200", "error": "", "input": "12", "output": "5",
                                     "latency_ms": "250", "fallback": "", "cost": ""}
    assert usage_file.stat().st_mode & 0o777 == 0o600
    assert "SECRET" not in line and "prompt text" not in line


def test_usage_callback_records_each_failed_attempt_by_kind(callbacks, tmp_path):
    import asyncio

    error = type("RateLimitError", (Exception,), {"status_code": 429})("rate limited")
    request = {"model": "anthropic/claude-opus-4-6", "litellm_metadata": {"model_group": "claude-opus-4-6"}}
    for _ in range(2):
        asyncio.run(callbacks.usage_record.async_post_call_failure_deployment_hook(
            request, error, "CallTypes.anthropic_messages"))
    # The Bedrock adapter's inner completion call is the same attempt: not counted twice.
    asyncio.run(callbacks.usage_record.async_post_call_failure_deployment_hook(
        request, error, "CallTypes.acompletion"))

    lines = (tmp_path / "usage.tsv").read_text().splitlines()
    assert [line.split("\t")[1:5] for line in lines] == [
        ["claude-opus-4-6", "anthropic/claude-opus-4-6", "429", "rate_limit"]] * 2


@pytest.mark.parametrize(("previous", "reason"), [
    (attempt("RateLimitError", "AnthropicException - rate_limit_error"), "rate_limit"),
    (attempt("InternalServerError", '{"type": "overloaded_error", "message": "Overloaded"}'), "overloaded"),
    (attempt("AuthenticationError", "OAuth authentication is currently not supported."), "oauth_refused"),
])
def test_fallback_hop_keeps_claude_codes_headers_off_bedrock(callbacks, previous, reason, caplog):
    import asyncio

    kwargs = {"model": "bedrock/converse/us.anthropic.claude-opus-4-6-v1",
              "headers": {"x-app": "cli", "x-claude-code-session-id": "s", "anthropic-beta": "oauth"},
              "litellm_metadata": {"model_group": "claude-opus-4-6-bedrock-fallback",
                                   "model_info": {"openclaude_fallback_for": "claude-opus-4-6"},
                                   "previous_models": [previous]}}
    with caplog.at_level(logging.WARNING, logger="litellm-proxy-stand-in"):
        hop = asyncio.run(callbacks.bedrock_fallback.async_pre_call_deployment_hook(
            kwargs, "CallTypes.anthropic_messages"))

    assert "headers" not in hop
    assert f"openClaude: claude-opus-4-6 fell back to Bedrock ({reason} from Anthropic)" in caplog.text


def test_fallback_hop_to_claude_on_bedrock_keeps_only_what_aws_documents(callbacks):
    import asyncio

    rule = {"fields": {"thinking": ["type", "budget_tokens"]}, "betas": ["context-1m-2025-08-07"]}
    kwargs = {"thinking": {"type": "adaptive", "display": "omitted"},
              "provider_specific_header": {"custom_llm_provider": "bedrock", "extra_headers": {
                  "anthropic-beta": "oauth-2025-04-20,context-1m-2025-08-07"}},
              "litellm_metadata": {"model_group": "claude-opus-4-6-bedrock-fallback",
                                   "model_info": {"openclaude_fallback_for": "claude-opus-4-6",
                                                  "openclaude_bedrock_claude": rule},
                                   "previous_models": [attempt("RateLimitError", "rate_limit_error")]}}
    hop = asyncio.run(callbacks.bedrock_fallback.async_pre_call_deployment_hook(
        kwargs, "CallTypes.anthropic_messages"))

    assert hop["thinking"] == {"type": "adaptive"}
    assert hop["provider_specific_header"]["extra_headers"] == {"anthropic-beta": "context-1m-2025-08-07"}


def test_a_fallback_the_pass_through_hands_over_carries_its_reason_and_no_header(callbacks, caplog):
    import asyncio

    kwargs = {"headers": {"x-app": "cli"}, "litellm_metadata": {
        "model_group": "claude-opus-4-6-bedrock-fallback",
        "model_info": {"openclaude_fallback_for": "claude-opus-4-6"},
        "headers": {"x-openclaude-fallback": "rate_limit"}}}
    with caplog.at_level(logging.WARNING, logger="litellm-proxy-stand-in"):
        hop = asyncio.run(callbacks.bedrock_fallback.async_pre_call_deployment_hook(
            kwargs, "CallTypes.anthropic_messages"))
    assert "headers" not in hop
    assert "fell back" not in caplog.text  # the pass-through logged it when it handed over
    refused = {"litellm_metadata": {**kwargs["litellm_metadata"],
                                    "headers": {"x-openclaude-fallback": "auth"}}}
    with pytest.raises(callbacks.TokenNotMasked):
        asyncio.run(callbacks.bedrock_fallback.async_pre_call_deployment_hook(
            refused, "CallTypes.anthropic_messages"))


def test_an_expired_token_is_not_masked_by_the_fallback(callbacks):
    import asyncio

    kwargs = {"litellm_metadata": {
        "model_group": "claude-opus-4-6-bedrock-fallback",
        "model_info": {"openclaude_fallback_for": "claude-opus-4-6"},
        "previous_models": [attempt("AuthenticationError", "OAuth token has expired.")]}}
    with pytest.raises(callbacks.TokenNotMasked):
        asyncio.run(callbacks.bedrock_fallback.async_pre_call_deployment_hook(
            kwargs, "CallTypes.anthropic_messages"))


def test_requests_to_a_tiers_own_deployment_pass_the_fallback_guard_unchanged(callbacks):
    import asyncio

    kwargs = {"headers": {"x-app": "cli"}, "litellm_metadata": {"model_group": "claude-opus-4-6"}}
    assert asyncio.run(callbacks.bedrock_fallback.async_pre_call_deployment_hook(
        kwargs, "CallTypes.anthropic_messages")) is None
    assert kwargs["headers"] == {"x-app": "cli"}


def test_fallback_config_routes_each_subscription_tier_to_its_bedrock_model():
    config = build_config(data(fallback_to_bedrock=True))

    fallbacks = {d["model_name"]: d for d in config["model_list"] if "model_info" in d
                 and "openclaude_fallback_for" in d["model_info"]}
    assert {name: d["litellm_params"]["model"] for name, d in fallbacks.items()} == {
        "claude-fable-5-2-bedrock-fallback": DEFAULTS["bedrock_fable_model"],
        "claude-opus-5-5-bedrock-fallback": DEFAULTS["bedrock_opus_model"],
        "claude-sonnet-5-5-bedrock-fallback": DEFAULTS["bedrock_sonnet_model"],
    }
    for deployment in fallbacks.values():
        assert deployment["model_info"]["openclaude_bedrock_claude"] == {
            "fields": DEFAULTS["bedrock_claude_fields"], "betas": DEFAULTS["bedrock_claude_betas"]}
    # A request falls back by the exact name asked for: the family's model, a pinned name.
    assert config["litellm_settings"]["fallbacks"] == [
        {"claude-fable-5-2": ["claude-fable-5-2-bedrock-fallback"]},
        {"claude-opus-5-5": ["claude-opus-5-5-bedrock-fallback"]},
        {"claude-sonnet-5-5": ["claude-sonnet-5-5-bedrock-fallback"]},
    ]
    assert config["router_settings"] == {"num_retries": 0, "disable_cooldowns": True}
    pinned = build_config(data(fallback_to_bedrock=True, opus_model_name="claude-opus-4-6[1m]"))
    for name in ("claude-opus-4-6", "claude-opus-5-5"):
        assert {name: [name + "-bedrock-fallback"]} in pinned["litellm_settings"]["fallbacks"]
    assert config["litellm_settings"]["callbacks"][-1] == "openclaude_callbacks.bedrock_fallback"
    # Claude Code's headers are forwarded to the Anthropic tiers only, never to a fallback.
    forwarded = config["litellm_settings"]["model_group_settings"]["forward_client_headers_to_llm_api"]
    assert forwarded and not [name for name in forwarded if name in fallbacks]


def test_fallback_is_off_by_default_and_never_in_the_all_bedrock_state():
    for config in (build_config(data()), build_config(data("bedrock", fallback_to_bedrock=True))):
        assert "fallbacks" not in config["litellm_settings"]
        assert config["router_settings"] == {"num_retries": 0}
        assert "openclaude_callbacks.bedrock_fallback" not in config["litellm_settings"]["callbacks"]


def test_fallback_to_bedrock_must_be_a_boolean():
    with pytest.raises(DataError, match="fallback_to_bedrock: expected true or false, got 'yes'"):
        data(fallback_to_bedrock="yes")


@pytest.mark.parametrize("kind", ["facts", "ops", "model"])
def test_each_module_in_operations_holds_one_kind_of_code(kind):
    """facts/ holds facts, ops/ operations, model/ pure code that never imports pyinfra."""
    import ast

    for path in sorted((REPO / "operations" / kind).glob("*.py")):
        tree = ast.parse(path.read_text())
        facts = [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                 and any(getattr(base, "id", None) == "FactBase" for base in node.bases)]
        operations = [node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                      and any("operation" in ast.unparse(d) for d in node.decorator_list)]
        imports_pyinfra = any(
            (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pyinfra"))
            or (isinstance(node, ast.Import) and any(a.name.startswith("pyinfra") for a in node.names))
            for node in ast.walk(tree))
        name = path.relative_to(REPO)
        if kind == "model":
            assert not (facts or operations or imports_pyinfra), f"{name}: not pure"
        else:
            assert not (operations if kind == "facts" else facts), f"{name}: facts and operations"


@pytest.mark.parametrize(("printed", "fix"), [
    ("API Error: 400 Third-party apps now draw from your extra usage, not your plan limits.",
     "third-party app's"),
    ("API Error: 400 This credential is only authorized for use with Claude Code and cannot be used "
     "for other API requests.", "another client's"),
    ("Your organization has disabled Claude subscription access for Claude Code · Use an Anthropic "
     "API key instead, or ask your admin to enable access", "ask its admin, or rollback.py"),
])
def test_verify_live_names_anthropics_newer_refusals_as_claude_code_prints_them(printed, fix):
    """What Claude Code 2.1.332 printed for each, straight at the stand-in (tests/test_passthrough.py)."""
    from operations.model.verify_checks import known_fix

    assert fix in known_fix(printed)


@pytest.mark.parametrize("size", [0, 1, 255, 256, 65_536, 1_000_003])
def test_the_digest_computed_here_is_the_one_cksum_prints_on_the_target(size):
    """Files are compared by POSIX cksum: computed here, printed by the target's cksum."""
    import random

    from operations.model.digest import cksum

    data = random.Random(size).randbytes(size)
    printed = subprocess.run(["cksum"], input=data, capture_output=True, check=True).stdout
    assert cksum(data) == printed.decode().strip()


def test_a_replace_leaves_a_file_that_changed_since_the_run_read_its_cksum(tmp_path):
    from operations.model.digest import cksum
    from operations.sh import call

    dest, tmp = tmp_path / "settings.json", tmp_path / ".settings.json.1.tmp"
    dest.write_text("read by the run")
    read = cksum(dest.read_bytes())
    dest.write_text("written by another run since")
    tmp.write_text("this run's")

    def replace(was: str) -> subprocess.CompletedProcess:
        return subprocess.run(["sh", "-c", call("files", "replace_file", dest, tmp, was, "600")],
                              capture_output=True, text=True)

    refused = replace(read)
    assert refused.returncode == 1 and "changed after this run read it" in refused.stderr
    assert dest.read_text() == "written by another run since" and not tmp.exists()
    tmp.write_text("this run's")
    replaced = replace(cksum(dest.read_bytes()))
    assert replaced.returncode == 0, replaced.stderr
    assert dest.read_text() == "this run's" and oct(dest.stat().st_mode & 0o777) == "0o600"
    assert [p.read_text() for p in tmp_path.glob("settings.json.*.bak")] == [
        "written by another run since"]
