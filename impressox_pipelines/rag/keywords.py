"""Keyword (BM25) retrieval beside the dense index: crypto-aware tokens, a corpus kept in Redis, bm25s.

Crypto questions hinge on exact terms where a small sentence-embedding model is weakest: `$ARB`,
`0x…` addresses, `@handles`, block numbers, dates, amounts. `tokenize` keeps those whole (a ticker or a
handle also yields its bare word, so "ARB" still meets "$ARB"), lower-cases, drops English stop words
and stems plain words with Snowball (PyStemmer).

The corpus of a Chroma collection is a Redis hash of record id → tokens (`<docstore namespace>/
keyword_tokens`, so `impressox rag reset` clears it with the docstore), written by ingestion for the
records it embeds and deletes, and reconciled with the collection's ids after each run (records it
lacks are tokenized from the text Chroma stores: a collection filled before keyword retrieval existed
is indexed on its next run). Tokenizing is the per-record cost, so an unchanged record costs nothing;
the bm25s index is rebuilt from the stored tokens at query time when the corpus changed (a random
version token changes with every write) and kept per process otherwise.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from impressox_pipelines.rag.docstore import namespace

_TOKEN = re.compile(
    r"""
    (?P<address>0x[0-9a-f]{6,})                                   # addresses, tx hashes
   |(?P<cashtag>\$[a-z][a-z0-9]{0,14})(?![\w.])                   # $arb
   |(?P<handle>(?<![\w@])@\w{1,15})                               # @arbitrum
   |(?P<date>\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})(?!\d)     # 2023-03-23, 23/03/2023
   |(?P<number>\d+(?:[.,]\d+)*%?)                                 # 58,642,080 · 0.5 · 2%
   |(?P<word>[^\W\d_]\w*)
    """,
    re.VERBOSE,
)
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?%?")
WRITE_BATCH = 1000
CACHED_INDEXES = 8


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """BM25 tokens of `text`, in order.

    `$ARB` → `$arb`, `arb`; `@Arbitrum` → `@arbitrum`, `arbitrum`; `0xAbC…` → `0xabc…` (whole);
    `58,642,080` → `58642080`; `2%`, `0.5`, `2023-03-23` and `23/03/2023` stay whole; a comma list of
    numbers (`1,2`) is split; plain words are lower-cased and stemmed, stop words and one-letter words
    dropped.
    """
    tokens: list[str] = []
    words: list[tuple[int, str]] = []  # (position in tokens, word): stemmed together at the end
    stop = _stopwords()
    for match in _TOKEN.finditer(text.lower()):
        kind, value = match.lastgroup, match.group()
        if kind == "cashtag" or kind == "handle":
            tokens.append(value)
            words.append((len(tokens), value[1:]))
            tokens.append(value[1:])
        elif kind == "number":
            if _THOUSANDS.fullmatch(value):
                tokens.append(value.replace(",", ""))
            else:
                tokens.extend(part for part in value.split(",") if part)
        elif kind == "word":
            if len(value) > 1 and value not in stop:
                words.append((len(tokens), value))
                tokens.append(value)
        else:
            tokens.append(value)
    if words:
        for (position, _), stem in zip(words, _stemmer().stemWords([w for _, w in words]), strict=True):
            tokens[position] = stem
    return tokens


def keyword_text(text: str, metadata: Mapping[str, Any]) -> str:
    """What a record is indexed by: its title (a document's title, a tweet's `@handle`) and its text."""
    title = metadata.get("title")
    return f"{title}\n{text}" if title else text


def _keys(collection_name: str) -> tuple[str, str]:
    base = namespace(collection_name)
    return f"{base}/keyword_tokens", f"{base}/keyword_version"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class KeywordCorpus:
    """The token corpus of one Chroma collection, in Redis (see the module doc)."""

    def __init__(self, client: Any, collection_name: str):
        self.client = client
        self.collection_name = collection_name
        self.tokens_key, self.version_key = _keys(collection_name)

    def update(self, texts: Mapping[str, str], deleted: Iterable[str] = ()) -> None:
        """Store the tokens of `texts` (id → text to index) and forget `deleted` ids."""
        gone = sorted(set(deleted) - set(texts))
        items = [(node_id, " ".join(tokenize(text))) for node_id, text in texts.items()]
        for start in range(0, len(items), WRITE_BATCH):
            self.client.hset(self.tokens_key, mapping=dict(items[start:start + WRITE_BATCH]))
        for start in range(0, len(gone), WRITE_BATCH):
            self.client.hdel(self.tokens_key, *gone[start:start + WRITE_BATCH])
        if items or gone:
            self.client.set(self.version_key, uuid.uuid4().hex)

    def ids(self) -> set[str]:
        return {_text(key) for key in self.client.hkeys(self.tokens_key)}

    def sync(self, collection: Any) -> int:
        """Make the corpus hold exactly the collection's records; returns how many entries it fixed.

        Records without tokens are tokenized from the text and title Chroma stores for them.
        """
        stored = set(collection.get(include=[])["ids"])
        known = self.ids()
        missing = sorted(stored - known)
        texts = {}
        for start in range(0, len(missing), WRITE_BATCH):
            found = collection.get(ids=missing[start:start + WRITE_BATCH], include=["documents", "metadatas"])
            for node_id, text, metadata in zip(found["ids"], found["documents"], found["metadatas"], strict=True):
                texts[node_id] = keyword_text(text or "", metadata or {})
        self.update(texts, known - stored)
        return len(missing) + len(known - stored)

    def version(self) -> str | None:
        value = self.client.get(self.version_key)
        return None if value is None else _text(value)

    def load(self) -> tuple[list[str], list[list[str]]]:
        """`(ids, tokens)` of every record, in a stable order."""
        entries = sorted((_text(k), _text(v).split()) for k, v in self.client.hgetall(self.tokens_key).items())
        return [node_id for node_id, _ in entries], [tokens for _, tokens in entries]


@dataclass(frozen=True)
class KeywordHit:
    collection: str
    id: str
    score: float  # BM25 score (> 0), comparable only within one search


class KeywordIndex:
    """A bm25s index over the corpora of several collections, searched as one corpus."""

    def __init__(self, entries: Sequence[tuple[str, str]], tokens: Sequence[list[str]]):
        self.entries = list(entries)  # (collection, id) per document of the index
        self._bm25 = None
        if self.entries:
            import bm25s

            # bm25s sets its own logger to DEBUG when imported: every index build would print a line.
            logging.getLogger("bm25s").setLevel(logging.WARNING)
            self._bm25 = bm25s.BM25()
            self._bm25.index(list(tokens), show_progress=False)

    def search(self, query_tokens: Sequence[str], n: int) -> list[KeywordHit]:
        """The best `n` records with a positive score for `query_tokens`, best first (ties by position)."""
        if self._bm25 is None:
            return []
        vocabulary = self._bm25.vocab_dict
        known = [token for token in query_tokens if token in vocabulary]
        if not known:
            return []
        import numpy as np

        scores = self._bm25.get_scores(known)
        positive = np.flatnonzero(scores > 0)
        order = positive[np.lexsort((positive, -scores[positive]))][:n]
        return [KeywordHit(*self.entries[i], float(scores[i])) for i in order]


_CACHE: dict[tuple, tuple[tuple, KeywordIndex]] = {}
_CACHE_LOCK = threading.Lock()


def keyword_index(client: Any, collection_names: Sequence[str]) -> KeywordIndex:
    """The index over the named collections' corpora, rebuilt only when one of them changed since the
    last call in this process (a new version token)."""
    corpora = [KeywordCorpus(client, name) for name in collection_names]
    versions = tuple(corpus.version() for corpus in corpora)
    key = (id(client.connection_pool), tuple(collection_names))
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached[0] == versions:
            return cached[1]
    entries, tokens = [], []
    for corpus in corpora:
        ids, corpus_tokens = corpus.load()
        entries += [(corpus.collection_name, node_id) for node_id in ids]
        tokens += corpus_tokens
    index = KeywordIndex(entries, tokens)
    with _CACHE_LOCK:
        if len(_CACHE) >= CACHED_INDEXES:  # a long-lived process that met many servers (a test session)
            _CACHE.clear()
        _CACHE[key] = (versions, index)
    return index
