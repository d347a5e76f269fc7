"""`impressox rag query "…" --k 5 [--json]` and `impressox rag reset COLLECTION`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import typer

from impressox_pipelines.cli.app import app
from impressox_pipelines.rag.defaults import DOCUMENTS_COLLECTION, TWEETS_COLLECTION

# The collections `rag query` searches: what the RAG assets write.
SEARCHED = (DOCUMENTS_COLLECTION, TWEETS_COLLECTION)

rag_app = typer.Typer(help="Query and maintain the RAG knowledge base.", no_args_is_help=True)
app.add_typer(rag_app, name="rag")


class PassageKind(StrEnum):
    """The `kind` metadata of stored passages: rag/chunking.py writes documents, rag/tweets.py tweets."""

    DOCUMENT = "document"
    TWEET = "tweet"


@contextmanager
def _stores() -> Iterator[Any]:
    """The stores of the code location (`connections.open_stores`): `.chroma`, `.redis`, `.settings`."""
    from impressox_pipelines.connections import open_stores

    with open_stores() as stores:
        yield stores


def _holds_none_of(client: Any, collections: tuple[str, ...]) -> bool:
    """True when none of `collections` exists: `retrieve` would find nothing there, so the embedding model
    (seconds to load) is not needed to say so."""
    existing = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    return not existing.intersection(collections)


@rag_app.command()
def query(
    text: str = typer.Argument(..., help="The question."),
    k: int = typer.Option(5, "--k", min=1, max=100, help="How many passages."),
    kind: PassageKind | None = typer.Option(None, help="Only passages of this kind."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Print the passages closest to a question, best first, with score and source."""
    with _stores() as stores:
        client = stores.chroma.get_client()
        if text.strip() and _holds_none_of(client, SEARCHED):
            chunks = []
        else:
            from impressox_pipelines.rag.embedding import load_embedding_model
            from impressox_pipelines.rag.retrieval import retrieve
            from impressox_pipelines.rag.store import EmbeddingModelMismatch

            try:
                chunks = retrieve(text, k, {"kind": str(kind)} if kind else None, client=client,
                                  model=load_embedding_model(stores.settings.embedding_model_path),
                                  collections=SEARCHED)
            except (ValueError, EmbeddingModelMismatch) as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
    if as_json:
        for chunk in chunks:
            typer.echo(json.dumps(chunk.to_dict(), ensure_ascii=False, default=str))
        return
    if not chunks:
        typer.echo("no passages: the knowledge base is empty (materialize document_embeddings first)")
        return
    for rank, chunk in enumerate(chunks, start=1):
        typer.echo(f"{rank}. [{chunk.score:.3f}] {chunk.title} — {chunk.source}")
        typer.echo("   " + " ".join(chunk.text.split())[:400])


@rag_app.command()
def reset(
    collection: str = typer.Argument(..., help="Chroma collection to drop (e.g. impressox_documents)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Drop a collection and its docstore, so the next materialization re-embeds everything."""
    from impressox_pipelines.rag.docstore import clear_namespaces
    from impressox_pipelines.rag.metadata import sanitize_collection_name

    try:
        name = sanitize_collection_name(collection)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'COLLECTION'") from None
    if name != collection:
        raise typer.BadParameter(f"{collection!r} is not a collection name (did you mean {name!r}?)",
                                 param_hint="'COLLECTION'")
    if not yes:
        typer.confirm(f"Drop Chroma collection {name!r} and its docstore?", abort=True)
    with _stores() as stores:
        client = stores.chroma.get_client()
        existing = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        if name in existing:
            client.delete_collection(name)
        keys = clear_namespaces(stores.redis.get_client(), name)
    typer.echo(f"dropped collection {name!r} ({'existed' if name in existing else 'absent'}), "
               f"{keys} docstore key(s); materialize the embedding assets to re-embed")
