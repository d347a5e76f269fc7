"""Reading Redis streams as bytes, the way every reader of the event layer does.

redis-py clients of this project decode replies (`decode_responses=True`); a stream reader needs one
that does not (see `events.codec`). `bytes_client` opens it on the same server with the same settings.
Entry ids are ASCII (`<ms>-<seq>`), so they are returned as `str`.
"""

from __future__ import annotations

from typing import Any

import redis

from impressox_pipelines.events.codec import RawFields

START = "0-0"


def bytes_client(client: redis.Redis) -> redis.Redis:
    """A client of the same server, database and credentials as `client`, returning bytes."""
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))


def entry_id_text(entry_id: bytes | str) -> str:
    return entry_id.decode("ascii") if isinstance(entry_id, bytes) else entry_id


def parse_entry_id(text: str) -> tuple[int, int]:
    """`"<ms>-<seq>"` (or `"<ms>"`) as a pair of integers, for ordering.

    Raises:
        ValueError: for anything that is not a Redis stream id.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a stream id")
    ms, sep, seq = text.partition("-")
    if not ms.isdigit() or (sep and not seq.isdigit()) or len(ms) > 20 or len(seq) > 20:
        raise ValueError(f"{text[:60]!r} is not a stream id")
    return int(ms), int(seq or 0)


def read_after(raw_client: redis.Redis, stream: str, after: str, count: int) -> list[tuple[str, RawFields]]:
    """Up to `count` entries with ids greater than `after`, oldest first (XRANGE, exclusive start)."""
    return [(entry_id_text(i), f) for i, f in raw_client.xrange(stream, min=f"({after}", count=count)]


def read_between(raw_client: redis.Redis, stream: str, first: str, last: str) -> list[tuple[str, RawFields]]:
    """Every entry from `first` to `last` inclusive, oldest first."""
    return [(entry_id_text(i), f) for i, f in raw_client.xrange(stream, min=first, max=last)]


def last_entry_id(client: Any, stream: str) -> str | None:
    """The newest entry id of `stream`, or None when it is empty or absent."""
    newest = client.xrevrange(stream, count=1)
    return entry_id_text(newest[0][0]) if newest else None
