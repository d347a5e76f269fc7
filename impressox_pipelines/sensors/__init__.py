"""Sensors: one module per concern."""
