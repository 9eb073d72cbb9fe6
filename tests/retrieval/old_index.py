"""An index as the code before per-chunk attachment labels (structure version 1, commit 6c0e52a^) wrote it.

`write_as_version_1` takes an index the current code built and rewrites every chunk and registry entry in the
old format, straight through Chroma (not through our code): chunk ids `"{chunk_id}@{sha[:12]}"`, chunk
metadata without `attachment_type` / `attachment_title` / `structure`, registry entries without `structure`
and with the old article count (attached articles counted by number only). The vectors are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings

from retrieval.store import CHUNKS, DOCUMENTS, GENERATION_ID, PrecomputedOnly

NEW_CHUNK_KEYS = ("attachment_type", "attachment_title", "structure")


def _collections(index_dir: Path) -> tuple[Any, Any]:
    client = chromadb.PersistentClient(
        path=str(index_dir), settings=ChromaSettings(anonymized_telemetry=False)
    )
    ef: Any = PrecomputedOnly()
    return client.get_collection(CHUNKS, embedding_function=ef), client.get_collection(
        DOCUMENTS, embedding_function=ef
    )


def old_chunks(index_dir: Path) -> dict[str, Any]:
    """Every chunk (ids, documents, metadatas, embeddings) as Chroma holds it now."""
    chunks, _ = _collections(index_dir)
    return dict(chunks.get(include=["documents", "metadatas", "embeddings"]))


def write_as_version_1(index_dir: Path) -> dict[str, Any]:
    """Rewrite the index in the version-1 format; returns the chunks as written (to re-add them later)."""
    chunks, registry = _collections(index_dir)
    page = chunks.get(include=["documents", "metadatas", "embeddings"])
    ids, metas = [], []
    articles: dict[str, set[tuple[bool, str]]] = {}
    for meta in page["metadatas"]:
        old = {k: v for k, v in dict(meta).items() if k not in NEW_CHUNK_KEYS}
        ids.append(f"{old['chunk_id']}@{str(old['source_sha256'])[:12]}")
        metas.append(old)
        if old["article"] != "":
            articles.setdefault(str(old["doc_id"]), set()).add(
                (bool(old["in_attachment"]), str(old["article"]))
            )
    chunks.delete(ids=list(page["ids"]))
    written = {"ids": ids, "documents": list(page["documents"]), "metadatas": metas}
    written["embeddings"] = page["embeddings"]
    chunks.add(**written)
    docs = registry.get(include=["metadatas"])
    for doc_id, meta in zip(docs["ids"], docs["metadatas"], strict=True):
        if doc_id == GENERATION_ID:
            continue
        old = {k: v for k, v in dict(meta).items() if k != "structure"}
        old["articles"] = len(articles.get(doc_id, set()))
        registry.delete(ids=[doc_id])  # upsert would merge, keeping the new key
        registry.add(ids=[doc_id], embeddings=[[0.0, 1.0]], documents=[doc_id], metadatas=[old])
    return written


def add_chunks(index_dir: Path, written: dict[str, Any]) -> None:
    """Put chunks back as they were written (an update interrupted before it removed the old ones)."""
    chunks, _ = _collections(index_dir)
    chunks.add(**written)


def registry_metadata(index_dir: Path, doc_id: str) -> dict[str, Any]:
    _, registry = _collections(index_dir)
    return dict(registry.get(ids=[doc_id], include=["metadatas"])["metadatas"][0])


def chunk_count(index_dir: Path) -> int:
    chunks, _ = _collections(index_dir)
    return int(chunks.count())
