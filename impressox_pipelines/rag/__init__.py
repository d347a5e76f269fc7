"""RAG knowledge base, plain Python (no Dagster): loading, chunking, incremental ingestion into Chroma, retrieval.

Flow: `documents` turns files into validated llama-index `Document`s (or skips them with a reason),
`chunking` cuts them into `TextNode`s with stable ids, `tweets` turns tweet records into one node each,
`ingest` runs a llama-index `IngestionPipeline` with a persisted docstore (upserts and deletes), a
staged Chroma writer and the BM25 corpus of `keywords`, `scam` turns the airdrop detector's decisions
into the metadata that keeps flagged posts out of answers, and `retrieval` answers queries (dense and
keyword rankings fused). The Dagster shell is `assets/rag.py`.
"""
