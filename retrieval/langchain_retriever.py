"""A LangChain BaseRetriever over the engine's hybrid retrieval, so it plugs into LangChain chains."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval import wording
from retrieval.engine import QAEngine


class RegulationRetriever(BaseRetriever):
    """Returns one Document per retrieved article (its best clause), best first, with citation metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: QAEngine
    k: int = 5
    only_confident: bool = False  # True: return nothing when the engine would refuse

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        cites, confidence, found = self.engine.search(query, k=self.k)
        if self.only_confident and not found:
            return []
        docs = []
        for c in cites:
            metadata: dict[str, Any] = {
                **c.to_json(),
                "chunk_id": c.chunk_id,
                "doc_id": c.doc_id,
                "source": wording.source_phrase(c),
                "confidence": confidence,
            }
            metadata.pop("text", None)
            docs.append(Document(page_content=c.text, metadata=metadata, id=c.chunk_id))
        return docs
