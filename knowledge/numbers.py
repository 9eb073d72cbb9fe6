"""Document numbers ("65-QĐ/TW", "07-QĐi/TU", "138/2020/NĐ-CP"): tolerant finding and normalisation."""

from __future__ import annotations

import re
import unicodedata

# Type and issuer codes typed without diacritics, mapped to their printed form. Only whole codes
# (the pieces between "-" and "/") are mapped, so "HD" (Hướng dẫn) and "CP" stay as they are.
_CODE_FIXES: dict[str, str] = {
    "QD": "QĐ",
    "QDI": "QĐi",
    "QĐI": "QĐi",
    "ND": "NĐ",
    "DA": "ĐA",
    "DU": "ĐU",
    "DUK": "ĐUK",
    "DUQ": "ĐUQ",
    "HDND": "HĐND",
    "BTCTU": "BTCTU",
    "DCS": "ĐCS",
    "TLDLD": "TLĐLĐ",
}

_LETTERS = "A-Za-zĐđÐðÀ-ỹ"
# A number: digits (maybe a letter suffix), an optional "/2020" year, then at least one code.
NUMBER_PATTERN = (
    rf"\d{{1,5}}[a-zA-Z]?(?:\s*/\s*(?:19|20)\d{{2}})?"
    rf"(?:\s*[-–/]\s*[{_LETTERS}][{_LETTERS}0-9]{{0,11}}){{1,4}}"
)
NUMBER_RE = re.compile(rf"(?<![\w/-])({NUMBER_PATTERN})(?![\w])")
_PREFIX_RE = re.compile(r"^\s*(?:số|so|no\.?)\s*[:.]?\s*", re.IGNORECASE)
_SEPARATOR_RE = re.compile(r"\s*([-–/])\s*")


def _fix_wrong_d(text: str) -> str:
    """Replace the Icelandic eth (Ð/ð), often typed for Đ/đ, with the Vietnamese letter."""
    return text.replace("\u00d0", "\u0110").replace("\u00f0", "\u0111")


def normalise_number(raw: str) -> str:
    """Return the canonical form of a document number: "số 65 - qđ/tw" → "65-QĐ/TW".

    Tolerates a leading "Số:", spaces around separators, any letter case, the wrong "Ð", en dashes
    and codes typed without diacritics ("QD" → "QĐ", "ND-CP" → "NĐ-CP"). Keeps Hà Nội's "QĐi".
    Text that does not look like a number is returned stripped and upper-cased.
    """
    text = unicodedata.normalize("NFC", _fix_wrong_d(raw)).strip()
    text = re.sub(r"[\s.,;:)]+$", "", _PREFIX_RE.sub("", text).strip())
    text = _SEPARATOR_RE.sub(lambda m: "-" if m.group(1) in "-–" else "/", text)
    text = re.sub(r"\s+", " ", text)
    pieces = re.split(r"([-/])", text)
    out: list[str] = []
    for piece in pieces:
        if piece in ("-", "/") or not piece:
            out.append(piece)
            continue
        upper = piece.upper()
        out.append(_CODE_FIXES.get(upper, upper))
    return unicodedata.normalize("NFC", "".join(out))


def find_numbers(text: str) -> list[str]:
    """Every document number in `text`, normalised, in order of appearance, without repeats."""
    seen: list[str] = []
    for match in NUMBER_RE.finditer(_fix_wrong_d(text)):
        candidate = match.group(1)
        if not any(ch.isalpha() and ch.isupper() for ch in candidate):
            continue  # "3-năm" is prose, numbers carry upper-case codes
        number = normalise_number(candidate)
        if number not in seen:
            seen.append(number)
    return seen


def number_slug(number: str) -> str:
    """An ASCII, lower-case identifier for a number: "65-QĐ/TW" → "65-qd-tw"."""
    folded = unicodedata.normalize("NFD", _fix_wrong_d(number).replace("Đ", "D").replace("đ", "d"))
    ascii_text = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
