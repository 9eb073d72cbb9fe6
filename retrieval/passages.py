"""The text each chunk is embedded and indexed as: document label, article heading, then the chunk text."""

from __future__ import annotations

from knowledge.model import Chunk, DocumentMeta


def document_label(meta: DocumentMeta) -> str:
    """A short human label such as "Quy định 65-QĐ/TW về luân chuyển cán bộ"."""
    kind = (meta.doc_type or "").strip().capitalize()
    parts = [p for p in (kind, meta.number or "", meta.title.strip()) if p]
    return " ".join(parts)


def passage_text(*, chunk: Chunk, meta: DocumentMeta) -> str:
    """Embedding input for a chunk: its context (document, article) then its own words."""
    head = document_label(meta)
    if chunk.in_attachment and meta.attachment_title:
        head = f"{head} — {(meta.attachment_type or '').capitalize()} {meta.attachment_title}".strip()
    if chunk.article_heading:
        head = f"{head} — {chunk.article_heading}" if head else chunk.article_heading
    return f"{head}\n{chunk.text}" if head else chunk.text
