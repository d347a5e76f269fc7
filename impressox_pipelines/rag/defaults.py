"""Defaults of the knowledge base, in a module that imports nothing heavy: the code location (loaded by
every run) needs them for configuration defaults, llama-index only when RAG work runs. The collections'
names are in `impressox_pipelines.stores`."""

# Defaults in word pieces of the embedding model: all-MiniLM-L6-v2 reads at most 256 (including the
# [CLS]/[SEP] tokens and the "title: …" line embedded with each chunk), and was trained on pairs of
# up to 128, so chunks of ~200 leave room for the title without truncation.
DEFAULT_CHUNK_SIZE = 200
DEFAULT_CHUNK_OVERLAP = 30
