"""`impressox rag query "…" --k 5 [--include-flagged] [--mode hybrid|dense|keyword] [--json]` and
`impressox rag reset COLLECTION`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import typer

from impressox_pipelines.cli.app import app

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


class Mode(StrEnum):
    HYBRID = "hybrid"
    DENSE = "dense"
    KEYWORD = "keyword"


class FusionMethod(StrEnum):
    RRF = "rrf"
    WEIGHTED = "weighted"


@rag_app.command()
def query(
    text: str = typer.Argument(..., help="The question."),
    k: int = typer.Option(5, "--k", min=1, max=100, help="How many passages."),
    kind: PassageKind | None = typer.Option(None, help="Only passages of this kind."),
    include_flagged: bool = typer.Option(False, "--include-flagged",
                                         help="Also show posts flagged as scams, marked with the reasons."),
    mode: Mode = typer.Option(Mode.HYBRID, help="Dense (embeddings), keyword (BM25) or both fused."),
    fusion: FusionMethod = typer.Option(FusionMethod.RRF, help="Reciprocal-rank fusion or a weighted sum."),
    dense_weight: float = typer.Option(0.5, min=0.0, max=1.0, help="Weight of the dense side (weighted sum)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Print the passages that best answer a question, best first, with score and source."""
    from impressox_pipelines.rag.retrieval import Fusion, check_query, collection_sizes, retrieve

    with _stores() as stores:
        chroma = stores.chroma
        try:
            check_query(text)
            # Counted before the model is loaded (seconds, ~700 MB): an empty store needs no model to say so.
            sizes = collection_sizes(chroma.get_client())
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        chunks = []
        if any(sizes.values()):
            from impressox_pipelines.rag.embedding import load_embedding_model
            from impressox_pipelines.rag.store import EmbeddingModelMismatch

            try:
                model = load_embedding_model(stores.settings.embedding_model_path) if mode != Mode.KEYWORD else None
                chunks = retrieve(text, k, {"kind": str(kind)} if kind else None, client=chroma.get_client(),
                                  model=model, redis=stores.redis.get_client(), mode=str(mode),
                                  fusion=Fusion(str(fusion), dense_weight=dense_weight),
                                  include_flagged=include_flagged)
            except (ValueError, EmbeddingModelMismatch) as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
    if as_json:
        for chunk in chunks:
            typer.echo(json.dumps(chunk.to_dict(), ensure_ascii=False, default=str))
        return
    if not chunks:
        typer.echo("no passages: the knowledge base is empty (materialize document_embeddings first)"
                   if not any(sizes.values()) else "no passage matches")
        return
    for rank, chunk in enumerate(chunks, start=1):
        typer.echo(f"{rank}. [{chunk.score:.4f}] {chunk.title} — {chunk.source}")
        if chunk.flagged:
            risk = chunk.metadata.get("scam_risk")
            probability = chunk.metadata.get("scam_probability")
            model_part = f", model probability {probability:.2f}" if probability is not None else ""
            typer.echo(f"   ⚠ FLAGGED AS A SCAM (risk {risk:g}{model_part}): " + "; ".join(chunk.flag_reasons))
        typer.echo("   " + " ".join(chunk.text.split())[:400])


@rag_app.command()
def reset(
    collection: str = typer.Argument(..., help="Chroma collection to drop (e.g. impressox_documents)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Drop a collection and its docstore, so the next materialization re-embeds everything."""
    from impressox_pipelines.rag.docstore import clear_namespaces
    from impressox_pipelines.rag.metadata import InvalidCollectionName, check_collection_name

    try:
        name = check_collection_name(collection)
    except InvalidCollectionName as exc:
        # A path or a name with stray characters usually ends in the name that was meant.
        meant = re.sub(r"^[^a-zA-Z0-9]+|[^a-zA-Z0-9]+$", "", re.split(r"[^a-zA-Z0-9._-]", collection)[-1])
        try:
            message = f"{collection!r} is not a collection name (did you mean {check_collection_name(meant)!r}?)"
        except InvalidCollectionName:
            message = str(exc)
        raise typer.BadParameter(message, param_hint="'COLLECTION'") from None
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
