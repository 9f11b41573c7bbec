"""The Bedrock fallback's guard (files/openclaude_callbacks.py): only the reasons docs/models.md
lists fall back; every other answer Anthropic gives reaches Claude Code. End to end in
tests/test_no_fallback.py; here every kind, quickly."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.standins.anthropic import ERRORS
from tests.test_units import callbacks, config_name  # noqa: F401  (fixtures)

# Each answer of the Anthropic stand-in (ERRORS), as the router's record of the failed attempt:
# the exception LiteLLM 1.108.5's mapping raises for it (exception_mapping_utils,
# _map_anthropic_exception) and its text. None: not a reason to fall back.
ATTEMPTS = {
    "rate_limit": ("RateLimitError", "rate_limit"),
    "plan_limit": ("RateLimitError", "rate_limit"),
    "overloaded": ("InternalServerError", "overloaded"),
    "oauth_refused": ("AuthenticationError", "oauth_refused"),
    "token_expired": ("AuthenticationError", None),
    "invalid_request": ("BadRequestError", None),
    "prompt_too_long": ("ContextWindowExceededError", None),
    "permission": ("PermissionDeniedError", None),
    "not_found": ("NotFoundError", None),
    "request_too_large": ("BadRequestError", None),
    "claude_code_only": ("BadRequestError", None),
}
# Kinds LiteLLM has beside those (and one it may add): none of them may fall back either.
OTHER_KINDS = ("UnprocessableEntityError", "PaymentRequiredError", "ContentPolicyViolationError",
               "APIError", "BudgetExceededError", "SomeErrorALaterLiteLLMAdds")


def attempt_record(failure: str) -> dict:
    status, kind, message = ERRORS[failure]
    body = f'{{"type": "error", "error": {{"type": "{kind}", "message": "{message}"}}}}'
    return {"exception_type": ATTEMPTS[failure][0],
            "exception_string": f"litellm.{ATTEMPTS[failure][0]}: AnthropicException - {body}"}


def fallback_hop(callbacks, previous: dict):  # noqa: F811
    kwargs = {"model": "bedrock/converse/us.anthropic.claude-opus-4-6-v1",
              "headers": {"x-app": "cli"},
              "litellm_metadata": {"model_group": "claude-opus-4-6-bedrock-fallback",
                                   "model_info": {"openclaude_fallback_for": "claude-opus-4-6"},
                                   "previous_models": [previous]}}
    return asyncio.run(callbacks.bedrock_fallback.async_pre_call_deployment_hook(
        kwargs, "CallTypes.anthropic_messages"))


def test_every_answer_of_the_standin_is_classified_here():
    assert set(ATTEMPTS) == set(ERRORS)


@pytest.mark.parametrize("failure", [name for name, (_, reason) in ATTEMPTS.items() if reason is None])
def test_an_answer_that_is_no_reason_never_reaches_bedrock(callbacks, failure, caplog):  # noqa: F811
    with caplog.at_level(logging.WARNING, logger="litellm-proxy-stand-in"), \
            pytest.raises(callbacks.TokenNotMasked):
        fallback_hop(callbacks, attempt_record(failure))
    assert callbacks.attempt_reason(attempt_record(failure)) not in callbacks.usage.FALLBACK_REASONS
    assert "not falling back to Bedrock" in caplog.text


@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_an_error_kind_the_guard_does_not_know_is_no_reason(callbacks, kind):  # noqa: F811
    previous = {"exception_type": kind, "exception_string": f"litellm.{kind}: something Error"}
    with pytest.raises(callbacks.TokenNotMasked):
        fallback_hop(callbacks, previous)


@pytest.mark.parametrize("failure", [name for name, (_, reason) in ATTEMPTS.items() if reason])
def test_each_documented_reason_falls_back_under_its_name(callbacks, failure):  # noqa: F811
    hop = fallback_hop(callbacks, attempt_record(failure))
    assert "headers" not in hop
    assert callbacks.attempt_reason(attempt_record(failure)) == ATTEMPTS[failure][1]


def test_the_reasons_are_the_documented_ones(callbacks):  # noqa: F811
    assert set(callbacks.usage.FALLBACK_REASONS) == {"rate_limit", "overloaded", "server_error", "oauth_refused"}
