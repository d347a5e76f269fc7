"""Applying the backend events published so far, as an apply run would: the event layer's own code."""

from __future__ import annotations

from typing import Any

from impressox_pipelines.events.apply import BatchReport, EventApplier
from impressox_pipelines.events.streams import START, read_after
from impressox_pipelines.stores import EVENTS_STREAM


def apply_published_events(redis_resource: Any, mongo_resource: Any) -> BatchReport:
    """Apply every entry of the events stream (one batch) to the resources' stores; returns the report."""
    entries = read_after(redis_resource.get_bytes_client(), EVENTS_STREAM, START, 100_000)
    return EventApplier(mongo_resource.get_database(), redis_resource.get_client()).apply_batch(entries)
