"""Incremental ingestion into real Chroma with a real Redis docstore and the real model: unchanged input
embeds nothing, an edit re-embeds only its chunks, a deletion removes vectors, a failed run harms nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.embeddings import BaseEmbedding

from impressox_pipelines.rag.chunking import chunk_document, make_splitter
from impressox_pipelines.rag.docstore import namespace, open_docstore
from impressox_pipelines.rag.documents import load_document
from impressox_pipelines.rag.ingest import ingest_nodes
from impressox_pipelines.rag.keywords import KeywordCorpus
from impressox_pipelines.rag.retrieval import retrieve
from impressox_pipelines.rag.store import EmbeddingModelMismatch, open_collection

PARAGRAPHS = [
    "Validators stake ETH to propose and attest to blocks on the beacon chain.",
    "A slashing penalty burns part of the stake of a validator that signs conflicting blocks.",
    "Withdrawals of staked ETH became possible after the Shanghai upgrade in April 2023.",
    "Liquid staking tokens represent staked ETH and can be traded while the stake keeps earning.",
    "Rewards depend on the total amount staked across the network and on the validator's uptime.",
    "Running a validator at home needs 32 ETH, a reliable internet connection and a synced client.",
]


class FailingEmbedding(BaseEmbedding):
    """The real model, except that it raises once `fail_after` texts have been embedded — the failure
    of a run interrupted while embedding (out of memory, a killed worker)."""

    inner: BaseEmbedding
    fail_after: int

    def _get_text_embeddings(self, texts):
        if self.fail_after < len(texts):
            raise RuntimeError("embedding interrupted")
        self.fail_after -= len(texts)
        return self.inner._get_text_embeddings(texts)

    def _get_text_embedding(self, text):
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query):
        return self.inner._get_query_embedding(query)

    async def _aget_query_embedding(self, query):
        return self.inner._get_query_embedding(query)


class KnowledgeBase:
    """A folder of documents ingested into a real Chroma collection through the real pipeline."""

    def __init__(self, folder: Path, chroma, redis, model):
        self.folder, self.model = folder, model
        self.client, self.redis = chroma.get_client(), redis.get_client()
        self.collection = open_collection(self.client, "kb_test", model.name, model.dimension)
        self.docstore = open_docstore(self.redis, namespace("kb_test"))
        self.corpus = KeywordCorpus(self.redis, "kb_test")
        self.splitter = make_splitter(model.tokenize, chunk_size=48, chunk_overlap=0)

    def nodes(self):
        return [node for path in sorted(self.folder.glob("*.md"))
                for node in chunk_document(load_document(path).to_record(), self.splitter)]

    def ingest(self, embed_model=None):
        return ingest_nodes(self.nodes(), collection=self.collection, docstore=self.docstore,
                            embed_model=embed_model or self.model.embed_model, keyword_corpus=self.corpus)

    def texts(self) -> set[str]:
        return set(self.collection.get(include=["documents"])["documents"])

    def top(self, question: str):
        return retrieve(question, 1, client=self.client, model=self.model, redis=self.redis,
                        collections=["kb_test"])[0]


@pytest.fixture
def kb(tmp_path, chroma, redis_resource, model):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "staking.md").write_text("# Staking\n\n" + "\n\n".join(PARAGRAPHS) + "\n")
    (folder / "gas.md").write_text("# Gas\n\nGas fees on Ethereum are priced in gwei and rise when blocks are full.\n")
    return KnowledgeBase(folder, chroma, redis_resource, model)


def test_reingesting_unchanged_documents_embeds_nothing(kb):
    first = kb.ingest()
    assert first.embedded == first.inputs > 2 and first.unchanged == 0
    before = kb.collection.get(include=["embeddings"])
    second = kb.ingest()
    assert (second.embedded, second.unchanged, second.deleted) == (0, first.inputs, 0)
    after = kb.collection.get(include=["embeddings"])
    assert after["ids"] == before["ids"] and (after["embeddings"] == before["embeddings"]).all()


def test_an_edit_reembeds_only_the_changed_chunks(kb):
    first = kb.ingest()
    path = kb.folder / "staking.md"
    path.write_text(path.read_text().replace("32 ETH", "16 ETH with a restaking operator"))
    second = kb.ingest()
    assert 1 <= second.embedded < first.inputs - 1
    assert second.unchanged == second.inputs - second.embedded and second.deleted == 0
    assert not any("32 ETH" in text for text in kb.texts())
    assert "16 ETH" in kb.top("How much ETH do I need to run a validator at home?").text


def test_a_deleted_document_loses_its_vectors(kb):
    kb.ingest()
    gas_ids = [node.node_id for node in kb.nodes() if node.metadata["title"] == "Gas"]
    (kb.folder / "gas.md").unlink()
    report = kb.ingest()
    assert report.deleted == len(gas_ids) and report.embedded == 0
    assert kb.collection.get(ids=gas_ids)["ids"] == []
    assert all("gwei" not in text for text in kb.texts())


def test_a_run_failing_while_embedding_leaves_the_collection_as_it_was_and_the_next_run_repairs(kb):
    kb.ingest()
    before = kb.collection.get(include=["documents", "embeddings"])
    path = kb.folder / "staking.md"
    path.write_text(path.read_text().replace("Shanghai upgrade in April 2023", "Shapella upgrade"))
    (kb.folder / "gas.md").unlink()
    with pytest.raises(RuntimeError, match="embedding interrupted"):
        kb.ingest(FailingEmbedding(inner=kb.model.embed_model, fail_after=0))
    after = kb.collection.get(include=["documents", "embeddings"])
    assert after["ids"] == before["ids"] and after["documents"] == before["documents"]
    assert (after["embeddings"] == before["embeddings"]).all()
    assert "gwei" in kb.top("What are gas fees priced in?").text  # previous vectors still answer

    repaired = kb.ingest()
    assert repaired.embedded >= 1 and repaired.repaired == 1  # the gas chunk, orphaned by the failed run
    texts = kb.texts()
    assert any("Shapella" in t for t in texts) and not any("Shanghai" in t or "gwei" in t for t in texts)
    assert kb.ingest().embedded == 0


def test_a_collection_built_by_another_model_fails_fast_with_a_reembed_message(chroma, model):
    client = chroma.get_client()
    open_collection(client, "kb_other", "all-mpnet-base-v2", 768)
    with pytest.raises(EmbeddingModelMismatch) as excinfo:
        open_collection(client, "kb_other", model.name, model.dimension)
    message = str(excinfo.value)
    assert "all-mpnet-base-v2" in message and "768" in message and "384" in message
    assert "re-embed" in message and "impressox rag reset kb_other" in message
    client.create_collection("kb_foreign", embedding_function=None)  # made by something else: no record
    with pytest.raises(EmbeddingModelMismatch, match="no model record"):
        open_collection(client, "kb_foreign", model.name, model.dimension)


def test_duplicate_node_ids_are_refused(kb):
    nodes = kb.nodes()
    with pytest.raises(ValueError, match="unique"):
        ingest_nodes([*nodes, nodes[0]], collection=kb.collection, docstore=kb.docstore,
                     embed_model=kb.model.embed_model)


def test_the_keyword_corpus_follows_the_collection_and_costs_nothing_when_unchanged(kb):
    kb.ingest()
    ids = set(kb.collection.get(include=[])["ids"])
    assert kb.corpus.ids() == ids
    version = kb.corpus.version()
    kb.ingest()
    assert kb.corpus.version() == version  # nothing tokenized or written for unchanged records

    path = kb.folder / "staking.md"
    path.write_text(path.read_text().replace("32 ETH", "16 ETH"))
    (kb.folder / "gas.md").unlink()
    kb.ingest()
    assert kb.corpus.version() != version and kb.corpus.ids() == set(kb.collection.get(include=[])["ids"])
    tokens = {node_id: set(tokens) for node_id, tokens in zip(*kb.corpus.load(), strict=True)}
    assert any("16" in t for t in tokens.values()) and not any("32" in t for t in tokens.values())
    assert not any("gwei" in t for t in tokens.values())


def test_a_lost_keyword_corpus_is_rebuilt_from_the_text_chroma_stores(kb):
    kb.ingest()
    expected = kb.corpus.load()
    kb.redis.delete(kb.corpus.tokens_key)  # e.g. a collection filled before keyword retrieval existed
    report = kb.ingest()
    assert report.embedded == 0 and report.repaired == len(expected[0])
    assert kb.corpus.load() == expected
    assert kb.top("gwei").title == "Gas"
