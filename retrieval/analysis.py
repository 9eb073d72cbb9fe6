"""Vietnamese text analysis for the lexical index: words, accent-free syllables, bigrams, abbreviations."""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Abbreviations as typed by staff (matched case-sensitively when written in capitals, or with "đ").
ABBREVIATIONS: dict[str, str] = {
    "QĐ": "quyết định",
    "QĐi": "quy định",
    "TW": "trung ương",
    "TU": "thành ủy tỉnh ủy",
    "BTV": "ban thường vụ",
    "BCH": "ban chấp hành",
    "BCT": "bộ chính trị",
    "BBT": "ban bí thư",
    "BTC": "ban tổ chức",
    "HĐND": "hội đồng nhân dân",
    "UBND": "ủy ban nhân dân",
    "UBKT": "ủy ban kiểm tra",
    "MTTQ": "mặt trận tổ quốc",
    "CB": "cán bộ",
    "CC": "công chức",
    "VC": "viên chức",
    "CBCCVC": "cán bộ công chức viên chức",
    "CCVC": "công chức viên chức",
    "LĐHĐ": "lao động hợp đồng",
    "ĐV": "đảng viên",
    "ĐU": "đảng ủy",
    "QU": "quận ủy",
    "HU": "huyện ủy",
    "HTXSNV": "hoàn thành xuất sắc nhiệm vụ",
    "HTTNV": "hoàn thành tốt nhiệm vụ",
    "HTNV": "hoàn thành nhiệm vụ",
    "KHTNV": "không hoàn thành nhiệm vụ",
    "NĐ": "nghị định",
    "NQ": "nghị quyết",
    "KL": "kết luận",
    "CT": "chỉ thị",
    "HD": "hướng dẫn",
    "ĐA": "đề án",
    "QH": "quốc hội",
    "CP": "chính phủ",
    "TP": "thành phố",
    "BLHS": "bộ luật hình sự",
    "BLDS": "bộ luật dân sự",
    "BLLĐ": "bộ luật lao động",
}
# Lower-case forms that are unambiguous even when typed in lower case on a phone.
_LOWER_SAFE = {k.lower(): v for k, v in ABBREVIATIONS.items() if "đ" in k.lower() or len(k) >= 4}

# Old-style tone placement ("uỷ", "hoà") to the modern form used by most texts ("ủy", "hòa").
_TONE_FIXES = {
    "oà": "òa",
    "oá": "óa",
    "oả": "ỏa",
    "oã": "õa",
    "oạ": "ọa",
    "oè": "òe",
    "oé": "óe",
    "oẻ": "ỏe",
    "oẽ": "õe",
    "oẹ": "ọe",
    "uỳ": "ùy",
    "uý": "úy",
    "uỷ": "ủy",
    "uỹ": "ũy",
    "uỵ": "ụy",
}
_TONE_RE = re.compile("(" + "|".join(_TONE_FIXES) + r")(?!\w)")
_TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)
_RAW_TOKEN_RE = re.compile(r"[^\W_]+(?:[-/][^\W_]+)*", re.UNICODE)
_VIETNAMESE_MARKS = re.compile("[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]")

_pyvi_lock = threading.Lock()


def fold(text: str) -> str:
    """NFC, lower case, modern tone placement."""
    text = unicodedata.normalize("NFC", text).replace("\u00d0", "Đ").replace("\u00f0", "đ").lower()
    return _TONE_RE.sub(lambda m: _TONE_FIXES[m.group(1)], text)


def strip_diacritics(text: str) -> str:
    """ "đánh giá cán bộ" → "danh gia can bo" (also đ → d)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese mark (so it was not typed accent-free)."""
    return bool(_VIETNAMESE_MARKS.search(fold(text)))


def expand_abbreviations(text: str) -> str:
    """Append the expansion of each known abbreviation found in `text` (the original stays)."""
    extra: list[str] = []
    for raw in _RAW_TOKEN_RE.findall(unicodedata.normalize("NFC", text)):
        for piece in re.split(r"[-/]", raw):
            expansion = ABBREVIATIONS.get(piece) or ABBREVIATIONS.get(
                piece.upper() if piece.isupper() else ""
            )
            if expansion is None:
                expansion = _LOWER_SAFE.get(piece.lower())
            if expansion:
                extra.append(expansion)
    return f"{text} {' '.join(extra)}" if extra else text


def _segment(text: str) -> list[str]:
    from pyvi import ViTokenizer

    with _pyvi_lock:  # pyvi keeps module-level state
        segmented = ViTokenizer.tokenize(text)
    return segmented.split()


@dataclass(frozen=True)
class Analysed:
    """Token streams of one text: pyvi words (with marks), accent-free syllables and their bigrams."""

    words: list[str]
    syllables: list[str]

    @property
    def bigrams(self) -> list[str]:
        s = self.syllables
        return [f"{a}_{b}" for a, b in itertools.pairwise(s)]


def analyse(text: str, *, segment: bool = True) -> Analysed:
    """Tokenise `text` for BM25; abbreviations are expanded; `segment=False` skips pyvi (accent-free input)."""
    expanded = fold(expand_abbreviations(text))
    words: list[str] = []
    if segment:
        words = [w for w in (t.strip("_") for t in _segment(expanded)) if w and _TOKEN_RE.search(w)]
        words = [w for w in words if not re.fullmatch(r"[\W_]+", w)]
    syllables = _TOKEN_RE.findall(strip_diacritics(expanded))
    return Analysed(words=words, syllables=syllables)


class DiacriticRestorer:
    """Puts marks back on accent-free questions using the loaded texts' own syllable pairs.

    "thoi gian luan chuyen can bo" → "thời gian luân chuyển cán bộ" when those pairs occur in the
    index, so the dense model (which reads marks) and the word field can be used for phone typing.
    """

    def __init__(self, sequences: Iterable[Sequence[str]]) -> None:
        pair_counts: Counter[tuple[str, str]] = Counter()
        uni_counts: Counter[str] = Counter()
        for seq in sequences:
            uni_counts.update(seq)
            pair_counts.update(itertools.pairwise(seq))
        self.unigrams: dict[str, str] = {}
        best_uni: dict[str, int] = {}
        for accented, count in uni_counts.items():
            key = strip_diacritics(accented)
            if count > best_uni.get(key, 0):
                best_uni[key], self.unigrams[key] = count, accented
        self.pairs: dict[tuple[str, str], tuple[str, str]] = {}
        best_pair: dict[tuple[str, str], int] = {}
        for (a, b), count in pair_counts.items():
            pair_key = (strip_diacritics(a), strip_diacritics(b))
            if count > best_pair.get(pair_key, 0):
                best_pair[pair_key], self.pairs[pair_key] = count, (a, b)

    def restore(self, text: str) -> str:
        """The most likely marked form of `text` (unchanged if it already has marks)."""
        if has_diacritics(text):
            return text
        syllables = _TOKEN_RE.findall(fold(text))
        chosen: list[str] = []
        for i, syl in enumerate(syllables):
            pick: str | None = None
            if i > 0:
                prev = self.pairs.get((syllables[i - 1], syl))
                if prev is not None and prev[0] == chosen[-1]:
                    pick = prev[1]
            if pick is None and i + 1 < len(syllables):
                nxt = self.pairs.get((syl, syllables[i + 1]))
                if nxt is not None:
                    pick = nxt[0]
            chosen.append(pick or self.unigrams.get(syl, syl))
        return " ".join(chosen)


def marked_syllables(words: Sequence[str]) -> list[str]:
    """pyvi words ("cán_bộ") back to their marked syllables, in order."""
    return [s for w in words for s in w.split("_") if s]
