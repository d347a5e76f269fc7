"""RAG test helpers: resources over temporary stores, running the document assets, reading metadata,
and small inputs (a minimal PDF, tweet documents)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dagster as dg


def minimal_pdf(text: str) -> bytes:
    """A valid one-page PDF (PDF 1.4, Helvetica) showing `text`, with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def tweet_doc(tweet_id: str, text: str, day: str = "2024-03-01", **extra) -> dict:
    """A MongoDB `tweets` document as the scraper stores it (`Tweet.to_document()` + `partition_date`)."""
    from impressox_pipelines.x.models import Tweet

    created = datetime.fromisoformat(f"{day}T12:00:00+00:00")
    handle = extra.pop("author_handle", "arbitrum")
    # The display name is the handle: a name copied from a project would be read as impersonation.
    tweet = Tweet(id=tweet_id, author_id="42", author_handle=handle, author_name=extra.pop("author_name", handle),
                  created_at=created, text=text, **extra)
    return {**tweet.to_document(), "partition_date": day}


def make_resources(data: Path, embedding_model_resource) -> dict:
    from impressox_pipelines.resources.chroma import ChromaResource
    from impressox_pipelines.resources.mongo import MongoResource
    from impressox_pipelines.resources.redis import RedisResource

    return {
        "mongo": MongoResource(data_dir=str(data)),
        "redis": RedisResource(data_dir=str(data)),
        "chroma": ChromaResource(data_dir=str(data)),
        "embedding_model": embedding_model_resource,
    }


def close_resources(resources: dict) -> None:
    for key in ("mongo", "redis"):
        resources[key].close()
    resources["chroma"].teardown_after_execution(None)


def documents_config(folder: Path, **embedding_config) -> dict:
    ops = {"knowledge_documents": {"config": {"folder": str(folder)}}}
    if embedding_config:
        ops["document_embeddings"] = {"config": embedding_config}
    return {"ops": ops}


def materialize_documents(resources: dict, folder: Path, **embedding_config) -> dg.ExecuteInProcessResult:
    """Materialize `knowledge_documents` then `document_embeddings` over `folder`."""
    from impressox_pipelines.assets.rag import document_embeddings, knowledge_documents

    return dg.materialize([knowledge_documents, document_embeddings], resources=resources,
                          run_config=documents_config(folder, **embedding_config))


def asset_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """The metadata of the asset's materialization, as plain values."""
    [event] = result.asset_materializations_for_node(asset)
    return {key: getattr(value, "value", value) for key, value in event.metadata.items()}
