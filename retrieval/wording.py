"""Every Vietnamese phrase of the retrieval answers: citation phrases, extractive answers, refusals, LLM prompt."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
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
ATTACHED = "{attachment} (ban hành kèm theo {doc})"
DEFAULT_ATTACHMENT_TYPE = "QUY ĐỊNH"
SUPERSEDED_NOTE = "⚠️ {doc} đã được thay thế bởi {replaced_by}; nên áp dụng văn bản thay thế."
SUPERSEDED_ASKED_NOTE = "⚠️ Đây là quy định cũ theo câu hỏi: {doc} đã được thay thế bởi {replaced_by}."
AMENDED_NOTE = "⚠️ Điều này đã được sửa đổi, bổ sung: xem {by}."
CONTEXT_LINE = "(Trích {article}; xem toàn văn điều để đọc đủ các khoản.)"
UNCERTAIN_INTRO = (
    "Chưa tìm thấy quy định trả lời thật sát câu hỏi. Nội dung gần nhất dưới đây có thể không trả lời "
    "đúng câu hỏi, xin kiểm tra lại:"
)
MISSING_DOCUMENTS = "Văn bản {docs} chưa được nạp vào hệ thống."
MISSING_DOCUMENTS_ANSWERED = "Lưu ý: văn bản {docs} mà câu hỏi nêu chưa được nạp vào hệ thống; câu trả lời dưới đây theo các văn bản đã nạp."
PARTS_INTRO = "Câu hỏi có {n} ý:"
PART_NOT_COVERED = "Các văn bản đã nạp không quy định nội dung này."
PART_UNCERTAIN = "(có thể chưa trả lời đúng ý này) "
BOUND_KINDS = ("mức tối đa", "mức tối thiểu")  # the kinds of bound, in the order of analysis.BOUND_CLASSES
BOUND_CONFLICT = (
    "Lưu ý: câu hỏi hỏi {asked}, còn quy định được trích nêu {stated} («{phrase} …»); "
    "các văn bản đã nạp có thể không quy định {asked}."
)

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
    "BAN THƯỜNG VỤ": "Ban Thường vụ",
    "BAN TỔ CHỨC": "Ban Tổ chức",
    "BAN CHẤP HÀNH": "Ban Chấp hành",
    "BỘ NỘI VỤ": "Bộ Nội vụ",
    "SỞ NỘI VỤ": "Sở Nội vụ",
    "CHÍNH PHỦ": "Chính phủ",
    "THÀNH ỦY": "Thành ủy",
    "TỈNH ỦY": "Tỉnh ủy",
    "QUẬN ỦY": "Quận ủy",
    "HUYỆN ỦY": "Huyện ủy",
    "ĐẢNG ỦY": "Đảng ủy",
    "ĐẢNG BỘ": "Đảng bộ",
    "ỦY BAN NHÂN DÂN": "Ủy ban nhân dân",
    "HỘI ĐỒNG NHÂN DÂN": "Hội đồng nhân dân",
    "BAN CHẤP HÀNH ĐẢNG BỘ": "Ban Chấp hành Đảng bộ",
    "QUỐC HỘI": "Quốc hội",
}
# Committees named after their territory: what follows is the place ("Tỉnh ủy Hà Nam").
_TERRITORIAL = {"THÀNH ỦY", "TỈNH ỦY", "QUẬN ỦY", "HUYỆN ỦY"}
# Administrative levels, written in lower case before the place they name ("Ủy ban nhân dân tỉnh Hà Nam").
_LEVELS = ("THÀNH PHỐ", "THỊ XÃ", "THỊ TRẤN", "TỈNH", "QUẬN", "HUYỆN", "XÃ", "PHƯỜNG")
_ACRONYMS = {"UBND", "HĐND", "MTTQ", "TW", "TP", "TP."}
# Old-style tone placement ("UỶ") read as the modern one ("ỦY"), so both spellings meet the names above.
_OLD_TONES = {"UỶ": "ỦY", "THUỶ": "THỦY", "HOÀ": "HÒA", "HOÁ": "HÓA", "KHOẺ": "KHỎE"}


def _capital(word: str) -> str:
    return word[:1].upper() + word[1:].lower()


def issuer_name(raw: str) -> str:
    """ "BỘ CHÍNH TRỊ" → "Bộ Chính trị", "ỦY BAN NHÂN DÂN TỈNH HÀ NAM" → "Ủy ban nhân dân tỉnh Hà Nam",
    "TỈNH UỶ HÀ NAM" → "Tỉnh ủy Hà Nam"; other words after a known name read in lower case, a name with
    nothing known is capitalised word by word, and one already in mixed case is kept as written."""
    text = " ".join(unicodedata.normalize("NFC", raw).split())
    if not text.isupper():
        return text
    words = [_OLD_TONES.get(w, w) for w in text.split(" ")]
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in _ACRONYMS:
            out.append(words[i])
            i += 1
            continue
        known = next(
            (
                k
                for k in sorted(_ISSUERS, key=len, reverse=True)
                if words[i : i + k.count(" ") + 1] == k.split(" ")
            ),
            None,
        )
        if known is not None:
            out.append(_ISSUERS[known])
            i += known.count(" ") + 1
            if any(known.endswith(t) for t in _TERRITORIAL):
                out.extend(_capital(w) for w in words[i:])
                break
            continue
        level = next((lv for lv in _LEVELS if words[i : i + lv.count(" ") + 1] == lv.split(" ")), None)
        if level is not None:
            size = level.count(" ") + 1
            out.append(" ".join(w.lower() for w in words[i : i + size]))
            out.extend(_capital(w) for w in words[i + size :])  # the place's name
            break
        out.append(words[i].lower())
        i += 1
    if all(w == w.lower() for w in out):  # nothing known: each word capitalised, as before
        return text.title()
    name = " ".join(out)
    return name[:1].upper() + name[1:]


def format_date(value: date) -> str:
    return f"{value.day}/{value.month}/{value.year}"


def _type_name(doc_type: str | None) -> str:
    return (doc_type or "Văn bản").strip().capitalize()


_NAMED_TYPES = {"LUẬT", "BỘ LUẬT", "HIẾN PHÁP", "PHÁP LỆNH", "ĐIỀU LỆ"}


class Nameable(Protocol):
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
    def is_sample(self) -> bool: ...


def document_name(c: Nameable) -> str:
    """ "Quy định số 65-QĐ/TW", "Luật Viên chức 2010", or the title of an unnumbered document."""
    if c.doc_number:
        return f"{_type_name(c.doc_type)} số {c.doc_number}"
    if c.doc_type and c.doc_type.upper() in _NAMED_TYPES:
        return f"{_type_name(c.doc_type)} {c.doc_title}".strip()
    if c.doc_type and c.doc_title.lower().startswith("về "):
        return f"{_type_name(c.doc_type)} {c.doc_title}"
    return c.doc_title


def dated_name(c: Nameable) -> str:
    """ "Quy định số 65-QĐ/TW ngày 28/4/2022"."""
    name = document_name(c)
    return f"{name} ngày {format_date(c.issued)}" if c.issued else name


def document_phrase(c: Nameable, *, mark_sample: bool = True) -> str:
    """ "Quy định số 65-QĐ/TW ngày 28/4/2022 của Bộ Chính trị" (or the name when there is no number)."""
    phrase = document_name(c)
    if c.issued:
        phrase += f" ngày {format_date(c.issued)}"
    if c.issuer:
        phrase += f" của {issuer_name(c.issuer)}"
    if c.is_sample and mark_sample:
        phrase += SAMPLE_MARK
    return phrase


class Attachable(Nameable, Protocol):
    @property
    def attachment_title(self) -> str | None: ...
    @property
    def attachment_type(self) -> str | None: ...


def attachment_name(c: Attachable) -> str:
    """ "Quy định đánh giá, xếp loại hằng tháng": the kind and title of the text a decision issued with it
    ("Quy định" when the kind is not printed)."""
    kind = _type_name(c.attachment_type or DEFAULT_ATTACHMENT_TYPE)
    title = (c.attachment_title or "").strip()
    return f"{kind} {title}" if title else kind


def attached_phrase(c: Attachable) -> str:
    """ "Quy định đánh giá, xếp loại … (ban hành kèm theo Quyết định số 3814-QĐ/TU ngày 16/5/2018 của …)"."""
    phrase = ATTACHED.format(attachment=attachment_name(c), doc=document_phrase(c, mark_sample=False))
    return phrase + SAMPLE_MARK if c.is_sample else phrase


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
    """Location and document: "khoản 2 Điều 5 Quy định số 65-QĐ/TW ngày …", or for a text issued with a
    decision "Điều 4 Quy định đánh giá, xếp loại … (ban hành kèm theo Quyết định số 3814-QĐ/TU ngày …)"."""
    doc = attached_phrase(c) if c.in_attachment else document_phrase(c)
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


def superseded_note(c: Citable, *, asked: bool = False) -> str:
    doc = document_name(c)
    replaced_by = getattr(c, "replaced_by_doc", None) or c.replaced_by or "văn bản khác"
    return (SUPERSEDED_ASKED_NOTE if asked else SUPERSEDED_NOTE).format(doc=doc, replaced_by=replaced_by)


def _article_name(c: Citable) -> str:
    heading = (getattr(c, "article_heading", "") or "").strip()
    if heading:
        return heading
    return location_phrase(c) or "điều này"


def _notes(c: Citable) -> list[str]:
    notes = []
    if getattr(c, "pinpointed", False):
        notes.append(CONTEXT_LINE.format(article=_article_name(c)))
    if c.status == "superseded":
        notes.append(superseded_note(c, asked=bool(getattr(c, "asked_old", False))))
    amended = list(getattr(c, "amended_by", []) or [])
    if amended:
        notes.append(AMENDED_NOTE.format(by="; ".join(amended)))
    return notes


def bound_conflict_note(asked_kind: int, phrase: str) -> str:
    """«câu hỏi hỏi mức tối đa, còn quy định được trích nêu mức tối thiểu («ít nhất …»)»."""
    return BOUND_CONFLICT.format(
        asked=BOUND_KINDS[asked_kind], stated=BOUND_KINDS[1 - asked_kind], phrase=phrase
    )


def extractive_answer(
    citations: Sequence[Citable], *, uncertain: bool = False, note: str | None = None
) -> str:
    """Quote the khoản that answers (and a close second article), each with its notes: the article it is
    taken from, one warning for a replaced document (naming the replacement and its date), amendments.
    `note` (why the quote may not answer) follows the uncertain introduction."""
    lines: list[str] = [UNCERTAIN_INTRO] if uncertain else []
    if note:
        lines.append(note)
    warned: set[str] = set()
    for i, c in enumerate(citations):
        text = quote(c)
        lines.append(text if i == 0 else ALSO + text[0].lower() + text[1:])
        for note in _notes(c):
            if note.startswith("⚠️") and note in warned:
                continue  # one warning per replaced document
            warned.add(note)
            lines.append(note)
    return "\n\n".join(lines)


@dataclass
class PartItem:
    """One part of a question and how it is answered (its citation, or None when no document covers it)."""

    text: str
    citation: Citable | None
    uncertain: bool = False
    unmentioned: Sequence[str] = ()


def parts_answer(items: Sequence[PartItem]) -> str:
    """ "Câu hỏi có 2 ý: 1. «…»: Theo … 2. «…»: Các văn bản đã nạp không quy định nội dung này." """
    lines = [PARTS_INTRO.format(n=len(items))]
    warned: set[str] = set()
    for i, item in enumerate(items, start=1):
        head = f"{i}. «{item.text}»:"
        if item.citation is None:
            extra = (
                " " + UNMENTIONED.format(words=", ".join(f"«{w}»" for w in item.unmentioned))
                if item.unmentioned
                else ""
            )
            lines.append(f"{head} {PART_NOT_COVERED}{extra}")
            continue
        lines.append(f"{head} {PART_UNCERTAIN if item.uncertain else ''}{quote(item.citation)}")
        for note in _notes(item.citation):
            if note.startswith("⚠️") and note in warned:
                continue
            warned.add(note)
            lines.append(note)
    return "\n\n".join(lines)


def missing_documents_note(answer: str, missing_documents: Sequence[str]) -> str:
    """An answer to a question naming documents that are not loaded says so first: it comes from others."""
    if not missing_documents:
        return answer
    docs = ", ".join(f"«{d}»" for d in missing_documents)
    return f"{MISSING_DOCUMENTS_ANSWERED.format(docs=docs)}\n\n{answer}"


def part_json(item: PartItem) -> dict[str, object]:
    c = item.citation
    return {
        "part": item.text,
        "found": c is not None,
        "uncertain": item.uncertain,
        "source": source_phrase(c) if c is not None else None,
        "unmentioned": list(item.unmentioned),
    }


def refusal(
    nearest: Sequence[Citable], *, unmentioned: Sequence[str] = (), missing_documents: Sequence[str] = ()
) -> str:
    lines = [NOT_FOUND]
    if missing_documents:
        lines.append(MISSING_DOCUMENTS.format(docs=", ".join(f"«{d}»" for d in missing_documents)))
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
