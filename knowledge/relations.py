"""Relations between documents ("thay thế", "sửa đổi, bổ sung", "hướng dẫn") and the effective date."""

from __future__ import annotations

import re
from datetime import date

from knowledge.header import fold, make_date
from knowledge.model import Relation, RelationKind
from knowledge.numbers import find_numbers

_SENTENCE_SPLIT_RE = re.compile(r"\n+|(?<=[.;!?])\s+(?=[A-ZĐÀ-Ỹ(])")
_EFFECTIVE_RE = re.compile(
    r"(?:có\s+)?hiệu\s+lực(?:\s+thi\s+hành)?(?:\s+(?:kể\s+)?từ)?\s+(?:ngày\s+)?"
    r"(?:(ký|ban\s+hành)|(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})|(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4}))",
    re.IGNORECASE,
)
_EVIDENCE_MAX = 300
_KEYWORD_RE = re.compile(r"thay\s+thế|sửa\s+đổi|bổ\s+sung", re.IGNORECASE)
_PARTIAL_RE = re.compile(
    r"(?:bai bo|thay the|sua doi|bo sung)\s*,?\s*(?:cac\s+|mot so\s+)?(?:diem|khoan|dieu|cum tu)\b"
)
_LIST_ITEM_RE = re.compile(r"^\s*(?:[a-zđ]\s*\)|[-+•]\s|\d{1,2}\s*[.)]\s)")


def sentences(text: str) -> list[str]:
    """Split text into sentences (and lines) for relation evidence."""
    return [part.strip() for part in _SENTENCE_SPLIT_RE.split(text) if part and part.strip()]


def _kind_of(sentence: str, *, is_guidance: bool) -> RelationKind | None:
    folded = fold(sentence)
    if folded.startswith(("can cu", "xet de nghi", "theo de nghi")):
        # "Căn cứ Quy định số 132-QĐ/TW ..., Ban Tổ chức Trung ương hướng dẫn như sau:"
        return RelationKind.GUIDES if is_guidance and "huong dan" in folded else None
    if _PARTIAL_RE.search(folded):
        # "Bãi bỏ điểm c khoản 1 Điều 5 …", "thay thế cụm từ …": a change to some articles, not a replacement
        return RelationKind.AMENDS
    if "thay the" in folded or "bai bo" in folded or "het hieu luc" in folded:
        return RelationKind.REPLACES
    if "sua doi" in folded or "bo sung" in folded:
        return RelationKind.AMENDS
    if "huong dan thuc hien" in folded or "huong dan thi hanh" in folded:
        return RelationKind.GUIDES
    if is_guidance and folded.startswith("thuc hien"):
        return RelationKind.GUIDES
    return None


def _reports_other_documents(sentence: str, own_numbers: set[str]) -> bool:
    """True for history told about two other documents: "Quy định số 65 thay thế Quy định số 98"."""
    keyword = _KEYWORD_RE.search(sentence)
    if keyword is None:
        return False
    before, after = sentence[: keyword.start()], sentence[keyword.end() :]
    if re.search(r"\bnày\b", before):
        return False
    others_before = [n for n in find_numbers(before) if n not in own_numbers]
    return bool(others_before) and bool(find_numbers(after))


def find_relations(
    text: str, *, own_numbers: set[str], title: str = "", is_guidance: bool = False
) -> list[Relation]:
    """Every (kind, other document) pair stated in `text`, in order, once each; self-references skipped."""
    found: list[Relation] = []
    seen: set[tuple[RelationKind, str]] = set()
    candidates = ([title] if title else []) + sentences(text)
    carried: RelationKind | None = None  # "Các văn bản sau đây hết hiệu lực:" applies to the list below it
    intro = ""
    for sentence in candidates:
        kind = _kind_of(sentence, is_guidance=is_guidance)
        if kind is None and sentence is title and is_guidance:
            kind = RelationKind.GUIDES
        evidence = sentence
        if kind is None and carried is not None and _LIST_ITEM_RE.match(sentence):
            kind = carried
            evidence = f"{intro} {sentence}"
        elif not _LIST_ITEM_RE.match(sentence):
            carried = None
        if kind is None:
            continue
        numbers = find_numbers(sentence)
        if _reports_other_documents(sentence, own_numbers):
            continue
        if not numbers and sentence.rstrip().endswith(":"):
            carried, intro = kind, sentence
        for number in numbers:
            if number in own_numbers or (kind, number) in seen:
                continue
            seen.add((kind, number))
            quoted = evidence if len(evidence) <= _EVIDENCE_MAX else evidence[: _EVIDENCE_MAX - 1] + "…"
            found.append(Relation(kind=kind, target_number=number, evidence=quoted))
    return found


def find_effective_date(text: str, *, issued: date | None) -> date | None:
    """The date from "có hiệu lực (thi hành) (kể) từ ngày ..."; "từ ngày ký" gives the issue date.

    A statement about the document itself ("Quy định này có hiệu lực ...") wins over one about
    something else ("Quyết định kỷ luật có hiệu lực từ ngày ký").
    """
    matches = list(_EFFECTIVE_RE.finditer(text))
    own = [m for m in matches if re.search(r"\bnày\b", text[max(0, m.start() - 60) : m.start()])]
    for match in own or matches:
        if match.group(1):
            return issued
        parts = match.groups()[1:4] if match.group(2) else match.groups()[4:7]
        day, month, year = parts
        if day and month and year:
            return make_date(day, month, year)
    return None
