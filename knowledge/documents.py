"""The knowledge entry point: a file or a text → ParsedDocument (metadata, relations, citable chunks)."""

from __future__ import annotations

import hashlib
import logging
import re
from importlib import resources
from pathlib import Path

from knowledge.chunking import DEFAULT_MAX_CHUNK_CHARS, build_chunks
from knowledge.errors import ClassifiedDocument, EmptyDocument, KnowledgeError
from knowledge.header import parse_header
from knowledge.loaders import SUPPORTED_SUFFIXES, clean_text, read_text
from knowledge.model import DocumentMeta, ParsedDocument
from knowledge.numbers import number_slug
from knowledge.relations import find_effective_date, find_relations
from knowledge.structure import attached_title, parse_body

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "load_document",
    "load_documents",
    "make_doc_id",
    "parse_text",
    "sample_corpus_paths",
]


def make_doc_id(*, number: str | None, year: int | None, source_name: str) -> str:
    """A stable id: from the normalised number (plus the year unless the number holds it), else the file stem.

    Party numbering restarts each term, so "98-QĐ/TW" of 2017 and of another year stay apart.
    """
    if number:
        slug = number_slug(number)
        if year is not None and str(year) not in number:
            slug = f"{slug}-{year}"
        if slug:
            return slug
    stem = Path(source_name).stem if source_name else ""
    slug = number_slug(stem)
    if slug:
        return slug
    return "doc-" + hashlib.sha256(source_name.encode("utf-8")).hexdigest()[:12]


def parse_text(
    text: str,
    *,
    source_name: str,
    source_format: str = "txt",
    allow_classified: bool = False,
    max_chunk_chars: int = DEFAULT_MAX_CHUNK_CHARS,
) -> ParsedDocument:
    """Parse the text of one regulation into metadata, relations and citable chunks.

    Raises ClassifiedDocument for a MẬT / TỐI MẬT / TUYỆT MẬT marking unless `allow_classified`,
    and EmptyDocument when there is no text to index.
    """
    cleaned = clean_text(text)
    if not any(ch.isalpha() for ch in cleaned):
        raise EmptyDocument("the document contains no text", file=source_name)
    lines = cleaned.split("\n")
    header = parse_header(lines)
    if header.classification and not allow_classified:
        raise ClassifiedDocument(
            f"the document is marked {header.classification}; an administrator must allow classified indexing",
            file=source_name,
            classification=header.classification,
        )
    body = parse_body(lines[header.body_start :])
    if header.parent_type and header.number is None and header.doc_type:
        # A regulation saved on its own: cite it as attached to its decision, like an in-file attachment.
        label = f"{header.doc_type} {header.title}".strip()
        body.attachment_type = header.doc_type
        body.attachment_title = attached_title(header.title, header.doc_type) or None
        for unit in body.units:
            unit.in_attachment = True
            unit.attachment_type, unit.attachment_title = body.attachment_type, body.attachment_title
            unit.path.insert(0, label)
        header.number, header.doc_type = header.parent_number, header.parent_type
        header.issued = header.issued or header.parent_issued
    doc_id = make_doc_id(
        number=header.number,
        year=header.issued.year if header.issued else None,
        source_name=source_name,
    )
    chunks = build_chunks(body, doc_id=doc_id, max_chars=max_chunk_chars)
    if not chunks:
        # A header-only text (a title, a cover page): index the header so nothing is silently dropped.
        header_text = "\n".join(line for line in header.header_lines if line.strip())
        if not header_text:
            raise EmptyDocument("the document has no body text", file=source_name)
        body = parse_body(header.header_lines)
        chunks = build_chunks(body, doc_id=doc_id, max_chars=max_chunk_chars)
    own = {header.number} if header.number else set()
    relations = find_relations(
        cleaned,
        own_numbers=own,
        title=header.title,
        is_guidance=header.doc_type == "HƯỚNG DẪN",
    )
    meta = DocumentMeta(
        doc_id=doc_id,
        number=header.number,
        doc_type=header.doc_type,
        title=header.title or _fallback_title(lines, source_name),
        issuer=header.issuer,
        issued=header.issued,
        place=header.place,
        effective=find_effective_date(cleaned, issued=header.issued),
        relations=relations,
        classification=header.classification,
        is_sample=header.is_sample,
        attachment_type=body.attachment_type,
        attachment_title=body.attachment_title,
    )
    log.debug(
        "parsed doc_id=%s mode=%s units=%d chunks=%d relations=%d",
        doc_id,
        body.mode,
        len(body.units),
        len(chunks),
        len(relations),
    )
    return ParsedDocument(
        meta=meta,
        chunks=chunks,
        text=cleaned,
        source_path=source_name,
        source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source_format=source_format,
    )


def _fallback_title(lines: list[str], source_name: str) -> str:
    for line in lines[:10]:
        stripped = line.strip()
        if len(stripped) >= 8 and any(ch.isalpha() for ch in stripped):
            return re.sub(r"\s+", " ", stripped)[:160]
    return Path(source_name).stem


def load_document(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_classified: bool = False,
    max_chunk_chars: int = DEFAULT_MAX_CHUNK_CHARS,
) -> ParsedDocument:
    """Read, parse and chunk one file (.txt, .md, .docx, .pdf, .html).

    Raises a KnowledgeError subclass (UnsupportedFormat, FileTooLarge, UnreadableFile, NoTextLayer,
    EmptyDocument, ClassifiedDocument) with an English `detail` and `params` for the bot's message.
    """
    path = Path(path)
    text, fmt, data = read_text(path, max_bytes=max_bytes)
    parsed = parse_text(
        text,
        source_name=path.name,
        source_format=fmt,
        allow_classified=allow_classified,
        max_chunk_chars=max_chunk_chars,
    )
    parsed.source_path = str(path)
    parsed.source_sha256 = hashlib.sha256(data).hexdigest()
    return parsed


def load_documents(
    paths: list[Path],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_classified: bool = False,
) -> tuple[list[ParsedDocument], list[tuple[Path, KnowledgeError]]]:
    """Load a batch: every readable file is parsed; the others are returned with their error."""
    loaded: list[ParsedDocument] = []
    refused: list[tuple[Path, KnowledgeError]] = []
    for path in paths:
        try:
            loaded.append(load_document(path, max_bytes=max_bytes, allow_classified=allow_classified))
        except KnowledgeError as exc:
            log.warning("refused %s: %s", Path(path).name, exc.code)
            refused.append((Path(path), exc))
    return loaded, refused


def sample_corpus_paths() -> list[Path]:
    """The shipped illustrative sample documents (knowledge/samples/), sorted by name."""
    folder = Path(str(resources.files("knowledge") / "samples"))
    if not folder.is_dir():
        return []
    return sorted(
        path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES
    )
