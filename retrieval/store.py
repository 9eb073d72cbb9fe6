"""Chroma persistence: a chunk collection (vectors, texts, tokens) and a document registry collection.

Both live in Chroma, so embedded mode (PersistentClient in index_dir) and server mode (HttpClient)
behave the same. Vectors are always computed by us and passed in: the collections carry a registered
embedding function that refuses to embed, so Chroma can never fall back to its downloading default.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings as ChromaSettings
from chromadb.utils.embedding_functions import register_embedding_function

from retrieval.errors import EmbeddingModelMismatch, IndexUnavailable, RetrievalError

log = logging.getLogger(__name__)

CHUNKS = "canbo_chunks"
DOCUMENTS = "canbo_documents"
MODEL_KEY = "canbo_embedding_model"
DIM_KEY = "canbo_embedding_dim"
GENERATION_ID = "__generation__"  # registry record changed on every write
_PAGE = 2000

Metadata = dict[str, str | int | float | bool]


@register_embedding_function
class PrecomputedOnly(EmbeddingFunction[Documents]):
    """Registered stand-in: every vector is computed by the product, never by Chroma."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        raise RetrievalError("Chroma was asked to embed text itself; vectors must be passed in")

    @staticmethod
    def name() -> str:
        return "canbo-precomputed"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> PrecomputedOnly:
        return PrecomputedOnly()

    def is_legacy(self) -> bool:
        return False


def make_client(*, index_dir: Path, chroma_url: str | None) -> Any:
    """An embedded client persisting in `index_dir`, or an HTTP client for a Chroma server."""
    settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if chroma_url:
            parsed = urlparse(chroma_url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise IndexUnavailable(f"not an http(s) URL: {chroma_url!r}", url=chroma_url)
            port = parsed.port or (443 if parsed.scheme == "https" else 8000)
            client = chromadb.HttpClient(
                host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=settings
            )
            client.heartbeat()
            return client
        index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(index_dir), settings=settings)
    except RetrievalError:
        raise
    except Exception as exc:
        where = chroma_url or str(index_dir)
        raise IndexUnavailable(f"cannot open the Chroma index at {where}: {exc}", where=where) from exc


class ChromaStore:
    """The two collections; every method maps Chroma failures to IndexUnavailable."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ef = PrecomputedOnly()
        try:
            self.batch_size = min(int(client.get_max_batch_size()), 1000)
        except Exception:
            self.batch_size = 500
        self._chunks: Any = None
        self._docs = self._collection(DOCUMENTS, {"hnsw:space": "l2"})

    def _collection(self, name: str, metadata: Mapping[str, Any] | None) -> Any:
        try:
            return self._client.get_or_create_collection(
                name, embedding_function=cast(Any, self._ef), metadata=dict(metadata) if metadata else None
            )
        except Exception as exc:
            raise IndexUnavailable(f"cannot open collection {name}: {exc}") from exc

    # --- embedding model bookkeeping ------------------------------------------------------------

    def indexed_model(self) -> tuple[str, int] | None:
        """(model name, dim) the chunk collection was built with, or None for a fresh index."""
        try:
            names = [c if isinstance(c, str) else c.name for c in self._client.list_collections()]
            if CHUNKS not in names:
                return None
            col = self._client.get_collection(CHUNKS, embedding_function=cast(Any, self._ef))
        except Exception as exc:
            raise IndexUnavailable(f"cannot read the index: {exc}") from exc
        meta = col.metadata or {}
        if MODEL_KEY not in meta:
            return None
        return str(meta[MODEL_KEY]), int(meta.get(DIM_KEY, 0))

    def open_chunks(self, *, model: str, dim: int) -> None:
        """Open (or create) the chunk collection; refuse when it was built with another model."""
        found = self.indexed_model()
        if found is not None and (found[0] != model or (found[1] and found[1] != dim)):
            raise EmbeddingModelMismatch(
                f"the index was built with embedding model {found[0]!r} but {model!r} is configured; "
                "rebuild it with `canbo reindex` (or set CANBO_EMBEDDING_MODEL back)",
                indexed=found[0],
                configured=model,
            )
        self._chunks = self._collection(CHUNKS, {"hnsw:space": "cosine", MODEL_KEY: model, DIM_KEY: dim})

    def open_existing_chunks(self) -> None:
        """Open the chunk collection whatever model built it (to read it back for re-indexing)."""
        if self.indexed_model() is None:
            self._chunks = self._collection(CHUNKS, None)
            return
        try:
            self._chunks = self._client.get_collection(CHUNKS, embedding_function=cast(Any, self._ef))
        except Exception as exc:
            raise IndexUnavailable(f"cannot open collection {CHUNKS}: {exc}") from exc

    def recreate_chunks(self, *, model: str, dim: int) -> None:
        """Drop the chunk collection and create an empty one for `model` (re-index)."""
        try:
            self._client.delete_collection(CHUNKS)
        except Exception:
            log.info("no chunk collection to drop")
        self._chunks = self._collection(CHUNKS, {"hnsw:space": "cosine", MODEL_KEY: model, DIM_KEY: dim})

    # --- chunks ---------------------------------------------------------------------------------

    def add_chunks(
        self,
        *,
        ids: Sequence[str],
        embeddings: np.ndarray,
        texts: Sequence[str],
        metadatas: Sequence[Metadata],
    ) -> None:
        try:
            for start in range(0, len(ids), self.batch_size):
                end = start + self.batch_size
                self._chunks.add(
                    ids=list(ids[start:end]),
                    embeddings=embeddings[start:end],
                    documents=list(texts[start:end]),
                    metadatas=list(metadatas[start:end]),
                )
        except Exception as exc:
            raise IndexUnavailable(f"cannot write chunks: {exc}") from exc

    def delete_chunks(self, ids: Sequence[str]) -> None:
        try:
            for start in range(0, len(ids), self.batch_size):
                self._chunks.delete(ids=list(ids[start : start + self.batch_size]))
        except Exception as exc:
            raise IndexUnavailable(f"cannot delete chunks: {exc}") from exc

    def iter_chunks(
        self, *, with_embeddings: bool = True, doc_ids: Sequence[str] | None = None
    ) -> Iterator[tuple[str, str, Metadata, np.ndarray | None]]:
        """Every chunk (id, text, metadata, vector), or only those of `doc_ids`."""
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        where = {"doc_id": {"$in": list(doc_ids)}} if doc_ids is not None else None
        if doc_ids is not None and not doc_ids:
            return
        offset = 0
        while True:
            try:
                page = self._chunks.get(include=include, limit=_PAGE, offset=offset, where=where)
            except Exception as exc:
                raise IndexUnavailable(f"cannot read chunks: {exc}") from exc
            ids = page["ids"]
            if not ids:
                return
            embs = page.get("embeddings")
            for i, cid in enumerate(ids):
                emb = None if embs is None else np.asarray(embs[i], dtype=np.float32)
                yield cid, page["documents"][i], dict(page["metadatas"][i] or {}), emb
            offset += len(ids)
            if len(ids) < _PAGE:
                return

    # --- document registry ----------------------------------------------------------------------

    def upsert_document(self, doc_id: str, metadata: Metadata) -> None:
        try:
            self._docs.upsert(ids=[doc_id], embeddings=[[0.0, 1.0]], documents=[doc_id], metadatas=[metadata])
        except Exception as exc:
            raise IndexUnavailable(f"cannot write the document registry: {exc}") from exc

    def delete_document(self, doc_id: str) -> None:
        try:
            self._docs.delete(ids=[doc_id])
        except Exception as exc:
            raise IndexUnavailable(f"cannot write the document registry: {exc}") from exc

    def bump_generation(self) -> str:
        """Record that the index changed (other processes sharing a server reload on a new value)."""
        value = uuid.uuid4().hex
        self.upsert_document(GENERATION_ID, {"generation": value})
        return value

    def generation(self) -> str:
        try:
            page = self._docs.get(ids=[GENERATION_ID], include=["metadatas"])
        except Exception as exc:
            raise IndexUnavailable(f"cannot read the document registry: {exc}") from exc
        if not page["ids"]:
            return ""
        return str((page["metadatas"][0] or {}).get("generation", ""))

    def all_documents(self) -> dict[str, Metadata]:
        out: dict[str, Metadata] = {}
        offset = 0
        while True:
            try:
                page = self._docs.get(include=["metadatas"], limit=_PAGE, offset=offset)
            except Exception as exc:
                raise IndexUnavailable(f"cannot read the document registry: {exc}") from exc
            for i, did in enumerate(page["ids"]):
                if did != GENERATION_ID:
                    out[did] = dict(page["metadatas"][i] or {})
            if len(page["ids"]) < _PAGE:
                return out
            offset += len(page["ids"])
