"""Local stand-ins for the upstream APIs the LiteLLM proxy talks to (Anthropic Messages, Bedrock Runtime)."""
