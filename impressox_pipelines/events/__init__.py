"""The event layer: the Redis Streams that connect the ImpressoX backend, the producers and delivery.

Streams, not pub/sub: an entry published while nobody listens stays until it is read. Names are in
`impressox_pipelines.stores`; one module per concern here, none importing Dagster:

- `codec`        — entries read as bytes and decoded field by field; `PoisonEntry` names what is wrong.
- `streams`      — the bytes client and the range reads every reader uses.
- `backend`      — `impressox:events`: publishing, decoding and validating backend events.
- `batches`      — cutting the backend events into batches for `redis_event_sensor`, and the record of
                   batches requested until their run applied them.
- `apply`        — applying a batch, with the applied-events record as the guard against doing it twice.
- `outbox`       — `impressox:notifications`: enqueueing, the delivery group's reader, parsing.
- `dead_letters` — `impressox:dead_letters`: what could not be handled, with its reason and raw fields.

One reader per stream: `redis_event_sensor` reads the backend events (and only the ids: nothing it reads
can stop it) and requests one run per batch; the delivery runs read the outbox through its consumer
group. The full formats, with each event type's `data`, are in docs/notify.md.
"""
