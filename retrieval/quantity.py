"""What kind of quantity a question asks for ("bao nhiêu năm", "mấy tuổi", "bao nhiêu phần trăm", "mẫu số mấy")
and whether a passage states one of that kind. A passage that holds some number but none of the asked kind
("05 ngày làm việc" for "lưu giữ bao nhiêu năm" is a time, "85% mức lương" for "hệ số lương" is not a
coefficient) does not answer the number asked for.

The kinds follow the grammar of the question (an interrogative of quantity followed by its unit noun), not a
list of questions: a question without such a unit asks for a number of any kind."""

from __future__ import annotations

import re

from retrieval.analysis import fold, strip_diacritics

# The unit noun after "bao nhiêu" / "mấy" (accent-free syllables) and the kind it asks for.
_UNIT_KINDS = {
    "nam": "time",
    "thang": "time",
    "ngay": "time",
    "tuan": "time",
    "gio": "time",
    "quy": "time",
    "tuoi": "age",
    "phan tram": "percent",
    "%": "percent",
    "dong": "money",
    "trieu": "money",
    "tien": "money",
    "he so": "coefficient",
    "diem": "points",
    "lan": "times",
}
_ASK_RE = re.compile(r"\b(?:bao nhieu|may)\s+(phan tram|he so|%|[a-z]+)")
_HOW_LONG_RE = re.compile(r"\bbao lau\b")
_FORM_RE = re.compile(r"\bmau (?:so )?(?:may|bao nhieu|nao)\b")
_COEFFICIENT_RE = re.compile(r"\bhe so (?:\w+ ){0,10}(?:la )?bao nhieu\b")
_PERCENT_RE = re.compile(r"\b(?:ty le|phan tram) (?:\w+ ){0,10}(?:la )?bao nhieu\b")

_NUM = r"(?:\d+(?:[.,]\d+)?|mot|hai|ba|bon|tu|nam|sau|bay|tam|chin|muoi|nua)"
_STATES = {
    "time": re.compile(
        rf"\b{_NUM}\s+(?:\(\w+\)\s+)?(?:nam|thang|ngay|tuan|gio|quy)\b|\b(?:hang|moi) (?:nam|thang|quy|tuan)\b"
        r"|\bdinh ky\b|\bnhiem ky\b"
    ),
    "age": re.compile(rf"\b{_NUM}\s+tuoi\b|\btuoi nghi huu\b"),
    "percent": re.compile(r"%|\bphan tram\b"),
    "money": re.compile(rf"\b{_NUM}\s+(?:dong|trieu|nghin|ty)\b|\bmuc luong co so\b|\blan muc luong\b"),
    "coefficient": re.compile(r"\bhe so\b[^.;]{0,60}?\d+[.,]\d+|\b\d+[.,]\d+\b"),
    "points": re.compile(rf"\b{_NUM}\s+diem\b"),
    "times": re.compile(rf"\b{_NUM}\s+lan\b|\bmoi (?:nam|thang|quy) \w+ lan\b"),
    "form": re.compile(r"\bmau (?:so )?\w*\d"),
}


def _plain(text: str) -> str:
    return " ".join(re.findall(r"\d+(?:[.,]\d+)*|[^\W_]+|%", strip_diacritics(fold(text))))


def asked_quantity(text: str) -> str | None:
    """The kind of quantity asked for ("time", "age", "percent", "money", "coefficient", "points", "times",
    "form"), or None when the question asks for no number of a particular kind."""
    plain = _plain(text)
    if _FORM_RE.search(plain):
        return "form"
    if _COEFFICIENT_RE.search(plain):
        return "coefficient"
    if _PERCENT_RE.search(plain):
        return "percent"
    for match in _ASK_RE.finditer(plain):
        kind = _UNIT_KINDS.get(match.group(1))
        if kind is not None:
            return kind
    if _HOW_LONG_RE.search(plain):
        return "time"
    return None


def states_quantity(text: str, kind: str) -> bool:
    """Whether the text states a quantity of the kind ("05 năm", "hằng năm", "20%", "mẫu số 02")."""
    pattern = _STATES.get(kind)
    return pattern is None or bool(pattern.search(_plain(text)))
