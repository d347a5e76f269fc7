"""`price_rule_sensor` reads its cursor defensively: a cursor of an older or corrupt format is replaced,
with a warning, by an empty one — never a crashed tick."""

from __future__ import annotations

import json

import pytest

from impressox_pipelines.sensors.price_rules import read_cursor


def test_a_good_cursor_is_read_back():
    seen, warning = read_cursor(json.dumps({"prices": {"BTC/USD": [1_700_000_000_000, "64000.5"]}}))
    assert seen == {"BTC/USD": (1_700_000_000_000, "64000.5")} and warning is None


def test_no_cursor_is_an_empty_one():
    assert read_cursor(None) == ({}, None)


@pytest.mark.parametrize("raw", [
    "17",  # a bare number (an older format)
    "not json",
    "[]",
    '{"other": {}}',
    '{"prices": []}',
    '{"prices": {"BTC/USD": [1, 2, 3]}}',
    '{"prices": {"BTC/USD": ["1", "64000"]}}',
    '{"prices": {"BTC/USD": [1, 64000]}}',
    '{"prices": {"BTC/USD": [true, "64000"]}}',
    '{"prices": {"BTC/USD": [1, "NaN"]}}',
    '{"prices": {"BTC/USD": [1, "abc"]}}',
])
def test_an_unreadable_cursor_is_replaced_with_a_warning(raw):
    seen, warning = read_cursor(raw)
    assert seen == {} and "unreadable cursor" in warning
