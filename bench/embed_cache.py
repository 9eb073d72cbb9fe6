"""An embedder wrapper caching passage vectors in SQLite under bench/out/, keyed by model and text hash."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from retrieval.embedding import Embedder

CACHE_PATH = Path(__file__).resolve().parent / "out" / "embeddings.sqlite"


class CachedEmbedder:
    """Passages come from the cache when present; queries always run the model."""

    def __init__(self, inner: Embedder, path: Path = CACHE_PATH, *, workers: int = 2) -> None:
        self.inner = inner
        self.workers = workers
        self.name = inner.name
        self.dim = inner.dim
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB)")
        self.misses = 0

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.name}\0{text}".encode()).hexdigest()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, blob in self._db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", part):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = list(dict.fromkeys(i for i, k in enumerate(keys) if k not in found))
        step = 32
        t0 = time.perf_counter()
        batches = [missing[start : start + step] for start in range(0, len(missing), step)]
        done = 0
        # The inner embedder keeps a pool of models (one per core): batches run in parallel threads.
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for idx, vecs in zip(
                batches,
                pool.map(lambda b: self.inner.embed_passages([texts[i] for i in b]), batches),
                strict=True,
            ):
                rows = [(keys[i], vecs[j].astype(np.float32).tobytes()) for j, i in enumerate(idx)]
                self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", rows)
                self._db.commit()
                for j, i in enumerate(idx):
                    found[keys[i]] = vecs[j]
                done += len(idx)
                rate = done / max(time.perf_counter() - t0, 1e-9)
                print(f"  embedded {done}/{len(missing)} ({rate:.1f}/s)", file=sys.stderr, flush=True)
        self.misses += len(missing)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.alqac_data import load_corpus
    from retrieval.embedding import make_embedder
    from retrieval.passages import passage_text

    docs = load_corpus()
    texts = [passage_text(chunk=c, meta=d.meta) for d in docs for c in d.chunks]
    print(f"{len(texts)} passages", file=sys.stderr)
    CachedEmbedder(make_embedder()).embed_passages(texts)
