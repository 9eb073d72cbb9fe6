"""Vietnamese text analysis for the lexical index: words, accent-free syllables, bigrams, abbreviations."""

from __future__ import annotations

import itertools
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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
    # Common in personnel work (unambiguous in capitals).
    "BN": "bổ nhiệm",
    "BNL": "bổ nhiệm lại",
    "CBCC": "cán bộ công chức",
    "TĐKT": "thi đua khen thưởng",
    "HĐTĐKT": "hội đồng thi đua khen thưởng",
    "DTTS": "dân tộc thiểu số",
    "CSDL": "cơ sở dữ liệu",
    "LLCT": "lý luận chính trị",
    "CCLLCT": "cao cấp lý luận chính trị",
    "TCLLCT": "trung cấp lý luận chính trị",
    "BHXH": "bảo hiểm xã hội",
    "ĐTBD": "đào tạo bồi dưỡng",
    "BCĐ": "ban chỉ đạo",
    "BCS": "ban cán sự",
    "BTCTW": "ban tổ chức trung ương",
    "BTCTU": "ban tổ chức thành ủy",
    "NLĐ": "người lao động",
    "QLNN": "quản lý nhà nước",
    "ĐH": "đại hội",
    "PCT": "phó chủ tịch",
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
# "uý" after "q" is "quý" (the tone already sits on the main vowel): only "thuỷ", "uỷ" … move.
_TONE_RE = re.compile("(?<!q)(" + "|".join(_TONE_FIXES) + r")(?!\w)")
_TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)
_RAW_TOKEN_RE = re.compile(r"[^\W_]+(?:[-/][^\W_]+)*", re.UNICODE)
_VIETNAMESE_MARKS = re.compile("[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]")

_pyvi_lock = threading.Lock()


def fold(text: str) -> str:
    """NFC, lower case, modern tone placement."""
    text = unicodedata.normalize("NFC", text).replace("\u00d0", "Đ").replace("\u00f0", "đ").lower()
    return _TONE_RE.sub(lambda m: _TONE_FIXES[m.group(1)], text)


def _base_letter(ch: str) -> str:
    decomposed = unicodedata.normalize("NFD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Every precomposed Latin letter with marks (Vietnamese and others) to its base letter, in one table.
_STRIP_TABLE = {
    code: _base_letter(chr(code)) for code in range(0xC0, 0x2000) if _base_letter(chr(code)) != chr(code)
}
_STRIP_TABLE.update({ord("đ"): "d", ord("Đ"): "D"})


def strip_diacritics(text: str) -> str:
    """ "đánh giá cán bộ" → "danh gia can bo" (also đ → d)."""
    out = text.translate(_STRIP_TABLE)
    if out.isascii():
        return out
    decomposed = unicodedata.normalize("NFD", out)  # combining marks typed separately
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


_pyvi_ready = False


def _pyvi() -> Any:
    """pyvi's tokenizer, with the temp copy of its CRF model removed once the tagger has read it.

    Unpickling pyvi's model writes it to a fresh /tmp/model*.crfsuite that sklearn-crfsuite deletes only when the
    object is collected, which never happens at interpreter exit: every process start left 0.6 MB in /tmp.
    crfsuite reads the whole model into memory on open, so the file can go as soon as the tagger exists.
    """
    global _pyvi_ready
    from pyvi import ViTokenizer

    if not _pyvi_ready:
        model = ViTokenizer.ViTokenizer.model
        if getattr(model, "tagger_", None) is not None and getattr(model, "modelfile", None) is not None:
            model.modelfile.cleanup()
        _pyvi_ready = True
    return ViTokenizer


def _segment(text: str) -> list[str]:
    with _pyvi_lock:  # pyvi keeps module-level state
        segmented = _pyvi().tokenize(text)
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
    """Puts marks back on syllables typed without them, using the loaded texts' own syllable pairs.

    "thoi gian luan chuyen can bo" → "thời gian luân chuyển cán bộ" when those pairs occur in the index,
    so the dense model (which reads marks) and the word field can be used for phone typing. The marked
    form of each syllable is chosen jointly for the whole text (Viterbi over an interpolated bigram model of
    the index's marked syllables), so one frequent neighbour does not decide alone ("theo quy định" stays,
    though "theo quý" is also in the index).
    """

    def __init__(self, sequences: Iterable[Sequence[str]], *, words: Iterable[str] = ()) -> None:
        pair_counts: Counter[str] = Counter()
        uni_counts: Counter[str] = Counter()
        for seq in sequences:
            uni_counts.update(seq)
            pair_counts.update(f"{a} {b}" for a, b in itertools.pairwise(seq))
        _count_question_numbers(uni_counts, pair_counts)
        prior = _restoration_prior()
        self.counts = uni_counts
        self.pair_counts = pair_counts
        self.continuations = Counter(pair.split(" ", 1)[0] for pair in pair_counts)  # distinct next syllables
        self.prior = prior
        self.total = max(sum(uni_counts.values()), 1) + prior.total
        by_plain: dict[str, Counter[str]] = {}
        for source in (uni_counts, prior.counts):
            for marked, count in source.items():
                by_plain.setdefault(strip_diacritics(marked), Counter())[marked] += count
        self.forms: dict[str, list[str]] = {
            plain: [m for m, _ in items.most_common()] for plain, items in by_plain.items()
        }
        # Plain forms that the texts (or question phrases) write without marks ("theo", "quy", "bao"): in a
        # question typed with marks such a syllable is taken as typed.
        self.unmarked = frozenset(m for m in uni_counts if not _VIETNAMESE_MARKS.search(m)) | prior.unmarked
        self.acronyms = _word_acronyms(Counter(w for w in words if w.count("_") == 1), uni_counts)

    def expand_acronyms(self, text: str) -> str:
        """`text` with each two-letter abbreviation the dictionary does not know ("HĐ", "TV") followed by the
        two-syllable word of the loaded texts it stands for ("HĐ hội đồng"): of the words with those initials,
        the one the texts' syllable pairs make likeliest between its neighbours ("bao nhiêu TV dự" →
        "thành viên")."""
        if not self.acronyms:
            return text
        text = unicodedata.normalize("NFC", text)
        tokens = list(_RAW_TOKEN_RE.finditer(text))  # "TT-BNV" stays one token: a code is never expanded
        folded = [fold(m.group(0)) for m in tokens]
        out: list[str] = []
        last = 0
        for i, m in enumerate(tokens):
            token = m.group(0)
            options = self.acronyms.get(folded[i]) if len(token) == 2 and token.isupper() else None
            if not options or token in ABBREVIATIONS:
                continue
            before = folded[i - 1] if i > 0 else None
            after = folded[i + 1] if i + 1 < len(folded) else None

            def fit(word: str, before: str | None = before, after: str | None = after) -> float:
                a, b = word.split(" ")
                score = self._log_next(a, b)
                if before is not None:
                    score += self._log_next(before, a)
                if after is not None:
                    score += self._log_next(b, after)
                return score

            out.append(text[last : m.end()])
            out.append(" " + max(options, key=fit))
            last = m.end()
        out.append(text[last:])
        return "".join(out)

    def _count(self, syllable: str) -> float:
        """How often the syllable is seen: in the loaded texts, and in question phrases (weight 5)."""
        return self.counts.get(syllable, 0) + self.prior.counts.get(syllable, 0)

    def _log_next(self, a: str, b: str) -> float:
        """log P(b | a): pairs of the loaded texts and of question phrases, interpolated with how often b is
        seen (Witten-Bell: the more distinct syllables follow a, the more the estimate backs off)."""
        pb = (self._count(b) + 0.1) / self.total
        seen = self._count(a)
        if seen <= 0:
            return math.log(pb)
        pair = f"{a} {b}"
        joint = self.pair_counts.get(pair, 0) + self.prior.pairs.get(pair, 0)
        kinds = self.continuations.get(a, 0) + self.prior.continuations.get(a, 0)
        weight = seen / (seen + max(kinds, 1))
        return math.log(weight * joint / seen + (1.0 - weight) * pb)

    def restore(self, text: str) -> str:
        """`text` with marks put back on the syllables typed without them (marked syllables, abbreviations,
        numbers and codes are kept as typed; case and punctuation are kept). When most of the text is
        marked, only syllables the loaded texts never write unmarked are restored ("quy dinh" in
        "qd 12 quy dinh gì về tuổi")."""
        text = unicodedata.normalize("NFC", text)
        matches = list(_TOKEN_RE.finditer(text))
        if not matches:
            return text
        folded = [fold(m.group(0)) for m in matches]
        plain = [strip_diacritics(f) for f in folded]
        mostly_plain = typed_without_marks(text)
        options: list[list[str]] = []
        words = vietnamese_lexicon()[0] if not mostly_plain else frozenset()
        for i, (m, f, p) in enumerate(zip(matches, folded, plain, strict=True)):
            fixed = _keeps_marks(m.group(0), f)
            if not fixed and not mostly_plain:
                # Typed with marks elsewhere: an unmarked syllable stands when the texts write it so, or when it
                # makes a word with a neighbour as typed ("thu hút", "bao lâu"); "quy dinh" is restored.
                neighbours = [f"{folded[j]} {f}" for j in (i - 1,) if j >= 0] + [
                    f"{f} {folded[j]}" for j in (i + 1,) if j < len(folded)
                ]
                fixed = f in self.unmarked or any(w in words for w in neighbours)
            forms = self.forms.get(p, [])
            options.append([f] if fixed or not forms else forms)
        # Viterbi over the candidate forms.
        scores = [math.log((self._count(o) + 0.1) / self.total) for o in options[0]]
        back: list[list[int]] = []
        for i in range(1, len(options)):
            row, ptr = [], []
            for b in options[i]:
                steps = [scores[j] + self._log_next(a, b) for j, a in enumerate(options[i - 1])]
                best = max(range(len(steps)), key=steps.__getitem__)
                row.append(steps[best])
                ptr.append(best)
            scores, back = row, [*back, ptr]
        path = [0] * len(options)
        path[-1] = max(range(len(scores)), key=scores.__getitem__)
        for i in range(len(options) - 1, 0, -1):
            path[i - 1] = back[i - 1][path[i]]
        picked = [options[i][path[i]] for i in range(len(options))]
        out: list[str] = []
        last = 0
        for m, new, f in zip(matches, picked, folded, strict=True):
            out.append(text[last : m.start()])
            original = m.group(0)
            if new == f:
                out.append(original)
            else:
                out.append(new[:1].upper() + new[1:] if original[:1].isupper() else new)
            last = m.end()
        out.append(text[last:])
        return "".join(out)


_ACRONYM_MIN_COUNT = 3  # a word seen at least this often in the loaded texts can be what initials stand for
_ACRONYM_OPTIONS = 8  # the most frequent words per pair of initials, chosen between by their neighbours


_NUMBER_WORD = "mấy"  # "how many": a question puts it where the texts put a number ("mấy tháng" ~ "03 tháng")
_NUMBER_WORD_SHARE = 0.05  # … as one number in twenty: enough to win after a unit, not to win everywhere


def _count_question_numbers(unigrams: Counter[str], pairs: Counter[str]) -> None:
    """Count "mấy" before whatever the texts put after a number ("03 tháng" → "mấy tháng"), so a question
    typed without marks reads "tap su may thang" as "tập sự mấy tháng", not "máy" (frequent in "bộ máy").
    What comes before a number is too varied to say the same of."""
    extra: Counter[str] = Counter()
    seen = 0
    for pair, count in pairs.items():
        a, b = pair.split(" ", 1)
        if a.isdigit() and not b.isdigit():
            extra[f"{_NUMBER_WORD} {b}"] += count
            seen += count
    for pair, count in extra.items():
        pairs[pair] += max(1, round(count * _NUMBER_WORD_SHARE))
    unigrams[_NUMBER_WORD] += max(1, round(seen * _NUMBER_WORD_SHARE)) if seen else 0


def _word_acronyms(words: Counter[str], unigrams: Counter[str]) -> dict[str, list[str]]:
    """Two-letter abbreviations the loaded texts themselves suggest: the two-syllable words of the texts
    (pyvi's "hội_đồng", "thành_viên") seen often enough, by their initials ("hđ", "tv"). Initials the texts
    also write as a syllable of their own ("qđ" in "QĐ-TTg") or the dictionary knows are left out."""
    by_key: dict[str, list[tuple[int, str]]] = {}
    for word, count in words.items():
        if count < _ACRONYM_MIN_COUNT:
            continue
        parts = fold(word).split("_")
        if len(parts) != 2 or not all(p.isalpha() for p in parts):
            continue
        key = parts[0][:1] + parts[1][:1]
        by_key.setdefault(key, []).append((count, " ".join(parts)))
    out: dict[str, list[str]] = {}
    for key, found in by_key.items():
        if key in unigrams or key in _ABBREVIATION_KEYS:
            continue
        found.sort(reverse=True)
        out[key] = [w for _, w in found[:_ACRONYM_OPTIONS]]
    return out


@dataclass(frozen=True)
class _Prior:
    """Question phrases ("bao nhiêu", "có thể", "ở đâu", weight 5): the words questions have and regulations
    rarely do, so a question typed without marks restores them too."""

    counts: Counter[str]
    pairs: Counter[str]
    continuations: Counter[str]  # distinct syllables seen after each syllable
    unmarked: frozenset[str]
    total: int


_prior: _Prior | None = None


def _restoration_prior() -> _Prior:
    global _prior
    if _prior is None:
        counts: Counter[str] = Counter()
        pairs: Counter[str] = Counter()
        for phrase in QUESTION_WORDS:
            parts = _TOKEN_RE.findall(phrase)
            for syl in parts:
                counts[syl] += 5
            for a, b in itertools.pairwise(parts):
                pairs[f"{a} {b}"] += 5
        unmarked = frozenset(syl for syl in counts if not _VIETNAMESE_MARKS.search(syl))
        continuations = Counter(pair.split(" ", 1)[0] for pair in pairs)
        _prior = _Prior(counts, pairs, continuations, unmarked, sum(counts.values()))
    return _prior


def _keeps_marks(token: str, folded: str) -> bool:
    """Syllables never restored: already marked, numbers, abbreviations typed in capitals ("QĐ", "UBND")."""
    return (
        bool(_VIETNAMESE_MARKS.search(folded))
        or any(ch.isdigit() for ch in token)
        or (len(token) > 1 and token.isupper())
    )


def marked_share(text: str) -> float:
    """Share of the syllables typed with Vietnamese marks, leaving out numbers, codes and abbreviations."""
    count = marked = 0
    for raw in _RAW_TOKEN_RE.findall(unicodedata.normalize("NFC", text)):
        if any(ch.isdigit() for ch in raw) or "/" in raw or "-" in raw:
            continue  # a number or a code ("98-QĐ/TW")
        for token in _TOKEN_RE.findall(raw):
            if (len(token) > 1 and token.isupper()) or token in ABBREVIATIONS or token.lower() in _LOWER_SAFE:
                continue
            count += 1
            marked += bool(_VIETNAMESE_MARKS.search(fold(token)))
    return marked / count if count else 1.0


def typed_without_marks(text: str) -> bool:
    """True for text typed (mostly) without marks, as on a phone: "QĐ 98 quy dinh gi ve thoi han"."""
    return marked_share(text) < 0.5


def marked_syllables(words: Sequence[str]) -> list[str]:
    """pyvi words ("cán_bộ") back to their marked syllables, in order."""
    return [s for w in words for s in w.split("_") if s]


# Question words and function words: they say what kind of answer is wanted, not what it is about, so
# they are never a question's key concepts. General Vietnamese, not tuned to any question set.
_QUESTION_PHRASES = """
    bao nhiêu|bao lâu|bao giờ|thế nào|như thế nào|như nào|ra sao|sao|tại sao|vì sao|gì|cái gì|ai|nào|
    khi nào|lúc nào|ở đâu|đâu|mấy|có|không|có không|phải không|được|được không|có được|có phải|phải|
    là|là gì|thì|mà|và|hoặc|hay|với|của|cho|theo|trong|ngoài|ở|tại|đến|từ|để|bởi|về|vào|ra|lên|
    xuống|trên|dưới|này|đó|kia|ấy|những|các|một|mỗi|nếu|khi|bị|cần|cần phải|nên|có thể|đã|sẽ|đang|
    vẫn|còn|cũng|chỉ|rất|quá|lại|như|như vậy|vậy|à|nhé|hả|nhỉ|chứ|thuộc|gồm|gồm những|bao gồm|cụ thể|
    hiện nay|hiện tại|năm nay|tháng này|thế|thì phải|có cần|muốn|hỏi|xin|cho hỏi|việc|người|cái|
    số|lần|quy định|theo quy định|như thế|sau|trước|khoảng|tổng|tất cả|hết|đi|do|cả|
    đúng hay sai|hay sai|đúng không|có đúng không|sau đây|dưới đây|trả lời|câu trả lời|đúng nhất|chọn câu
    """
QUESTION_WORDS: frozenset[str] = frozenset(" ".join(w.split()) for w in _QUESTION_PHRASES.split("|")) - {""}
_PLAIN_QUESTION_WORDS = frozenset(strip_diacritics(w) for w in QUESTION_WORDS)


def is_question_word(marked: str, *, accent_free: bool = False) -> bool:
    """True for question and function words ("bao nhiêu", "có", "thì").

    For a question typed without marks (`marked` is then its restored form), phrases and syllables left
    unmarked are compared accent-free; a restored single syllable keeps its marks ("cán" is not "cần").
    """
    if marked in QUESTION_WORDS:
        return True
    if accent_free and (" " in marked or not has_diacritics(marked)):
        return strip_diacritics(marked) in _PLAIN_QUESTION_WORDS
    return False


_LEXICON_FILE = ("pyvi", "models/words.txt")
_lexicon_lock = threading.Lock()
_lexicon: tuple[frozenset[str], frozenset[str]] | None = None


def vietnamese_lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(words, syllables) of pyvi's bundled Vietnamese word list (31k entries), loaded once."""
    global _lexicon
    with _lexicon_lock:
        if _lexicon is None:
            from importlib import resources

            package, name = _LEXICON_FILE
            text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
            words = frozenset(fold(line.strip()) for line in text.splitlines() if line.strip())
            syllables = frozenset(s for w in words for s in w.split())
            _lexicon = (words, syllables)
        return _lexicon


def is_vietnamese_word(marked: str, *, accent_free: bool = False) -> bool:
    """True when every syllable of `marked` ("nhà ở", "chuền") is a syllable of the Vietnamese lexicon.

    A typo ("chuền", "địng", "côg") usually is not; a real word the corpus lacks ("phụ cấp") is.
    """
    parts = fold(marked).split()
    if accent_free:  # typed without marks: compare with the lexicon's accent-free syllables
        plain = _plain_lexicon_syllables()
        return bool(parts) and all(strip_diacritics(p) in plain for p in parts)
    _, syllables = vietnamese_lexicon()
    return bool(parts) and all(p in syllables for p in parts)


_plain_syllables: frozenset[str] | None = None


def _plain_lexicon_syllables() -> frozenset[str]:
    global _plain_syllables
    if _plain_syllables is None:
        _plain_syllables = frozenset(strip_diacritics(s) for s in vietnamese_lexicon()[1])
    return _plain_syllables


# Ways of stating a bound: a question's «tối đa» is answered by a text's «không quá …», «tối thiểu» by
# «ít nhất …» / «không dưới …». Each phrase stands for the others of its class when coverage is judged.
# The first class states an upper bound, the second a lower one.
BOUND_CLASSES = (
    ("tối đa", "không quá", "không vượt quá", "nhiều nhất", "giới hạn"),
    ("tối thiểu", "ít nhất", "không dưới", "không ít hơn", "trở lên"),
)
BOUND_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    phrase: tuple(other for other in group if other != phrase) for group in BOUND_CLASSES for phrase in group
}
PLAIN_BOUND_EQUIVALENTS: dict[tuple[str, ...], tuple[str, ...]] = {
    tuple(strip_diacritics(phrase).split()): others for phrase, others in BOUND_EQUIVALENTS.items()
}
BOUND_CLASS_OF: dict[tuple[str, ...], int] = {
    tuple(strip_diacritics(phrase).split()): i for i, group in enumerate(BOUND_CLASSES) for phrase in group
}


@dataclass(frozen=True)
class QuestionTerm:
    """A content word of a question: its marked form, accent-free syllables, and whether it is real Vietnamese.

    `neighbours` are the accent-free bigrams it forms with the syllables just before and after it in the
    question: finding one of them next to an accent-free match tells a typo ("xuất sắt") from another word
    that merely loses the same marks ("lương" is not "lượng").
    """

    text: str
    syllables: tuple[str, ...]
    well_formed: bool
    neighbours: tuple[tuple[str, str], ...] = ()
    accent_free: bool = False  # the question was typed without marks: only accent-free matching applies
    pos: str = ""  # pyvi's part-of-speech tag ("N", "V", "A" …)

    @property
    def nameable(self) -> bool:
        """A noun or verb: a concept worth naming when no document mentions it ("phụ cấp", "thu hút")."""
        return self.pos.startswith(("N", "V"))


_ABBREVIATION_KEYS = frozenset(fold(k) for k in ABBREVIATIONS)


# Closed word classes of pyvi's tag set: conjunctions, prepositions, interjections, determiners, numerals,
# pronouns, adverbs, particles. They never carry a question's subject.
FUNCTION_TAGS = frozenset({"C", "CC", "E", "I", "L", "M", "P", "R", "T", "F"})

# Person words and politeness formulae, which pyvi often tags as nouns and verbs: Vietnamese personal
# pronouns and the kinship terms used as pronouns (a closed class), greetings and thanks. They address the
# reader ("Dạ em chào anh … em cảm ơn anh") and never carry the rule asked about.
ADDRESS_WORDS = frozenset(
    {
        "tôi", "tớ", "mình", "ta", "tao", "chúng tôi", "chúng ta", "chúng mình", "bọn mình", "bọn em",
        "em", "anh", "chị", "ông", "bà", "cô", "chú", "bác", "cậu", "dì", "bạn", "các bạn", "họ", "nó",
        "anh chị", "anh em", "ad", "admin", "bot",
        "dạ", "vâng", "ạ", "nhé", "nhỉ", "ơi", "chào", "xin chào", "kính chào", "cảm ơn", "cám ơn", "xin",
        "làm ơn", "nhờ", "hỏi", "hỏi chút", "giúp", "giúp đỡ",
    }
)  # fmt: skip


def _pos_tags(words: list[str]) -> list[str]:
    """pyvi's part-of-speech tag of each segmented word (same order and length)."""
    if not words:
        return []
    from pyvi import ViPosTagger

    with _pyvi_lock:
        _tagged_words, tags = ViPosTagger.postagging(" ".join(words))
    tags = [str(t) for t in tags]
    return tags if len(tags) == len(words) else [""] * len(words)


# A document's kind written before its number ("Quyết định số 3814-QĐ/TU", "Nghị định 118/2024/NĐ-CP") names
# the document, not a concept of the rule asked about.
_DOCUMENT_REFERENCE_RE = re.compile(
    r"\b(?:bộ luật|luật|hiến pháp|pháp lệnh|nghị định|nghị quyết|quyết định|quy định|thông tư|thông tư liên tịch|"
    r"chỉ thị|kết luận|hướng dẫn|công văn|quy chế|đề án|kế hoạch|thông báo|văn bản)"
    r"(?:\s+số(?=\s+[^\W_]*\d)|(?=\s+[^\W_]*\d[^\W_]*[-/]))",
    re.IGNORECASE,
)


def without_document_references(text: str) -> str:
    """`text` without the kind words of the documents it cites by number ("Theo Quyết định số 99/2020/QĐ-UBND
    thì …" → "Theo 99/2020/QĐ-UBND thì …"); the numbers stay (they are never content words)."""
    return _DOCUMENT_REFERENCE_RE.sub("", unicodedata.normalize("NFC", text))


def question_terms(question: str, *, accent_free: bool = False) -> list[QuestionTerm]:
    """The content words of a question, in order, without question/function words, numbers and abbreviations.

    Words are pyvi's segmentation ("nhà_ở"); a question typed without marks should be passed in its
    restored form with `accent_free=True` (well-formedness is then judged on accent-free syllables).
    A word repeated is kept once.
    """
    question = without_document_references(question)
    marked_words = _segment(fold(question))
    tags = _pos_tags(marked_words)
    raw = _RAW_TOKEN_RE.findall(unicodedata.normalize("NFC", question))
    raw_tokens = {fold(t) for t in raw}
    # capitals that are no known abbreviation ("KT", "VP"): their meaning is unknown, so they say nothing
    # about whether a passage covers the question
    unknown_caps = {fold(t) for t in raw if 2 <= len(t) <= 6 and t.isupper() and t.isalpha()}
    # Syllables inside a question phrase ("bao nhiêu", even when segmented as "báo" + "nhiều") are skipped.
    pieces = [" ".join(_TOKEN_RE.findall(fold(w.replace("_", " ")))) for w in marked_words]
    all_syllables = [s for p in pieces for s in p.split()]
    in_phrase = [False] * len(all_syllables)
    for size in (3, 2):
        for i in range(len(all_syllables) - size + 1):
            if is_question_word(" ".join(all_syllables[i : i + size]), accent_free=accent_free):
                in_phrase[i : i + size] = [True] * size
    plain_all = [strip_diacritics(s) for s in all_syllables]
    terms: list[QuestionTerm] = []
    seen: set[tuple[str, ...]] = set()
    position = 0
    for marked, tag in zip(pieces, tags, strict=True):
        marked_syllables = marked.split()
        start = position
        skip = in_phrase[position : position + len(marked_syllables)]
        position += len(marked_syllables)
        # A compound's edge syllables that are function words go ("tháng một" → "tháng"), unless every
        # syllable would go and the compound is itself a word ("đi lại", not a question phrase).
        whole = (list(marked_syllables), list(skip), start)
        while marked_syllables and (
            skip[0] or is_question_word(marked_syllables[0], accent_free=accent_free)
        ):
            marked_syllables, skip, start = marked_syllables[1:], skip[1:], start + 1
        while marked_syllables and (
            skip[-1] or is_question_word(marked_syllables[-1], accent_free=accent_free)
        ):
            marked_syllables, skip = marked_syllables[:-1], skip[:-1]
        if (
            not marked_syllables
            and len(whole[0]) > 1
            and not any(whole[1])
            and " ".join(whole[0]) in vietnamese_lexicon()[0]
        ):
            marked_syllables, skip, start = whole
        end = start + len(marked_syllables)
        neighbours = tuple(
            (plain_all[i], plain_all[i + 1])
            for i in (start - 1, end - 1)
            if i >= 0 and i + 1 < len(plain_all)
        )
        marked = " ".join(marked_syllables)
        if not marked or any(ch.isdigit() for ch in marked) or tag in FUNCTION_TAGS:
            continue
        if marked in _ABBREVIATION_KEYS or any(marked in t and ("/" in t or "-" in t) for t in raw_tokens):
            continue  # abbreviations and pieces of document numbers ("qđ", "tw" in "65-QĐ/TW")
        if marked in ADDRESS_WORDS or any(s in unknown_caps for s in marked_syllables):
            continue
        plain = strip_diacritics(marked)
        if len(plain) < 2:
            continue
        syllables = tuple(plain.split())
        if syllables in seen:
            continue
        seen.add(syllables)
        well_formed = is_vietnamese_word(marked, accent_free=accent_free)
        terms.append(QuestionTerm(marked, syllables, well_formed, neighbours, accent_free, tag))
    return terms
