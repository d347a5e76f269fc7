"""Cutting documents into chunks with stable ids, sized in the embedding model's own tokens.

A chunk's id is `<document source>#<chunk index>`: the same document cut the same way always yields
the same ids, so a re-run finds them in the docstore, and two documents (or two partitions) can never
collide the way positional ids (`str(i)`) do. A chunk's hash (llama-index's `TextNode.hash`, text plus
metadata) covers only what decides its vector, so an edit re-embeds only the chunks whose text
changed; time-varying facts (the file's mtime) are attached after de-duplication (see `ingest`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import MetadataMode, TextNode

from impressox_pipelines.rag.defaults import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE
from impressox_pipelines.rag.metadata import sanitize_metadata

# The only metadata embedded with the chunk text: the document title situates an otherwise
# anonymous passage ("The supply cap is 10 billion" → of which token?).
EMBEDDED_KEYS = ("title",)


def make_splitter(
    tokenize: Callable[[str], list[int]],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
) -> SentenceSplitter:
    """A `SentenceSplitter` measuring in the given tokenizer's tokens (never tiktoken, which downloads).

    Raises:
        ValueError: when the overlap is not smaller than the chunk size.
    """
    if chunk_overlap >= chunk_size:
        raise ValueError(f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})")
    return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap, tokenizer=tokenize)


def chunk_id(source: str, index: int) -> str:
    """The stable id of chunk `index` (0-based) of the document identified by `source`."""
    return f"{source}#{index}"


def chunk_document(record: dict[str, Any], splitter: SentenceSplitter) -> list[TextNode]:
    """Split one stored knowledge document (`LoadedDocument.to_record()` shape) into chunk nodes.

    Each node: id `chunk_id(source, i)`, the chunk text, and metadata `kind="document"`, `source`,
    `title`, `file_type`, `chunk_index`, `document_id` (= source, for filtering by document) and `url`
    when known. Only `title` is embedded with the text.
    """
    source, title = record["source"], record.get("title") or record["source"]
    metadata = sanitize_metadata(
        {
            "kind": "document",
            "source": source,
            "document_id": source,
            "title": title,
            "file_type": record.get("file_type"),
            "url": record.get("url"),
        }
    )
    excluded = [key for key in (*metadata, "chunk_index") if key not in EMBEDDED_KEYS]
    template = TextNode(text="", metadata={"title": title})
    metadata_str = template.get_metadata_str(mode=MetadataMode.EMBED)
    nodes = []
    for index, text in enumerate(splitter.split_text_metadata_aware(record["text"], metadata_str)):
        nodes.append(
            TextNode(
                id_=chunk_id(source, index),
                text=text,
                metadata={**metadata, "chunk_index": index},
                excluded_embed_metadata_keys=excluded,
                excluded_llm_metadata_keys=excluded,
            )
        )
    return nodes
