"""A process-local stand-in for the three redis-py calls the X clients cache with (`get`, `set(ex=)`,
`delete`), used when no Redis client is given; entries expire on the injected clock like Redis keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class MemoryCache:
    """`get(name) -> str | None`, `set(name, value, ex=seconds)`, `delete(name)`; `clock` in seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._items: dict[str, tuple[Any, float | None]] = {}

    def get(self, name: str) -> Any:
        value, expires = self._items.get(name, (None, None))
        if expires is not None and self.clock() >= expires:
            self._items.pop(name, None)
            return None
        return value

    def set(self, name: str, value: Any, ex: float | None = None) -> bool:
        self._items[name] = (value, None if ex is None else self.clock() + ex)
        return True

    def delete(self, *names: str) -> int:
        return sum(self._items.pop(name, None) is not None for name in names)
