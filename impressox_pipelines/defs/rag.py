"""The knowledge base: documents, their embeddings, tweet embeddings and the golden-question check."""

import dagster as dg

from impressox_pipelines.assets.rag import (
    document_embeddings,
    golden_questions_hit_rate,
    knowledge_documents,
    tweet_embeddings,
)
from impressox_pipelines.settings import Settings


def rag_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[knowledge_documents, document_embeddings, tweet_embeddings],
        asset_checks=[golden_questions_hit_rate],
    )
