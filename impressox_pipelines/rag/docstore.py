"""The persisted llama-index docstore (Redis) that remembers what is embedded, by id and hash.

One namespace per Chroma collection (`impressox:rag:<collection>`) and, for partitioned inputs, per
partition (`impressox:rag:<collection>:<partition>`), because upsert-and-delete removes whatever the
run did not see: a partition's run must only see, and delete within, its own partition.
`RedisDocumentStore` keeps three hashes per namespace: `<ns>/doc`, `<ns>/metadata`, `<ns>/ref_doc_info`.
"""

from __future__ import annotations

from typing import Any

import redis

from impressox_pipelines.stores import RAG_DOCSTORE_PREFIX


def namespace(collection: str, partition: str | None = None) -> str:
    """The docstore namespace of a collection, or of one partition of it."""
    base = f"{RAG_DOCSTORE_PREFIX}:{collection}"
    return f"{base}:{partition}" if partition else base


def bytes_client(client: redis.Redis) -> redis.Redis:
    """A client on the same server returning `bytes`.

    llama-index's `RedisKVStore` decodes hash keys itself (`key.decode()`), so it needs a client
    without `decode_responses`; the project's `RedisResource` client decodes.
    """
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))


def open_docstore(client: redis.Redis, ns: str) -> Any:
    """A `RedisDocumentStore` in namespace `ns` on the server behind `client`."""
    import contextlib
    import io

    from llama_index.storage.docstore.redis import RedisDocumentStore

    # RedisKVStore prints that it cannot derive an async client from a client without a URL (a unix
    # socket); the pipeline only takes the synchronous path, so the line is noise.
    with contextlib.redirect_stdout(io.StringIO()):
        return RedisDocumentStore.from_redis_client(bytes_client(client), namespace=ns)


def clear_namespaces(client: redis.Redis, collection: str) -> int:
    """Delete the docstore of a collection and of all its partitions; returns the keys deleted."""
    base = namespace(collection)
    keys = [*client.scan_iter(match=f"{base}/*"), *client.scan_iter(match=f"{base}:*/*")]
    return client.delete(*keys) if keys else 0
