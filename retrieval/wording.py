"""Every Vietnamese phrase of the retrieval answers: citation phrases, extractive answers, refusals, LLM prompt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

NOT_FOUND = (
    "Không tìm thấy quy định phù hợp với câu hỏi trong các văn bản đã nạp. "
    "Vui lòng diễn đạt lại câu hỏi cụ thể hơn (nêu rõ nội dung, đối tượng hoặc số văn bản)."
)
NO_DOCUMENTS = "Chưa có văn bản nào được nạp. Quản trị viên cần nạp văn bản quy định trước khi hỏi đáp."
NEAREST_INTRO = "Các nội dung gần nhất (có thể không trả lời đúng câu hỏi):"
UNMENTIONED = "Các văn bản đã nạp không nhắc đến: {words}."
ALSO = "Ngoài ra, "
SAMPLE_MARK = " (văn bản mẫu)"
SUPERSEDED_NOTE = "Lưu ý: {doc} đã được thay thế bởi {replaced_by}; nên tham khảo văn bản thay thế."

LLM_SYSTEM = (
    "Bạn là trợ lý công tác cán bộ. Chỉ trả lời dựa trên các đoạn trích được đánh số bên dưới. "
    "Sau mỗi ý, ghi số đoạn trích làm căn cứ trong ngoặc vuông, ví dụ [1] hoặc [2]. "
    "Không được dùng kiến thức bên ngoài. Nếu các đoạn trích không đủ để trả lời, hãy nói rõ là không tìm thấy. "
    "Trả lời ngắn gọn bằng tiếng Việt."
)
LLM_USER = "Các đoạn trích:\n{passages}\n\nCâu hỏi: {question}"


class Citable(Protocol):
    @property
    def doc_number(self) -> str | None: ...
    @property
    def doc_title(self) -> str: ...
    @property
    def doc_type(self) -> str | None: ...
    @property
    def issued(self) -> date | None: ...
    @property
    def issuer(self) -> str | None: ...
    @property
    def article(self) -> int | str | None: ...
    @property
    def clause(self) -> str | None: ...
    @property
    def point(self) -> str | None: ...
    @property
    def in_attachment(self) -> bool: ...
    @property
    def attachment_title(self) -> str | None: ...
    @property
    def attachment_type(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def replaced_by(self) -> str | None: ...
    @property
    def is_sample(self) -> bool: ...
    @property
    def text(self) -> str: ...


_ISSUERS = {
    "BỘ CHÍNH TRỊ": "Bộ Chính trị",
    "BAN BÍ THƯ": "Ban Bí thư",
    "BAN CHẤP HÀNH TRUNG ƯƠNG": "Ban Chấp hành Trung ương",
    "BAN CHẤP HÀNH TRUNG ƯƠNG ĐẢNG": "Ban Chấp hành Trung ương Đảng",
    "BAN TỔ CHỨC TRUNG ƯƠNG": "Ban Tổ chức Trung ương",
    "THÀNH ỦY HÀ NỘI": "Thành ủy Hà Nội",
    "BAN THƯỜNG VỤ THÀNH ỦY": "Ban Thường vụ Thành ủy",
    "BAN TỔ CHỨC THÀNH ỦY": "Ban Tổ chức Thành ủy",
    "CHÍNH PHỦ": "Chính phủ",
    "THÀNH ỦY": "Thành ủy",
    "TỈNH ỦY": "Tỉnh ủy",
    "QUẬN ỦY": "Quận ủy",
    "HUYỆN ỦY": "Huyện ủy",
    "ỦY BAN NHÂN DÂN": "Ủy ban nhân dân",
    "HỘI ĐỒNG NHÂN DÂN": "Hội đồng nhân dân",
    "BAN CHẤP HÀNH ĐẢNG BỘ": "Ban Chấp hành Đảng bộ",
    "QUỐC HỘI": "Quốc hội",
}


def issuer_name(raw: str) -> str:
    """ "BỘ CHÍNH TRỊ" → "Bộ Chính trị"; unknown capitalised names become sentence case."""
    text = " ".join(raw.split())
    if not text.isupper():
        return text
    for known in sorted(_ISSUERS, key=len, reverse=True):
        if text == known or text.startswith(known + " "):
            rest = text[len(known) :].strip()
            return f"{_ISSUERS[known]} {rest.title()}".strip()
    return text.title()


def format_date(value: date) -> str:
    return f"{value.day}/{value.month}/{value.year}"


def _type_name(doc_type: str | None) -> str:
    return (doc_type or "Văn bản").strip().capitalize()


def document_phrase(c: Citable) -> str:
    """ "Quy định số 65-QĐ/TW ngày 28/4/2022 của Bộ Chính trị" (or the title when there is no number)."""
    phrase = f"{_type_name(c.doc_type)} số {c.doc_number}" if c.doc_number else c.doc_title
    if c.issued:
        phrase += f" ngày {format_date(c.issued)}"
    if c.issuer:
        phrase += f" của {issuer_name(c.issuer)}"
    if c.is_sample:
        phrase += SAMPLE_MARK
    return phrase


def location_phrase(c: Citable) -> str:
    """ "điểm a khoản 2 Điều 5" or "mục II.3" (empty when the chunk has no article)."""
    parts: list[str] = []
    if c.point:
        parts.append(f"điểm {c.point}")
    if c.clause:
        parts.append(f"khoản {c.clause}")
    if isinstance(c.article, int) or (isinstance(c.article, str) and c.article.isdigit()):
        parts.append(f"Điều {c.article}")
    elif c.article:
        parts.append(f"mục {c.article}")
    return " ".join(parts)


def source_phrase(c: Citable) -> str:
    """Location and document, e.g. "khoản 2 Điều 5 Quy định ban hành kèm theo Quyết định số …"."""
    doc = document_phrase(c)
    if c.in_attachment:
        attached = _type_name(c.attachment_type or "QUY ĐỊNH")
        doc = f"{attached} ban hành kèm theo {doc}"
    where = location_phrase(c)
    return f"{where} {doc}" if where else doc


def quoted_text(c: Citable) -> str:
    """The chunk text without a leading repeat of its article heading."""
    text = c.text.strip()
    heading = (getattr(c, "article_heading", "") or "").strip()
    if heading and text.startswith(heading):
        text = text[len(heading) :].strip() or text
    return text


def quote(c: Citable) -> str:
    return f"Theo {source_phrase(c)}: «{quoted_text(c)}»"


def superseded_note(c: Citable) -> str:
    doc = f"{_type_name(c.doc_type)} số {c.doc_number}" if c.doc_number else c.doc_title
    return SUPERSEDED_NOTE.format(doc=doc, replaced_by=c.replaced_by or "văn bản khác")


def extractive_answer(citations: Sequence[Citable]) -> str:
    """Quote the best clause (and a close second from another article), with superseded notes."""
    lines: list[str] = []
    for i, c in enumerate(citations):
        lines.append(quote(c) if i == 0 else ALSO + quote(c)[0].lower() + quote(c)[1:])
        if c.status == "superseded":
            lines.append(superseded_note(c))
    return "\n\n".join(lines)


def refusal(nearest: Sequence[Citable], *, unmentioned: Sequence[str] = ()) -> str:
    lines = [NOT_FOUND]
    if unmentioned:
        lines.append(UNMENTIONED.format(words=", ".join(f"«{w}»" for w in unmentioned)))
    if nearest:
        items = [f"- {source_phrase(c)[0].upper()}{source_phrase(c)[1:]}" for c in nearest]
        lines.extend(["", NEAREST_INTRO, *items])
    return "\n".join(lines)


def llm_passages(citations: Sequence[Citable]) -> str:
    return "\n\n".join(
        f"[{i}] {source_phrase(c)}:\n{c.text.strip()}" for i, c in enumerate(citations, start=1)
    )
