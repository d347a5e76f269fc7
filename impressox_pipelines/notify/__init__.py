"""Notification delivery: channels, formatting, delivery policy (no Dagster imports)."""
