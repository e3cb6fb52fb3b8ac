"""The /automations pages."""
