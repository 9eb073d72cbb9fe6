"""Optional LLM answers: a fake OpenAI-compatible server on 127.0.0.1 and LangChain fake chat models."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage

from retrieval import LLMSettings, QAEngine, make_engine
from retrieval.embedding import Embedder
from retrieval.llm import clean_markers
from tests.fakes.llm import Behaviour, FakeLLMServer
from tests.retrieval.corpus import monthly_evaluation, rotation_65, rotation_98

QUESTION = "Thời gian luân chuyển cán bộ ít nhất là bao lâu?"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def index_dir(module_dir: Path, e5: Embedder) -> Path:
    make_engine(index_dir=module_dir, embedder=e5).ingest_documents(
        [rotation_98(), rotation_65(), monthly_evaluation()]
    )
    return module_dir


@pytest.fixture
def llm_engine(index_dir: Path, e5: Embedder, server: FakeLLMServer) -> QAEngine:
    server.behaviour = Behaviour()
    server.requests.clear()
    settings = LLMSettings(
        base_url=server.base_url, api_key="test-key", model="fake", timeout_s=2.0, max_tokens=300
    )
    return make_engine(index_dir=index_dir, embedder=e5, llm=settings)


def _passage_number(messages: list[dict[str, Any]], needle: str) -> int:
    """The [n] of the passage containing `needle` in the prompt sent to the server."""
    prompt = messages[-1]["content"]
    for match in re.finditer(r"^\[(\d+)\] (.*?)(?=^\[\d+\] |\Z)", prompt, flags=re.M | re.S):
        if needle in match.group(2):
            return int(match.group(1))
    raise AssertionError(f"{needle!r} not in the prompt")


def test_llm_answer_cites_retrieved_passages_and_drops_dangling_markers(
    llm_engine: QAEngine, server: FakeLLMServer
) -> None:
    def reply(messages: list[dict[str, Any]]) -> str:
        n = _passage_number(messages, "36 tháng")
        return f"Mỗi lần luân chuyển ít nhất 3 năm [{n}]. Có thể khác trong trường hợp đặc biệt [42]."

    server.behaviour = Behaviour(reply=reply)
    answer = llm_engine.ask(QUESTION)
    assert answer.found and answer.generated
    assert answer.answer == "Mỗi lần luân chuyển ít nhất 3 năm [1]. Có thể khác trong trường hợp đặc biệt."
    assert len(answer.citations) == 1 and "36 tháng" in answer.citations[0].text
    body = server.requests[-1]
    assert body["max_tokens"] == 300 and body["model"] == "fake"
    assert body["messages"][0]["role"] == "system"


@pytest.mark.parametrize("mode", ["garbage", "error", "empty"])
def test_broken_server_falls_back_to_the_extractive_answer(
    llm_engine: QAEngine, server: FakeLLMServer, mode: str
) -> None:
    server.behaviour = Behaviour(mode=mode)
    answer = llm_engine.ask(QUESTION)
    assert answer.found and not answer.generated
    assert answer.answer.startswith("Theo khoản 1 Điều 1 Quy định số 65-QĐ/TW")
    assert server.requests


def test_timeout_falls_back_to_the_extractive_answer(llm_engine: QAEngine, server: FakeLLMServer) -> None:
    server.behaviour = Behaviour(reply=lambda m: "Quá muộn [1].", delay_s=4.0)
    answer = llm_engine.ask(QUESTION)
    assert answer.found and not answer.generated
    assert "«Thời gian luân chuyển cán bộ ít nhất là 3 năm (36 tháng)" in answer.answer


def test_answer_without_any_valid_citation_is_not_trusted(
    llm_engine: QAEngine, server: FakeLLMServer
) -> None:
    server.behaviour = Behaviour(reply=lambda m: "Theo tôi biết thì là 2 năm [9].")
    answer = llm_engine.ask(QUESTION)
    assert not answer.generated and answer.answer.startswith("Theo khoản 1 Điều 1")


def test_refusal_does_not_call_the_llm(llm_engine: QAEngine, server: FakeLLMServer) -> None:
    answer = llm_engine.ask("Giá vé máy bay đi Đà Nẵng dịp Tết là bao nhiêu?")
    assert not answer.found and not server.requests


def test_chat_model_is_a_constructor_parameter(index_dir: Path, e5: Embedder) -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="Ít nhất 3 năm [2] và [1].")]))
    engine = make_engine(index_dir=index_dir, embedder=e5, chat_model=model)
    answer = engine.ask(QUESTION)
    assert answer.generated
    assert answer.answer == "Ít nhất 3 năm [1] và [2]."  # renumbered in order of first use
    cites = engine.search(QUESTION, k=5)[0]
    assert [c.chunk_id for c in answer.citations] == [cites[1].chunk_id, cites[0].chunk_id]


def test_failing_chat_model_falls_back(index_dir: Path, e5: Embedder) -> None:
    model = FakeListChatModel(responses=[])  # raises when asked
    engine = make_engine(index_dir=index_dir, embedder=e5, chat_model=model)
    answer = engine.ask(QUESTION)
    assert answer.found and not answer.generated


def test_clean_markers() -> None:
    reply = clean_markers("A [3], B [1] và C [7] .", 3)
    assert reply is not None
    assert reply.text == "A [1], B [2] và C."
    assert reply.used == [2, 0]
    assert clean_markers("không có căn cứ", 3) is None
