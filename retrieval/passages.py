"""The text each chunk is embedded and indexed as: document label, article heading, then the chunk text."""

from __future__ import annotations

from knowledge.model import Chunk, DocumentMeta


def document_label(meta: DocumentMeta) -> str:
    """A short human label such as "Quy định 65-QĐ/TW về luân chuyển cán bộ"."""
    kind = (meta.doc_type or "").strip().capitalize()
    parts = [p for p in (kind, meta.number or "", meta.title.strip()) if p]
    return " ".join(parts)


def attached_label(chunk: Chunk, meta: DocumentMeta) -> tuple[str | None, str | None]:
    """(kind, title) of the attached text a chunk belongs to: its own, else the document's first."""
    if chunk.attachment_title:
        return chunk.attachment_type, chunk.attachment_title
    return meta.attachment_type, meta.attachment_title


def passage_text(*, chunk: Chunk, meta: DocumentMeta) -> str:
    """Embedding input for a chunk: its context (document, article) then its own words."""
    head = document_label(meta)
    kind, title = attached_label(chunk, meta)
    if chunk.in_attachment and title:
        head = f"{head} — {(kind or '').capitalize()} {title}".strip()
    if chunk.article_heading:
        head = f"{head} — {chunk.article_heading}" if head else chunk.article_heading
    return f"{head}\n{chunk.text}" if head else chunk.text
