"""Maintenance tickets: what the rule engine's breaches become, and what crews work on."""
