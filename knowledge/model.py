"""Data types passed from the knowledge package to its users: documents, relations and chunks.

Contract for the other packages: fields may be added, never renamed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class RelationKind(StrEnum):
    REPLACES = "replaces"  # "thay thế Quy định số 98-QĐ/TW ..."
    AMENDS = "amends"  # "sửa đổi, bổ sung ..."
    GUIDES = "guides"  # "hướng dẫn thực hiện ..." (informational)


@dataclass(frozen=True)
class Relation:
    kind: RelationKind
    target_number: str  # normalised number of the other document, e.g. "98-QĐ/TW"
    evidence: str  # the sentence the relation was read from


@dataclass
class DocumentMeta:
    doc_id: str  # stable across re-ingests: derived from the normalised number, else from the file name
    number: str | None  # as printed and normalised, e.g. "65-QĐ/TW", "138/2020/NĐ-CP", "07-QĐi/TU"
    doc_type: str | None  # "QUY ĐỊNH", "QUYẾT ĐỊNH", "HƯỚNG DẪN", "ĐỀ ÁN", "NGHỊ ĐỊNH", ...
    title: str  # the subject line, e.g. "về luân chuyển cán bộ"
    issuer: str | None = None  # "BỘ CHÍNH TRỊ", "THÀNH ỦY HÀ NỘI", ...
    issued: date | None = None
    place: str | None = None
    effective: date | None = None  # "có hiệu lực từ ngày ..." (None: from the issue date)
    relations: list[Relation] = field(default_factory=list)
    classification: str | None = None  # "MẬT", "TỐI MẬT", "TUYỆT MẬT" or None
    is_sample: bool = False  # an illustrative sample written by the project, not an official text
    # When a Quyết định issues an attached Quy định ("ban hành kèm theo"), the attached text is
    # described here, and chunks of the attachment carry in_attachment=True.
    attachment_type: str | None = None  # e.g. "QUY ĐỊNH"
    attachment_title: str | None = None


@dataclass
class Chunk:
    chunk_id: str  # stable: f"{doc_id}:{position}" style, unique within the index
    doc_id: str
    position: int  # order within the document, from 0
    text: str  # the chunk's own text (one khoản, or a whole short Điều / section)
    article: int | str | None  # Điều number, or a section label such as "II.3" for guidance/projects
    article_heading: str = ""  # "Điều 5. Thời gian luân chuyển" or "II. Nội dung"
    clause: str | None = None  # khoản "2"
    point: str | None = None  # điểm "a" (only when a chunk is a single point)
    heading_path: list[str] = field(default_factory=list)  # ["Chương II. ...", "Mục 1. ...", "Điều 5. ..."]
    in_attachment: bool = False  # part of the Quy định attached to a Quyết định
    # The kind and title of that attached text ("QUY ĐỊNH", "về luân chuyển cán bộ"), when read: a decision
    # may issue several, and the document's own attachment_type/attachment_title name only the first.
    attachment_type: str | None = None
    attachment_title: str | None = None


@dataclass
class ParsedDocument:
    meta: DocumentMeta
    chunks: list[Chunk]
    text: str  # the full normalised text (for "show the whole article" and re-chunking)
    source_path: str
    source_sha256: str  # of the file bytes: re-ingesting an unchanged file does nothing
    source_format: str  # "txt" | "md" | "docx" | "pdf" | "html"
