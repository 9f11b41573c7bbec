"""Overrides for the hosts in the ``eu_team`` group (see inventory/team.py).

Any key of group_data/all.py can be set here; it applies to this group's hosts only and yields
to per-host data in the inventory and to ``--data``.
"""

# The EU team's AWS account uses Bedrock in Ireland: the haiku tier (and, after rollback.py,
# every tier) is called there.
aws_region = "eu-west-1"

# rollback.py's opus and sonnet defaults are US cross-region inference profiles ("us." ids).
# An EU account calls the EU profiles instead; check the ids your account offers
# (aws bedrock list-inference-profiles --region eu-west-1) and set them here, e.g.
# bedrock_opus_model = "bedrock/converse/eu.anthropic.claude-opus-4-6-v1"
# bedrock_sonnet_model = "bedrock/converse/eu.anthropic.claude-sonnet-4-6"
