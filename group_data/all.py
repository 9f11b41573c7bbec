"""Every default of the openClaude deploy, once. Override any of them with ``--data key=value``
or per group in ``group_data/<group>.py``. Paths are relative to the target user's home."""

# pip requirement for uv, installed for the target user (no sudo) only when uv is missing.
uv_requirement = "uv==0.13.9"

# Which LiteLLM the OAuth deploy installs: "release" (official, default) or "fork".
# Official releases carry the fork's OAuth forwarding (PR #19912) since 1.81.14; releases before
# 1.99.0, the fork included, also put the OAuth token on Bedrock requests (fixed by PR #37905).
litellm_source = "release"
# uv requirements. A bare URL is installed with the proxy extra: "litellm[proxy] @ URL".
# The release's exact pin installs every distribution from its lock, files/litellm-<version>.lock
# (version and sha256 each); any other requirement installs unlocked (docs/safety.md).
litellm_release = "litellm[proxy]==1.108.7"
# The plan's fork, LiteLLM ~1.81.4: without the fixes of later advisories (the deploy names them).
# Pin it to the commit you reviewed (@<40 hex digits); the branch's head could not be looked up
# here, so the default still names the branch, litellm_fork_branch.
litellm_fork = "git+https://github.com/iamadamreed/litellm.git@fix/anthropic-oauth-token-forwarding"
litellm_fork_branch = "fix/anthropic-oauth-token-forwarding"

litellm_port = 4000
aws_region = "us-west-2"
# Unset by default; set them for a corporate gateway or a test stand-in.
anthropic_api_base = None
bedrock_runtime_endpoint = None
# Seconds the launcher waits for the proxy's health check.
proxy_health_timeout = 90
# Backups kept per replaced file (the newest); the run that adds one removes older ones.
backups_kept = 5
# Seconds a run waits for another openClaude run on the same home before it gives up.
lock_wait = 60
# Opt-in: a login agent (a LaunchAgent on macOS, a systemd user unit on Linux) runs
# `openclaude --start` at login, so the first launch does not wait for LiteLLM's boot; the idle
# proxy then holds its memory all day (docs/performance.md). The rollback follows it too.
proxy_at_login = False

# The model name each Claude Code slot sends. None: the model Claude Code itself asks for (it
# follows Claude Code's updates); a name pins the slot (ANTHROPIC_DEFAULT_<SLOT>_MODEL). Slots,
# highest first: fable (a tier above opus), opus, sonnet (Claude Code's default), haiku.
fable_model_name = None
opus_model_name = None
sonnet_model_name = None
haiku_model_name = "qwen-3-coder"
# Ask Claude Code for the 1M context window on a pinned opus or sonnet name ("[1m]" after it).
long_context = True

# Each slot's model family, per state: "oauth" (deploy.py) and "bedrock" (rollback.py). The proxy
# answers every name of the family (claude-opus-..., Bedrock-style ids such as
# us.anthropic.claude-opus-4-6-v1:0, the pinned name; see docs/models.md). In the OAuth state a
# family whose model is an anthropic/ one sends each claude-<family>-... name to Anthropic as
# itself; its model here answers the Bedrock-style ids.
oauth_fable_model = "anthropic/claude-fable-5-2"
oauth_opus_model = "anthropic/claude-opus-5-5"
oauth_sonnet_model = "anthropic/claude-sonnet-5-5"
oauth_haiku_model = "bedrock/converse/qwen.qwen3-next-80b-a3b"
bedrock_fable_model = "bedrock/converse/us.anthropic.claude-fable-5-1"
bedrock_opus_model = "bedrock/converse/us.anthropic.claude-opus-4-6-v1"
bedrock_sonnet_model = "bedrock/converse/us.anthropic.claude-sonnet-4-6"
bedrock_haiku_model = "bedrock/converse/qwen.qwen3-next-80b-a3b"

# Opt-in: when Anthropic answers an opus or sonnet request with a rate limit (429), an overload
# (529/5xx) or the OAuth policy refusal, that tier's bedrock_*_model serves it (Bedrock bills the
# AWS account). An expired or revoked token is never masked.
fallback_to_bedrock = False

# Output-token cap per tier (None: the client's value passes). Bedrock rejects requests above
# the model's limit; 8000 is LiteLLM's map figure for Qwen3 Next 80B.
opus_output_limit = None
sonnet_output_limit = None
haiku_output_limit = 8000

# Context window Claude Code keeps each tier within (auto-compact), for a tier whose name Claude
# Code does not know (not "claude-..."): it assumes 1M tokens for those (2.1.332) and honours one
# window for all of them (CLAUDE_CODE_MAX_CONTEXT_TOKENS). 256000 is LiteLLM's map figure
# (max_input_tokens) for Qwen3 Next 80B; the deploy and verify.py check each against the map.
# Claude names get Claude Code's own window (1M with long_context, else 200K).
opus_context_window = None
sonnet_context_window = None
haiku_context_window = 256000

# Where things live on the target, relative to the user's home.
litellm_config = ".litellm/config.yaml"
master_key_file = ".litellm/master.key"
proxy_log = ".litellm/proxy.log"
proxy_pid_file = ".litellm/proxy.pid"
launcher = ".local/bin/openClaude"
launcher_alias = ".local/bin/openclaude"
claude_settings = ".claude/settings.json"
# openClaude's Claude Code home (CLAUDE_CONFIG_DIR); only settings.json in it is ours.
openclaude_dir = ".openClaude"
# The login agent's file (proxy_at_login): launchd's label is the file name without ".plist".
launch_agent = "Library/LaunchAgents/dev.openclaude.proxy.plist"
systemd_unit = ".config/systemd/user/openclaude-proxy.service"

# verify.py: also start the proxy and send one tiny prompt per tier.
live = False
# verify.py: the mode to check ("oauth" or "bedrock"); null checks the mode the host was deployed in.
verify_mode = None

# What reaches Claude on Bedrock: the request fields and betas AWS documents for Claude there
# (Converse additionalModelRequestFields / anthropic_beta); the proxy drops the rest of what
# Claude Code sends (e.g. thinking.display, which Claude Code itself sends only to Anthropic).
bedrock_claude_fields = {"thinking": ["type", "budget_tokens"], "output_config": ["effort"]}
bedrock_claude_betas = [
    "context-1m-2025-08-07",
    "effort-2025-11-24",
    "interleaved-thinking-2025-05-14",
]
