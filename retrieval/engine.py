"""The question-answering engine: ingest documents, keep the index in sync, answer with citations."""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.language_models import BaseChatModel

from knowledge.errors import FileTooLarge, KnowledgeError, UnreadableFile
from knowledge.model import Chunk, ParsedDocument, Relation
from retrieval import wording
from retrieval.analysis import BOUND_CLASS_OF, analyse, fold, strip_diacritics
from retrieval.answering import REFUSED, UNCERTAIN, plan_answer
from retrieval.coverage import REFUSAL_FEATURES, Pinpoint
from retrieval.embedding import DEFAULT_MODEL, Embedder, make_embedder
from retrieval.errors import ChunkNotFound, DocumentNotFound, EmptyQuestion, NothingToIndex, RetrievalError
from retrieval.index import ChunkRow, DocRecord, Snapshot, build_snapshot
from retrieval.llm import LLMAnswerer, LLMSettings, make_chat_model
from retrieval.passages import passage_text
from retrieval.query import read_query
from retrieval.ranking import RankingParams, rank
from retrieval.store import ChromaStore, Metadata, make_client
from retrieval.upgrades import STRUCTURE_KEY, STRUCTURE_VERSION, assess

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
SUPPORTED_SUFFIXES = {".txt", ".md", ".docx", ".pdf", ".html", ".htm"}
MAX_QUESTION_CHARS = 2000

Loader = Callable[..., ParsedDocument]


@dataclass
class Citation:
    doc_id: str
    doc_number: str | None
    doc_title: str
    doc_type: str | None
    issued: date | None
    article: int | str | None
    article_heading: str
    clause: str | None
    point: str | None
    in_attachment: bool
    attachment_title: str | None
    status: Literal["in_force", "superseded"]
    replaced_by: str | None
    is_sample: bool
    score: float
    text: str
    chunk_id: str
    issuer: str | None = None
    attachment_type: str | None = None
    # "Quy định số 65-QĐ/TW ngày 28/4/2022 của Bộ Chính trị" when a loaded document replaced this one
    replaced_by_doc: str | None = None
    # the passages of other documents that changed this article ("khoản 1 Điều 1 Quyết định số …")
    amended_by: list[str] = field(default_factory=list)
    pinpointed: bool = False  # `text` is the khoản/điểm/sentence that answers, not the whole chunk
    asked_old: bool = False  # a replaced document the question asks about (named, its year, "quy định cũ")

    def to_json(self) -> dict[str, Any]:
        return {
            "doc_number": self.doc_number,
            "point": self.point,
            "doc_title": self.doc_title,
            "issued": self.issued.isoformat() if self.issued else None,
            "article": self.article,
            "clause": self.clause,
            "status": self.status,
            "replaced_by": self.replaced_by,
            "amended_by": list(self.amended_by),
            "score": round(self.score, 4),
            "text": self.text,
        }


@dataclass
class Answer:
    question: str
    found: bool
    answer: str
    citations: list[Citation]
    nearest: list[Citation]
    confidence: float = 0.0
    generated: bool = False  # True when an LLM wrote `answer` (citations are then the ones it used)
    # On a refusal: words of the question that no loaded document contains at all (so the reply can say
    # plainly what the documents do not treat).
    unmentioned: list[str] = field(default_factory=list)
    # The ranking behind the answer, best first (one citation per article, k of them), whatever was decided.
    ranked: list[Citation] = field(default_factory=list)
    # A borderline case: the nearest passage is quoted but labelled as possibly not answering the question.
    uncertain: bool = False
    # A question asking several things: each part with its citation, or what the documents do not cover.
    parts: list[dict[str, Any]] = field(default_factory=list)
    # Documents the question names that are not loaded ("98-QĐ/TW", "Luật Viên chức").
    missing_documents: list[str] = field(default_factory=list)
    # The refusal model's inputs (diagnostics, calibration).
    features: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "found": self.found,
            "uncertain": self.uncertain,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "nearest": [c.to_json() for c in self.nearest],
            "unmentioned": list(self.unmentioned),
            "missing_documents": list(self.missing_documents),
            "parts": list(self.parts),
            "confidence": round(self.confidence, 4),
        }


@dataclass
class DocumentInfo:
    doc_id: str
    number: str | None
    doc_type: str | None
    title: str
    issued: date | None
    status: Literal["in_force", "superseded"]
    replaced_by: str | None
    articles: int
    chunks: int
    source_name: str
    is_sample: bool
    relations: list[Relation] = field(default_factory=list)
    # Indexed by an older structure version whose citations may be wrong until the file is loaded again
    # (a retrieval.upgrades RELOAD_* code), else None.
    reload_reason: str | None = None


@dataclass
class IngestOutcome:
    source: str
    status: Literal["added", "updated", "unchanged", "refused"]
    document: DocumentInfo | None
    error_code: str | None = None
    error_detail: str | None = None


def _info(doc: DocRecord) -> DocumentInfo:
    return DocumentInfo(
        doc_id=doc.doc_id,
        number=doc.number,
        doc_type=doc.doc_type,
        title=doc.title,
        issued=doc.issued,
        status="superseded" if doc.status == "superseded" else "in_force",
        replaced_by=doc.replaced_by,
        articles=doc.articles,
        chunks=doc.chunks,
        source_name=doc.source_name,
        is_sample=doc.is_sample,
        relations=list(doc.relations),
        reload_reason=doc.reload_reason,
    )


def _article_value(meta: Metadata) -> int | str | None:
    raw = str(meta.get("article", ""))
    if not raw:
        return None
    return int(raw) if meta.get("article_is_int") else raw


def _opt(meta: Metadata, key: str) -> str | None:
    value = str(meta.get(key, "") or "")
    return value or None


def _tokens(raw: object) -> list[str]:
    """Stored tokens, interned: the same syllable is one string object across the whole index."""
    return [sys.intern(t) for t in str(raw or "").split()]


def _default_loader(path: Path, *, max_bytes: int, allow_classified: bool) -> ParsedDocument:
    import knowledge

    load = getattr(knowledge, "load_document", None)
    if load is None:
        raise UnreadableFile("the document loader is not available in this build", name=path.name)
    result: ParsedDocument = load(path, max_bytes=max_bytes, allow_classified=allow_classified)
    return result


class QAEngine:
    """Thread-safe for `ask`/`search`/`article`; ingestion and removal are serialised by a lock."""

    def __init__(
        self,
        *,
        store: ChromaStore,
        embedder: Embedder,
        chat_model: BaseChatModel | None = None,
        llm_timeout_s: float = 20.0,
        loader: Loader = _default_loader,
        params: RankingParams | None = None,
        for_reindex: bool = False,
        refresh_interval_s: float = 5.0,
    ) -> None:
        self.store = store
        self.refresh_interval_s = refresh_interval_s
        self._generation = ""
        self._checked_at = time.monotonic()
        self.embedder = embedder
        self.params = params or RankingParams()
        self.loader = loader
        self.answerer = LLMAnswerer(chat_model, timeout_s=llm_timeout_s) if chat_model is not None else None
        self._write_lock = threading.RLock()
        self._docs: dict[str, DocRecord] = {}
        self._rows: list[ChunkRow] = []
        self._vectors: list[np.ndarray] = []
        if for_reindex:
            # Opened only to rebuild the vectors with the configured model: no model check, no snapshot.
            self.store.open_existing_chunks()
            self._snapshot: Snapshot = self._rebuild()
        else:
            self.store.open_chunks(model=embedder.name, dim=embedder.dim)
            self._snapshot = self._load()

    # --- loading the index ------------------------------------------------------------------------

    def refresh(self, *, blocking: bool = True) -> bool:
        """Reload from the store if another process changed it (shared Chroma server); True if reloaded.

        With `blocking=False` it returns at once when this engine is busy writing.
        """
        if not self._write_lock.acquire(blocking=blocking):
            return False
        try:
            self._checked_at = time.monotonic()
            current = self.store.generation()
            if current == self._generation:
                return False
            log.info("index changed by another process: reloading")
            self._load()
            return True
        finally:
            self._write_lock.release()

    def _maybe_refresh(self) -> None:
        if self.refresh_interval_s <= 0 or time.monotonic() - self._checked_at < self.refresh_interval_s:
            return
        self._checked_at = time.monotonic()
        try:
            self.refresh(blocking=False)
        except RetrievalError as exc:  # keep answering from the snapshot in memory
            log.warning("index refresh failed: %s", exc.code)

    def _changed(self) -> None:
        self._generation = self.store.bump_generation()

    def _load(self) -> Snapshot:
        self._generation = self.store.generation()
        docs = {d: DocRecord.from_metadata(d, m) for d, m in self.store.all_documents().items()}
        stored = list(self.store.iter_chunks())
        found = assess(docs, [(store_id, meta) for store_id, _, meta, _ in stored])
        orphans = set(found.orphans)
        rows: list[ChunkRow] = []
        vectors: list[np.ndarray] = []
        for store_id, text, meta, emb in stored:
            if store_id in orphans:  # left behind by an interrupted update
                continue
            rows.append(self._row_from_store(store_id, text, meta))
            vectors.append(emb if emb is not None else np.zeros(self.embedder.dim, dtype=np.float32))
        if orphans:
            log.info("removing %d orphaned chunks", len(orphans))
            self.store.delete_chunks(found.orphans)
        for doc_id, structure in found.documents.items():
            doc = docs[doc_id]
            recorded = (doc.structure, doc.reload_reason)
            doc.reload_reason = structure.reload_reason
            doc.structure = STRUCTURE_VERSION if structure.stamp_in_place else structure.version
            if structure.reload_reason is not None:
                log.warning(
                    "document %s was indexed by structure version %d and must be loaded again (%s)",
                    doc_id,
                    structure.version,
                    structure.reload_reason,
                )
            if (doc.structure, doc.reload_reason) != recorded:
                self._record_structure(doc, was=recorded[0])
        self._docs, self._rows, self._vectors = docs, rows, vectors
        return self._rebuild()

    def _record_structure(self, doc: DocRecord, *, was: int) -> None:
        """Write a document's structure version found on open in its registry entry: the current one when it
        is exact as stored, else its own with the reason to load it again (so `documents_to_reload` reads
        the registry only)."""
        try:
            self.store.upsert_document(doc.doc_id, doc.to_metadata())
        except RetrievalError as exc:  # read-only or busy: found again on a later open
            log.warning("could not record the structure version of document %s: %s", doc.doc_id, exc.code)
            return
        log.info("document %s: structure version %d recorded as %d", doc.doc_id, was, doc.structure)

    def _rebuild(self) -> Snapshot:
        matrix = np.vstack(self._vectors) if self._vectors else np.zeros((0, self.embedder.dim), np.float32)
        docs = {d: DocRecord(**{**asdict(r), "relations": list(r.relations)}) for d, r in self._docs.items()}
        snapshot = build_snapshot(docs, list(self._rows), matrix, self.embedder.dim)
        self._snapshot = snapshot
        return snapshot

    @staticmethod
    def _row_from_store(store_id: str, text: str, meta: Metadata) -> ChunkRow:
        return ChunkRow(
            store_id=store_id,
            chunk_id=str(meta["chunk_id"]),
            doc_id=str(meta["doc_id"]),
            position=int(meta.get("position", 0)),
            text=text,
            article=_article_value(meta),
            article_heading=str(meta.get("article_heading", "")),
            clause=_opt(meta, "clause"),
            point=_opt(meta, "point"),
            in_attachment=bool(meta.get("in_attachment", False)),
            attachment_type=_opt(meta, "attachment_type"),
            attachment_title=_opt(meta, "attachment_title"),
            words=_tokens(meta.get("lex_words")),
            syllables=_tokens(meta.get("lex_syllables")),
            head_words=_tokens(meta.get("head_words")),
            head_syllables=_tokens(meta.get("head_syllables")),
        )

    # --- ingestion --------------------------------------------------------------------------------

    def ingest_file(
        self, path: Path, *, allow_classified: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> IngestOutcome:
        """Load one file; unchanged bytes (sha256) are skipped before parsing."""
        outcomes = self._ingest([Path(path)], allow_classified=allow_classified, max_bytes=max_bytes)
        return outcomes[0]

    def ingest_paths(
        self,
        paths: Sequence[Path],
        *,
        allow_classified: bool = False,
        max_bytes: int = DEFAULT_MAX_BYTES,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> list[IngestOutcome]:
        """Files and folders (recursed, supported formats only); one bad file never stops the batch."""
        files: list[Path] = []
        missing: list[IngestOutcome] = []
        for raw in paths:
            p = Path(raw)
            if p.is_dir():
                files.extend(
                    sorted(
                        f
                        for f in p.rglob("*")
                        if f.is_file()
                        and f.suffix.lower() in SUPPORTED_SUFFIXES
                        and not any(part.startswith(".") for part in f.relative_to(p).parts)
                    )
                )
            elif p.is_file():
                files.append(p)
            else:
                missing.append(IngestOutcome(str(p), "refused", None, "file_not_found", f"no such file: {p}"))
        return missing + self._ingest(
            files, allow_classified=allow_classified, max_bytes=max_bytes, progress=progress
        )

    def _ingest(
        self,
        files: Sequence[Path],
        *,
        allow_classified: bool,
        max_bytes: int,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> list[IngestOutcome]:
        outcomes: list[IngestOutcome] = []
        changed = False
        with self._write_lock:
            known_sha = {d.source_sha256: d.doc_id for d in self._docs.values()}
            for i, path in enumerate(files):
                if progress is not None:
                    progress(i, len(files), path.name)
                outcome = self._ingest_one(
                    path, allow_classified=allow_classified, max_bytes=max_bytes, known_sha=known_sha
                )
                outcomes.append(outcome)
                if outcome.status in ("added", "updated") and outcome.document is not None:
                    changed = True
                    known_sha[self._docs[outcome.document.doc_id].source_sha256] = outcome.document.doc_id
            if progress is not None and files:
                progress(len(files), len(files), "")
            if changed:
                self._changed()
                self._rebuild()
                for outcome in outcomes:  # statuses may have changed with the new relations
                    if outcome.document is not None and outcome.document.doc_id in self._snapshot.docs:
                        outcome.document = _info(self._snapshot.docs[outcome.document.doc_id])
        return outcomes

    def _ingest_one(
        self, path: Path, *, allow_classified: bool, max_bytes: int, known_sha: dict[str, str]
    ) -> IngestOutcome:
        source = str(path)
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise FileTooLarge(f"{path.name}: {size} bytes > {max_bytes}", size=size, limit=max_bytes)
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            known = self._docs.get(known_sha.get(sha, ""))
            if known is not None and known.reload_reason is None:  # a stale one is loaded again
                return IngestOutcome(source, "unchanged", _info(known))
            parsed = self.loader(path, max_bytes=max_bytes, allow_classified=allow_classified)
        except KnowledgeError as exc:
            log.info("refused a file: %s", exc.code)
            return IngestOutcome(source, "refused", None, exc.code, exc.detail or str(exc))
        except OSError as exc:
            return IngestOutcome(source, "refused", None, "unreadable", f"{path.name}: {exc.strerror or exc}")
        if not parsed.source_path:
            parsed.source_path = source
        parsed.source_sha256 = sha  # of the file bytes, the same key the pre-parse check uses
        try:
            status = self._index_document(parsed, source_name=path.name)
        except RetrievalError as exc:
            return IngestOutcome(source, "refused", None, exc.code, exc.detail or str(exc))
        return IngestOutcome(source, status, _info(self._docs[parsed.meta.doc_id]))

    def ingest_document(self, parsed: ParsedDocument, *, source_name: str | None = None) -> IngestOutcome:
        """Index an already parsed document (also used by benchmarks and the sample loader)."""
        with self._write_lock:
            existing = self._docs.get(parsed.meta.doc_id)
            if existing is not None and _unchanged(existing, parsed):
                return IngestOutcome(
                    parsed.source_path, "unchanged", _info(self._snapshot.docs[existing.doc_id])
                )
            status = self._index_document(parsed, source_name=source_name or Path(parsed.source_path).name)
            self._changed()
            self._rebuild()
            return IngestOutcome(parsed.source_path, status, _info(self._snapshot.docs[parsed.meta.doc_id]))

    def ingest_documents(self, docs: Sequence[ParsedDocument]) -> list[IngestOutcome]:
        """Index many parsed documents with one index rebuild at the end."""
        outcomes = []
        with self._write_lock:
            for parsed in docs:
                existing = self._docs.get(parsed.meta.doc_id)
                if existing is not None and _unchanged(existing, parsed):
                    outcomes.append(IngestOutcome(parsed.source_path, "unchanged", None))
                    continue
                status = self._index_document(parsed, source_name=Path(parsed.source_path).name)
                outcomes.append(IngestOutcome(parsed.source_path, status, None))
            self._changed()
            self._rebuild()
            for o, parsed in zip(outcomes, docs, strict=True):
                o.document = _info(self._snapshot.docs[parsed.meta.doc_id])
        return outcomes

    def _index_document(self, parsed: ParsedDocument, *, source_name: str) -> Literal["added", "updated"]:
        meta = parsed.meta
        chunks = [c for c in parsed.chunks if c.text.strip()]
        if not chunks:
            raise NothingToIndex(f"{source_name}: no text to index", name=source_name)
        previous = self._docs.get(meta.doc_id)
        sha = parsed.source_sha256
        texts = [passage_text(chunk=c, meta=meta) for c in chunks]
        vectors = self.embedder.embed_passages(texts)
        rows, metadatas, store_ids = [], [], []
        for chunk, vec in zip(chunks, vectors, strict=True):
            row, md = self._analyse_chunk(chunk, sha=sha)
            rows.append(row)
            metadatas.append(md)
            store_ids.append(row.store_id)
            del vec
        # New chunks first, then the registry, then the old chunks: a crash in between leaves
        # orphans that the next open removes, never a registered document without chunks.
        self.store.add_chunks(
            ids=store_ids, embeddings=vectors, texts=[c.text for c in chunks], metadatas=metadatas
        )
        articles = {
            (c.in_attachment, c.attachment_title, str(c.article)) for c in chunks if c.article is not None
        }
        record = DocRecord(
            doc_id=meta.doc_id,
            number=meta.number,
            doc_type=meta.doc_type,
            title=meta.title,
            issuer=meta.issuer,
            issued=meta.issued,
            effective=meta.effective,
            source_name=source_name,
            source_sha256=sha,
            is_sample=meta.is_sample,
            attachment_type=meta.attachment_type,
            attachment_title=meta.attachment_title,
            relations=list(meta.relations),
            manual_replaced_by=previous.manual_replaced_by if previous else None,
            articles=len(articles),
            chunks=len(chunks),
            structure=STRUCTURE_VERSION,
        )
        self.store.upsert_document(meta.doc_id, record.to_metadata())
        if previous is not None:
            stale = [r.store_id for r in self._rows if r.doc_id == meta.doc_id]
            self.store.delete_chunks(stale)
            keep = [i for i, r in enumerate(self._rows) if r.doc_id != meta.doc_id]
            self._rows = [self._rows[i] for i in keep]
            self._vectors = [self._vectors[i] for i in keep]
        self._docs[meta.doc_id] = record
        self._rows.extend(rows)
        self._vectors.extend(np.asarray(vectors, dtype=np.float32))
        log.info("indexed document %s: %d chunks", meta.doc_id, len(chunks))
        return "updated" if previous is not None else "added"

    @staticmethod
    def _analyse_chunk(chunk: Chunk, *, sha: str) -> tuple[ChunkRow, Metadata]:
        body = analyse(chunk.text)
        head = analyse(chunk.article_heading) if chunk.article_heading else None
        # The structure version is part of the id: the same file loaded again to bring an older version's
        # document up to date writes new chunks beside the old ones before removing them.
        store_id = f"{chunk.chunk_id}@{sha[:12]}/s{STRUCTURE_VERSION}"
        row = ChunkRow(
            store_id=store_id,
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            position=chunk.position,
            text=chunk.text,
            article=chunk.article,
            article_heading=chunk.article_heading,
            clause=chunk.clause,
            point=chunk.point,
            in_attachment=chunk.in_attachment,
            attachment_type=chunk.attachment_type,
            attachment_title=chunk.attachment_title,
            words=[sys.intern(t) for t in body.words],
            syllables=[sys.intern(t) for t in body.syllables],
            head_words=[sys.intern(t) for t in head.words] if head else [],
            head_syllables=[sys.intern(t) for t in head.syllables] if head else [],
        )
        md: Metadata = {
            "chunk_id": chunk.chunk_id,
            "doc_id": chunk.doc_id,
            "position": chunk.position,
            "article": "" if chunk.article is None else str(chunk.article),
            "article_is_int": isinstance(chunk.article, int),
            "article_heading": chunk.article_heading,
            "clause": chunk.clause or "",
            "point": chunk.point or "",
            "in_attachment": chunk.in_attachment,
            "attachment_type": chunk.attachment_type or "",
            "attachment_title": chunk.attachment_title or "",
            "source_sha256": sha,
            STRUCTURE_KEY: STRUCTURE_VERSION,
            "lex_words": " ".join(row.words),
            "lex_syllables": " ".join(row.syllables),
            "head_words": " ".join(row.head_words),
            "head_syllables": " ".join(row.head_syllables),
        }
        return row, md

    # --- registry ---------------------------------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        self._maybe_refresh()
        snap = self._snapshot
        return sorted((_info(d) for d in snap.docs.values()), key=lambda d: (d.issued or date.min, d.title))

    def remove_document(self, doc_id: str) -> None:
        with self._write_lock:
            if doc_id not in self._docs:
                raise DocumentNotFound(f"no document {doc_id!r} in the index", doc_id=doc_id)
            stale = [r.store_id for r in self._rows if r.doc_id == doc_id]
            self.store.delete_document(doc_id)
            self.store.delete_chunks(stale)
            keep = [i for i, r in enumerate(self._rows) if r.doc_id != doc_id]
            self._rows = [self._rows[i] for i in keep]
            self._vectors = [self._vectors[i] for i in keep]
            del self._docs[doc_id]
            self._changed()
            self._rebuild()
            log.info("removed document %s (%d chunks)", doc_id, len(stale))

    def mark_replaced(self, doc_id: str, *, replaced_by: str) -> None:
        """Record by hand that `doc_id` is replaced by the document numbered `replaced_by` ("" clears)."""
        with self._write_lock:
            record = self._docs.get(doc_id)
            if record is None:
                raise DocumentNotFound(f"no document {doc_id!r} in the index", doc_id=doc_id)
            record.manual_replaced_by = replaced_by.strip() or None
            self.store.upsert_document(doc_id, record.to_metadata())
            self._changed()
            self._rebuild()

    def reindex(self, *, progress: Callable[[int, int, str], None] | None = None) -> int:
        """Re-embed every stored chunk with the current model (after a model change); returns chunks."""
        with self._write_lock:
            rows = [(sid, text, meta) for sid, text, meta, _ in self.store.iter_chunks(with_embeddings=False)]
            docs = {d: DocRecord.from_metadata(d, m) for d, m in self.store.all_documents().items()}
            self.store.recreate_chunks(model=self.embedder.name, dim=self.embedder.dim)
            by_doc: dict[str, list[tuple[str, str, Metadata]]] = {}
            for row in rows:
                by_doc.setdefault(str(row[2].get("doc_id")), []).append(row)
            done = 0
            for i, (doc_id, items) in enumerate(sorted(by_doc.items())):
                if progress is not None:
                    progress(i, len(by_doc), doc_id)
                doc = docs.get(doc_id)
                if doc is None:
                    continue
                texts = []
                for _, text, meta in items:
                    chunk = Chunk(
                        chunk_id=str(meta["chunk_id"]),
                        doc_id=doc_id,
                        position=int(meta.get("position", 0)),
                        text=text,
                        article=_article_value(meta),
                        article_heading=str(meta.get("article_heading", "")),
                        in_attachment=bool(meta.get("in_attachment", False)),
                        attachment_type=_opt(meta, "attachment_type"),
                        attachment_title=_opt(meta, "attachment_title"),
                    )
                    texts.append(passage_text(chunk=chunk, meta=_meta_of(doc)))
                vectors = self.embedder.embed_passages(texts)
                self.store.add_chunks(
                    ids=[s for s, _, _ in items],
                    embeddings=vectors,
                    texts=[t for _, t, _ in items],
                    metadatas=[m for _, _, m in items],
                )
                done += len(items)
            if progress is not None:
                progress(len(by_doc), len(by_doc), "")
            self._changed()
            self._load()
            return done

    # --- questions --------------------------------------------------------------------------------

    def _citation(
        self, snap: Snapshot, chunk_index: int, score: float, *, pin: Pinpoint | None = None
    ) -> Citation:
        row = snap.chunks[chunk_index]
        doc = snap.docs[row.doc_id]
        clause, point, text = row.clause, row.point, row.text
        if pin is not None:
            seg = pin.segment
            clause = seg.clause or row.clause
            point = seg.point if seg.point else (row.point if seg.clause is None else None)
            text = pin.text
        replacer = snap.replacer(doc.doc_id)
        unit = int(snap.unit_of_chunk[chunk_index]) if len(snap.unit_of_chunk) else -1
        amended = []
        for a in snap.amendments.get(unit, []):
            if pin is not None and a.clause and clause and a.clause != clause:
                continue  # another khoản of the article was changed
            amended.append(self._amendment_phrase(snap, a.by_chunk, a.action))
        return Citation(
            doc_id=doc.doc_id,
            doc_number=doc.number,
            doc_title=doc.title,
            doc_type=doc.doc_type,
            issued=doc.issued,
            article=row.article,
            article_heading=row.article_heading,
            clause=clause,
            point=point,
            in_attachment=row.in_attachment,
            attachment_title=row.attachment_title or doc.attachment_title,
            status="superseded" if doc.status == "superseded" else "in_force",
            replaced_by=doc.replaced_by,
            is_sample=doc.is_sample,
            score=score,
            text=text,
            chunk_id=row.chunk_id,
            issuer=doc.issuer,
            attachment_type=row.attachment_type if row.attachment_title else doc.attachment_type,
            replaced_by_doc=wording.dated_name(_DocView(replacer)) if replacer is not None else None,
            amended_by=list(dict.fromkeys(amended)),
            pinpointed=pin is not None and text != row.text,
        )

    def _amendment_phrase(self, snap: Snapshot, chunk_index: int, action: str) -> str:
        row = snap.chunks[chunk_index]
        doc = snap.docs[row.doc_id]
        cite = Citation(
            doc_id=doc.doc_id,
            doc_number=doc.number,
            doc_title=doc.title,
            doc_type=doc.doc_type,
            issued=doc.issued,
            article=row.article,
            article_heading=row.article_heading,
            clause=row.clause,
            point=None,
            in_attachment=row.in_attachment,
            attachment_title=row.attachment_title or doc.attachment_title,
            status="in_force",
            replaced_by=None,
            is_sample=False,
            score=0.0,
            text="",
            chunk_id=row.chunk_id,
            issuer=None,
            attachment_type=row.attachment_type if row.attachment_title else doc.attachment_type,
        )
        return wording.source_phrase(cite)

    def search(self, question: str, *, k: int = 5) -> tuple[list[Citation], float, bool]:
        """Ranked citations (one per article, best first), the confidence and whether it is answered."""
        answer = self.ask(question, k=k, compose=False)
        return answer.ranked, answer.confidence, answer.found

    def ask(self, question: str, *, k: int = 5, compose: bool = True) -> Answer:
        """Cited answer (extractive by default, LLM-written when configured), or a refusal with the nearest.

        The answer leads with the khoản (or điểm, or sentence) that answers; a question asking several
        things is answered part by part; a borderline case quotes the nearest passage, labelled as
        possibly not answering. `compose=False` skips the LLM writer (rankings for tools and benchmarks).
        """
        text = (question or "").strip()
        if not text:
            raise EmptyQuestion("the question is empty")
        text = text[:MAX_QUESTION_CHARS]
        self._maybe_refresh()
        snap = self._snapshot
        if snap.empty:
            return Answer(text, False, wording.NO_DOCUMENTS, [], [])
        query = read_query(text, snap.restorer)
        query_vec = self.embedder.embed_query(query.search_text)
        depth = max(k, 10)
        ranked = rank(snap, query, query_vec=query_vec, k=depth, params=self.params)
        plan = plan_answer(snap, query, ranked, embed=self.embedder.embed_query, params=self.params, k=depth)
        scores = dict(zip(ranked.units, ranked.scores, strict=True))
        best_chunk = dict(zip(ranked.units, ranked.best_chunks, strict=True))
        # Two parts of a question may be answered by two khoản of one article: each quote is its own pin's.
        pins: dict[int, Pinpoint] = {}
        for quoted_pin in plan.quoted:
            pins.setdefault(quoted_pin.unit, quoted_pin)
        cites: list[Citation] = []
        for unit in plan.order[:k]:
            unit_pin = pins.get(unit)
            chunk = unit_pin.chunk if unit_pin is not None else best_chunk.get(unit, snap.units[unit].first)
            cites.append(self._citation(snap, chunk, scores.get(unit, 0.0), pin=unit_pin))
        for c in cites:
            c.asked_old = c.doc_id in ranked.old_docs
        by_unit = dict(zip(plan.order[:k], cites, strict=False))
        by_pin: dict[tuple[int, int, object], Citation] = {}

        def cite_of(pin: Pinpoint) -> Citation | None:
            if pin.unit not in by_unit:
                return None
            if pins.get(pin.unit) is pin:
                return by_unit[pin.unit]
            key = (pin.unit, pin.chunk, pin.segment)
            if key not in by_pin:
                own = self._citation(snap, pin.chunk, scores.get(pin.unit, 0.0), pin=pin)
                own.asked_old = own.doc_id in ranked.old_docs
                by_pin[key] = own
            return by_pin[key]

        whole = plan.whole
        confidence = whole.confidence if not plan.parts else max(p.judged.confidence for p in plan.parts)
        missing_docs = list(dict.fromkeys(ranked.missing_documents))
        # Words no loaded text mentions are named only when typed with marks (restored words can read oddly).
        unmentioned = [t.text for t in whole.absent if t.nameable] if not query.accent_free else []
        if plan.status == REFUSED:
            nearest = cites[:3]
            return Answer(
                text,
                False,
                wording.refusal(nearest, unmentioned=unmentioned, missing_documents=missing_docs),
                [],
                nearest,
                confidence,
                unmentioned=unmentioned,
                ranked=cites,
                missing_documents=missing_docs,
                features=dict(zip(REFUSAL_FEATURES, whole.features, strict=True)),
            )
        quoted = list({id(q): q for pin in plan.quoted if (q := cite_of(pin)) is not None}.values())
        uncertain = plan.status == UNCERTAIN
        features = dict(zip(REFUSAL_FEATURES, whole.features, strict=True))
        if plan.parts:
            items = []
            for part in plan.parts:
                cite = cite_of(part.judged.pin) if part.judged.status != REFUSED else None
                words = [t.text for t in part.judged.absent if t.nameable] if not query.accent_free else []
                items.append(wording.PartItem(part.text, cite, part.judged.status == UNCERTAIN, words))
            answer_text = wording.missing_documents_note(wording.parts_answer(items), missing_docs)
            return Answer(
                text,
                True,
                answer_text,
                quoted,
                [],
                confidence,
                uncertain=uncertain,
                ranked=cites,
                parts=[wording.part_json(i) for i in items],
                features=features,
                missing_documents=missing_docs,
            )
        if compose and self.answerer is not None and not uncertain:
            reply = self.answerer.answer(text, cites)
            if reply is not None:
                used = [cites[i] for i in reply.used]
                return Answer(
                    text,
                    True,
                    wording.missing_documents_note(reply.text, missing_docs),
                    used,
                    [],
                    confidence,
                    generated=True,
                    ranked=cites,
                    features=features,
                    missing_documents=missing_docs,
                )
        note = None
        if whole.bound_conflict is not None:
            asked, phrase = whole.bound_conflict
            note = wording.bound_conflict_note(BOUND_CLASS_OF[tuple(strip_diacritics(asked).split())], phrase)
        answer_text = wording.missing_documents_note(
            wording.extractive_answer(quoted, uncertain=uncertain, note=note), missing_docs
        )
        return Answer(
            text,
            True,
            answer_text,
            quoted,
            [],
            confidence,
            uncertain=uncertain,
            ranked=cites,
            features=features,
            missing_documents=missing_docs,
        )

    def find_passages(self, text: str, *, doc_ids: Sequence[str] | None = None) -> list[Citation]:
        """Chunks whose text contains `text` (case-, space- and punctuation-insensitive), in index order."""
        want = _plain_words(text)
        if not want:
            return []
        snap = self._snapshot
        allowed = set(doc_ids) if doc_ids is not None else None
        out = []
        for i, row in enumerate(snap.chunks):
            if allowed is not None and row.doc_id not in allowed:
                continue
            if want in _plain_words(row.text):
                out.append(self._citation(snap, i, 1.0))
        return out

    def has_article(self, doc_id: str, article: str, *, in_attachment: bool = False) -> bool:
        """Whether the index holds Điều (or section) `article` of the document."""
        snap = self._snapshot
        return any(
            r.doc_id == doc_id and str(r.article) == article and r.in_attachment == in_attachment
            for r in snap.chunks
        )

    def article(self, chunk_id: str) -> tuple[Citation, str]:
        """The citation of a chunk and the full text of the Điều (or section) containing it, heading once."""
        snap = self._snapshot
        index = snap.chunk_index.get(chunk_id)
        if index is None:
            raise ChunkNotFound(f"no chunk {chunk_id!r} in the index", chunk_id=chunk_id)
        unit = snap.units[int(snap.unit_of_chunk[index])]
        rows = snap.chunks[unit.first : unit.last]
        head = rows[0].article_heading
        first = [line for line in rows[0].text.split("\n") if line.strip()]
        # Every chunk of a long article repeats the heading lines on top ("II. …", "1. …"): keep them once.
        prefix = first[: first.index(head) + 1] if head and head in first[:4] else []
        lines: list[str] = list(prefix) if prefix else ([head] if head else [])
        for row in rows:
            own = [line for line in row.text.split("\n") if line.strip()]
            if prefix and own[: len(prefix)] == prefix:
                own = own[len(prefix) :]
            for line in own:
                if not lines or line != lines[-1]:
                    lines.append(line)
        body = "\n".join(lines)
        cite = self._citation(snap, index, 1.0)
        cite.clause = cite.point = None  # the whole article
        return cite, body


@dataclass
class _DocView:
    """A registry entry seen as something `wording.document_phrase` can name."""

    doc: DocRecord

    def __getattr__(self, name: str) -> Any:
        doc = self.__dict__["doc"]
        return {
            "doc_number": doc.number,
            "doc_title": doc.title,
            "doc_type": doc.doc_type,
            "issued": doc.issued,
            "issuer": doc.issuer,
            "is_sample": doc.is_sample,
        }[name]


def _plain_words(text: str) -> str:
    return " ".join(_WORD_RE.findall(fold(text)))


_WORD_RE = re.compile(r"[^\W_]+")


def _unchanged(existing: DocRecord | None, parsed: ParsedDocument) -> bool:
    """The same bytes are already indexed, by the current structure version or exactly as it would."""
    return (
        existing is not None
        and existing.source_sha256 == parsed.source_sha256
        and existing.reload_reason is None
    )


def documents_to_reload(*, index_dir: Path, chroma_url: str | None = None) -> list[DocumentInfo]:
    """The documents an older version indexed whose citations may be wrong until their file is loaded again,
    read without the embedding model and without writing (for `canbo health`, every 30 s under Compose).

    Once this version has opened the index, every registry entry records its structure version and reload
    reason, so only the registry is read; the chunks are read only for entries no engine of this version has
    seen yet. An embedded index not created yet has none."""
    if not chroma_url and not Path(index_dir).exists():
        return []
    store = ChromaStore(make_client(index_dir=Path(index_dir), chroma_url=chroma_url))
    docs = {d: DocRecord.from_metadata(d, m) for d, m in store.all_documents().items()}
    unseen = sorted(d for d, r in docs.items() if r.structure == 0)
    if unseen and store.indexed_model() is not None:
        store.open_existing_chunks()
        chunks = store.iter_chunks(with_embeddings=False, doc_ids=unseen)
        found = assess({d: docs[d] for d in unseen}, [(sid, meta) for sid, _, meta, _ in chunks])
        for doc_id, structure in found.documents.items():
            docs[doc_id].reload_reason = structure.reload_reason
    stale = [docs[d] for d in sorted(docs) if docs[d].reload_reason is not None]
    return [_info(d) for d in stale]


def _meta_of(doc: DocRecord) -> Any:
    from knowledge.model import DocumentMeta

    return DocumentMeta(
        doc_id=doc.doc_id,
        number=doc.number,
        doc_type=doc.doc_type,
        title=doc.title,
        issuer=doc.issuer,
        issued=doc.issued,
        is_sample=doc.is_sample,
        attachment_type=doc.attachment_type,
        attachment_title=doc.attachment_title,
    )


def make_engine(
    *,
    index_dir: Path,
    chroma_url: str | None = None,
    embedding_model: str = DEFAULT_MODEL,
    embedding_threads: int = 1,
    query_threads: int | None = None,
    llm: LLMSettings | None = None,
    embedder: Embedder | None = None,
    chat_model: BaseChatModel | None = None,
    loader: Loader | None = None,
    params: RankingParams | None = None,
    for_reindex: bool = False,
    refresh_interval_s: float = 5.0,
) -> QAEngine:
    """Build the engine: embedded Chroma in `index_dir` unless `chroma_url` is given.

    `for_reindex=True` skips the embedding-model check so `QAEngine.reindex()` can rebuild the vectors.
    """
    client = make_client(index_dir=Path(index_dir), chroma_url=chroma_url)
    store = ChromaStore(client)
    if chat_model is None and llm is not None:
        chat_model = make_chat_model(llm)
    return QAEngine(
        store=store,
        embedder=embedder
        or make_embedder(embedding_model, threads=embedding_threads, query_threads=query_threads),
        chat_model=chat_model,
        llm_timeout_s=llm.timeout_s if llm is not None else 20.0,
        loader=loader or _default_loader,
        params=params,
        for_reindex=for_reindex,
        refresh_interval_s=refresh_interval_s,
    )
