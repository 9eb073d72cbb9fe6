"""The LangChain retriever over the engine, used inside a small LCEL chain with a fake chat model."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from retrieval import QAEngine, make_engine
from retrieval.embedding import Embedder
from retrieval.langchain_retriever import RegulationRetriever
from tests.retrieval.corpus import monthly_evaluation, rotation_65


@pytest.fixture(scope="module")
def engine(module_dir: Path, e5: Embedder) -> QAEngine:
    engine = make_engine(index_dir=module_dir, embedder=e5)
    engine.ingest_documents([rotation_65(), monthly_evaluation()])
    return engine


def test_retriever_returns_documents_with_citation_metadata(engine: QAEngine) -> None:
    docs = RegulationRetriever(engine=engine, k=3).invoke("ai quyet dinh xep loai hang thang")
    assert len(docs) == 3
    top = docs[0]
    assert isinstance(top, Document)
    assert top.metadata["doc_number"] == "1841-QĐ/TU" and top.metadata["article"] == 2
    assert top.metadata["chunk_id"] == top.id
    assert "Người đứng đầu cơ quan" in top.page_content
    assert top.metadata["source"].startswith(
        "Điều 2 Quy định về đánh giá, xếp loại cán bộ, công chức, viên chức hằng tháng (ban hành kèm theo "
        "Quyết định số 1841-QĐ/TU"
    )


def test_only_confident_returns_nothing_for_unrelated_questions(engine: QAEngine) -> None:
    retriever = RegulationRetriever(engine=engine, only_confident=True)
    assert retriever.invoke("Giá vé máy bay đi Đà Nẵng dịp Tết là bao nhiêu?") == []


def test_retriever_in_a_chain(engine: QAEngine) -> None:
    seen: dict[str, str] = {}

    def format_docs(docs: list[Document]) -> str:
        text = "\n".join(
            f"[{i}] {d.metadata['source']}: {d.page_content}" for i, d in enumerate(docs, start=1)
        )
        seen["context"] = text
        return text

    prompt = ChatPromptTemplate.from_messages([("system", "Ngữ cảnh:\n{context}"), ("human", "{question}")])
    model = FakeListChatModel(responses=["Ít nhất 3 năm [1]."])
    chain = (
        {
            "context": RegulationRetriever(engine=engine, k=2) | RunnableLambda(format_docs),
            "question": RunnablePassthrough(),
        }
        | prompt
        | model
        | StrOutputParser()
    )
    assert chain.invoke("Thời gian luân chuyển cán bộ ít nhất bao lâu?") == "Ít nhất 3 năm [1]."
    assert seen["context"].startswith("[1] khoản 1 Điều 1 Quy định số 65-QĐ/TW")
