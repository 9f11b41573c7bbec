"""Put this machine (or an inventory's) back into the all-Bedrock state: the official LiteLLM
release, all three tiers on Bedrock, Claude Code authenticating to the proxy with the master key.

    pyinfra @local rollback.py
"""

from operations.deploys.openclaude import openclaude

openclaude(mode="bedrock")
