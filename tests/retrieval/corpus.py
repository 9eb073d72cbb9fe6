"""Small regulation-like documents built in code (ParsedDocument objects), for retrieval tests."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from knowledge.model import Chunk, DocumentMeta, ParsedDocument, Relation, RelationKind
from retrieval import QAEngine, make_engine
from retrieval.embedding import Embedder

Article = tuple[str, list[str]]  # (heading without "Điều N.", clauses)


def make_doc(
    *,
    doc_id: str,
    number: str | None,
    title: str,
    articles: list[Article],
    doc_type: str = "QUY ĐỊNH",
    issued: date | None = None,
    replaces: tuple[str, ...] = (),
    issuer: str | None = "BỘ CHÍNH TRỊ",
    version: str = "v1",
    attachment: str | None = None,
    is_sample: bool = False,
) -> ParsedDocument:
    chunks: list[Chunk] = []
    for no, (heading, clauses) in enumerate(articles, start=1):
        for clause_no, text in enumerate(clauses, start=1):
            chunks.append(
                Chunk(
                    chunk_id=f"{doc_id}:{len(chunks)}",
                    doc_id=doc_id,
                    position=len(chunks),
                    text=text,
                    article=no,
                    article_heading=f"Điều {no}. {heading}",
                    clause=str(clause_no) if len(clauses) > 1 else None,
                    in_attachment=attachment is not None,
                )
            )
    meta = DocumentMeta(
        doc_id=doc_id,
        number=number,
        doc_type=doc_type,
        title=title,
        issuer=issuer,
        issued=issued,
        relations=[Relation(RelationKind.REPLACES, n, f"thay thế {n}") for n in replaces],
        is_sample=is_sample,
        attachment_type="QUY ĐỊNH" if attachment else None,
        attachment_title=attachment,
    )
    text = "\n".join(c.text for c in chunks)
    return ParsedDocument(
        meta=meta,
        chunks=chunks,
        text=text,
        source_path=f"{doc_id}.txt",
        source_sha256=hashlib.sha256(f"{version}\n{text}".encode()).hexdigest(),
        source_format="txt",
    )


def rotation_98() -> ParsedDocument:
    return make_doc(
        doc_id="98-qd-tw-2017",
        number="98-QĐ/TW",
        title="về luân chuyển cán bộ",
        issued=date(2017, 10, 7),
        articles=[
            (
                "Thời gian luân chuyển",
                ["Thời gian luân chuyển cán bộ ít nhất là 3 năm cho mỗi lần luân chuyển."],
            ),
            ("Đối tượng luân chuyển", ["Cán bộ trong quy hoạch được luân chuyển để rèn luyện thực tiễn."]),
        ],
    )


def rotation_65() -> ParsedDocument:
    return make_doc(
        doc_id="65-qd-tw-2022",
        number="65-QĐ/TW",
        title="về luân chuyển cán bộ",
        issued=date(2022, 4, 28),
        replaces=("98-QĐ/TW",),
        articles=[
            (
                "Thời gian luân chuyển",
                [
                    "Thời gian luân chuyển cán bộ ít nhất là 3 năm (36 tháng) cho mỗi lần luân chuyển.",
                    "Trường hợp đặc biệt do cấp có thẩm quyền xem xét, quyết định.",
                ],
            ),
            (
                "Đối tượng luân chuyển",
                [
                    "Cán bộ trong quy hoạch chức danh lãnh đạo, quản lý.",
                    "Người đứng đầu giữ một chức vụ quá hai nhiệm kỳ liên tiếp tại một địa phương.",
                ],
            ),
            ("Không tăng biên chế", ["Không bố trí tăng thêm cấp phó để sắp xếp cán bộ luân chuyển đến."]),
        ],
    )


def monthly_evaluation() -> ParsedDocument:
    return make_doc(
        doc_id="1841-qd-tu-2021",
        number="1841-QĐ/TU",
        doc_type="QUYẾT ĐỊNH",
        title="ban hành Quy định đánh giá, xếp loại hằng tháng",
        issuer="THÀNH ỦY HÀ NỘI",
        issued=date(2021, 10, 28),
        attachment="về đánh giá, xếp loại cán bộ, công chức, viên chức hằng tháng",
        articles=[
            (
                "Trình tự đánh giá hằng tháng",
                [
                    "Đầu tháng, cán bộ đăng ký nhiệm vụ và thời hạn hoàn thành trên phần mềm.",
                    "Cuối tháng, cán bộ tự đánh giá; người trực tiếp quản lý nhận xét, chấm điểm.",
                ],
            ),
            (
                "Thẩm quyền quyết định xếp loại",
                ["Người đứng đầu cơ quan, đơn vị quyết định mức xếp loại hằng tháng và chịu trách nhiệm."],
            ),
            (
                "Mức xếp loại",
                ["Loại A (hoàn thành xuất sắc nhiệm vụ) từ 90 đến 100 điểm; loại B từ 70 đến dưới 90 điểm."],
            ),
            (
                "Trách nhiệm của Ủy ban nhân dân",
                ["Ủy ban nhân dân các quận, huyện tổ chức triển khai đánh giá đối với công chức cấp xã."],
            ),
        ],
    )


def ingested(root: Path, embedder: Embedder, files: dict[str, str]) -> QAEngine:
    """An engine over `files` (name → text) written to `root/docs` and loaded as `canbo ingest` loads them."""
    docs = root / "docs"
    docs.mkdir()
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    engine = make_engine(index_dir=root / "index", embedder=embedder)
    assert [o.status for o in engine.ingest_paths([docs])] == ["added"] * len(files)
    return engine
