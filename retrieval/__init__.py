"""Question to cited answer: embeddings, vector and lexical indexes, fusion, answer composition."""

from retrieval.engine import (
    Answer,
    Citation,
    DocumentInfo,
    IngestOutcome,
    QAEngine,
    documents_to_reload,
    make_engine,
)
from retrieval.llm import LLMSettings
from retrieval.ranking import RankingParams

__all__ = [
    "Answer",
    "Citation",
    "DocumentInfo",
    "IngestOutcome",
    "LLMSettings",
    "QAEngine",
    "RankingParams",
    "documents_to_reload",
    "make_engine",
]
