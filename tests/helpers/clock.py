"""A clock that moves only when a test moves it: what the sensors and the price-feed state take as `now`."""

from __future__ import annotations

import time


class ManualClock:
    """Epoch seconds, starting at the real time's whole second (so prices fetched now are "now" for it, and
    times derived from it in whole milliseconds are exact), moved only by `advance`.

    Call it to read the time, as the production code calls `time.time`.
    """

    def __init__(self) -> None:
        self.epoch_s = float(int(time.time()))

    def __call__(self) -> float:
        return self.epoch_s

    def advance(self, seconds: float) -> None:
        self.epoch_s += seconds
