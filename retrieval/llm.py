"""Optional LLM answer writer over retrieved passages: cites only them ([n] markers), else gives up."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from retrieval import wording

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True)
class LLMSettings:
    """An OpenAI-compatible chat endpoint (llama.cpp server, vLLM, OpenAI …)."""

    base_url: str
    api_key: str = "none"
    model: str = "local"
    timeout_s: float = 20.0
    max_tokens: int = 512
    temperature: float = 0.0


def make_chat_model(settings: LLMSettings) -> BaseChatModel:
    """LangChain ChatOpenAI pointed at `settings.base_url` (no retries: the caller falls back)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key,  # type: ignore[arg-type]
        model=settings.model,
        timeout=settings.timeout_s,
        max_retries=0,
        temperature=settings.temperature,
        use_responses_api=False,
        extra_body={"max_tokens": settings.max_tokens},
    )


@dataclass
class LLMReply:
    text: str  # markers renumbered to the kept citations
    used: list[int]  # indices (0-based) into the passages given, in marker order


def clean_markers(text: str, n_passages: int) -> LLMReply | None:
    """Drop markers pointing nowhere, renumber the rest 1..m in order of first use; None if none is left."""
    used: list[int] = []
    for match in _MARKER.finditer(text):
        idx = int(match.group(1)) - 1
        if 0 <= idx < n_passages and idx not in used:
            used.append(idx)
    if not used:
        return None

    def renumber(match: re.Match[str]) -> str:
        idx = int(match.group(1)) - 1
        return f"[{used.index(idx) + 1}]" if idx in used else ""

    cleaned = _MARKER.sub(renumber, text)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip()
    return LLMReply(text=cleaned, used=used)


class LLMAnswerer:
    """Asks the chat model for an answer grounded in numbered passages; None on any failure."""

    def __init__(self, chat_model: BaseChatModel, *, timeout_s: float = 20.0) -> None:
        self.chat_model = chat_model
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")

    def answer(self, question: str, citations: Sequence[Any]) -> LLMReply | None:
        if not citations:
            return None
        messages = [
            SystemMessage(content=wording.LLM_SYSTEM),
            HumanMessage(
                content=wording.LLM_USER.format(passages=wording.llm_passages(citations), question=question)
            ),
        ]
        future = self._pool.submit(self.chat_model.invoke, messages)
        try:
            reply = future.result(timeout=self.timeout_s)
        except FutureTimeout:
            log.warning("LLM answer timed out after %.1f s; using the extractive answer", self.timeout_s)
            return None
        except Exception as exc:  # any backend failure falls back to the extractive answer
            log.warning("LLM answer failed (%s); using the extractive answer", type(exc).__name__)
            return None
        content = reply.content if isinstance(reply.content, str) else ""
        if not content.strip():
            log.warning("LLM answer was empty; using the extractive answer")
            return None
        cleaned = clean_markers(content, len(citations))
        if cleaned is None:
            log.warning("LLM answer cited no retrieved passage; using the extractive answer")
        return cleaned
