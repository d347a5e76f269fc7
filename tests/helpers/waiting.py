"""Bounded polling for a state another process reaches: a test waits for the final state, never for time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.1) -> T:
    """Call `check` every `interval_s` seconds until it returns something truthy, and return that.

    Raises:
        AssertionError: naming `what` when `timeout_s` seconds pass first (the last value is shown).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout_s:g} s still waiting for {what} (last seen: {value!r})")
        time.sleep(interval_s)
