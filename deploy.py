"""Put this machine (or an inventory's) into the openClaude state: opus and sonnet through the
Anthropic API with the Claude plan's OAuth token, haiku on AWS Bedrock, all via a local LiteLLM.

    pyinfra @local deploy.py
"""

from operations.deploys.openclaude import openclaude

openclaude(mode="oauth")
