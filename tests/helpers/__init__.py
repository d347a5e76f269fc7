"""Helpers shared by several test packages (fixtures stay in conftest.py; plain functions live here)."""
