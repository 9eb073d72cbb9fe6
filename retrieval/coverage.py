"""Is a question answered by what would be quoted? Which of its key concepts a passage contains, the khoản
(or điểm, or sentence) of an article that answers it, and the refusal model's features and log-odds."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from knowledge.segments import Segment, split_passage
from retrieval.analysis import (
    BOUND_CLASS_OF,
    BOUND_CLASSES,
    BOUND_EQUIVALENTS,
    PLAIN_BOUND_EQUIVALENTS,
    QuestionTerm,
    analyse,
    fold,
    strip_diacritics,
)
from retrieval.index import Snapshot
from retrieval.quantity import states_quantity

# The refusal model's inputs, in the order of `RankingParams.refusal_weights`.
REFUSAL_FEATURES = (
    "cosine",  # best cosine of the question (or part) with the quoted article
    "lead_gap",  # idf-weighted share of content words missing from the quoted khoản (+ its heading, title)
    "article_gap",  # the same share against the top articles as a whole
    "absent",  # content words that no passage of the whole index contains
    "number_gap",  # a number is asked for and the quoted khoản holds none (none of the kind asked)
    "missing_document",  # the question names a document that is not loaded
)

_SYMBOL_WORDS = {"%": "phần trăm"}  # symbols the texts write where questions use words
_WORD_RE = re.compile(r"[^\W_]+")
_NUMBER_RE = re.compile(
    r"\d|\b(?:một|hai|ba|bốn|sáu|bảy|tám|chín|mười|mươi|trăm|nửa|hàng năm|hằng năm|hằng tháng|hằng quý)\b",
    re.IGNORECASE,
)


@dataclass
class Streams:
    """The syllables of some texts, accent-free and marked, to look a question's terms up in.

    Each stream is kept as one space-joined string with a space at both ends, so a term is found with one
    substring search."""

    plain: list[str] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)
    plain_bigrams: set[tuple[str, str]] = field(default_factory=set)

    def add(self, text: str) -> None:
        if not text:
            return
        plain = analyse(text, segment=False).syllables
        self.plain.append(f" {' '.join(plain)} ")
        self.marked.append(f" {' '.join(_WORD_RE.findall(fold(text)))} ")
        self.plain_bigrams.update(itertools.pairwise(plain))
        for symbol, words in _SYMBOL_WORDS.items():
            if symbol in text:  # "20%" answers "bao nhiêu phần trăm"
                self.plain.append(f" {strip_diacritics(words)} ")
                self.marked.append(f" {words} ")

    @classmethod
    def of(cls, texts: Iterable[str]) -> Streams:
        out = cls()
        for text in texts:
            out.add(text)
        return out

    def merged(self, other: Streams) -> Streams:
        return Streams(
            self.plain + other.plain, self.marked + other.marked, self.plain_bigrams | other.plain_bigrams
        )


def covers(streams: Streams, term: QuestionTerm) -> bool:
    """Whether the texts contain the term, or state it another way (a bound: «tối đa» ~ «không quá»)."""
    if _covers_as_written(streams, term):
        return True
    return any(_phrase_in(streams, phrase, accent_free=term.accent_free) for phrase in equivalents(term))


def equivalents(term: QuestionTerm) -> tuple[str, ...]:
    """Other phrases (marked) that state what the term states; accent-free terms are looked up unmarked."""
    if term.accent_free:
        return PLAIN_BOUND_EQUIVALENTS.get(term.syllables, ())
    return BOUND_EQUIVALENTS.get(term.text, ())


# "từ 06 tháng đến 03 năm": a range states both bounds
_COUNT = r"(?:\d\S*|mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi)"
_RANGE_RE = re.compile(rf" tu (?:\S+ ){{0,4}}?{_COUNT} (?:\S+ ){{0,5}}?den {_COUNT} ")


def opposite_bound(streams: Streams, term: QuestionTerm) -> str | None:
    """When the question asks for one kind of bound («tối đa») and the texts state none of that kind but the
    other («ít nhất …»), the phrase they state; else None. A quote of a minimum does not answer "at most";
    a range («từ 06 tháng đến 03 năm») states both."""
    kind = BOUND_CLASS_OF.get(term.syllables)
    if kind is None or (not term.accent_free and term.text not in BOUND_EQUIVALENTS) or covers(streams, term):
        return None
    if any(_RANGE_RE.search(stream) for stream in streams.plain):
        return None
    return next(
        (p for p in BOUND_CLASSES[1 - kind] if _phrase_in(streams, p, accent_free=term.accent_free)), None
    )


def _phrase_in(streams: Streams, phrase: str, *, accent_free: bool) -> bool:
    if accent_free:
        plain = f" {strip_diacritics(phrase)} "
        return any(plain in stream for stream in streams.plain)
    marked = f" {phrase} "
    return any(marked in stream for stream in streams.marked)


def _covers_as_written(streams: Streams, term: QuestionTerm) -> bool:
    """Compounds and accent-free questions by accent-free syllables; a single marked syllable by its marks,
    or accent-free when a neighbouring pair also matches (a typo)."""
    plain = f" {' '.join(term.syllables)} "
    if not any(plain in stream for stream in streams.plain):
        return False
    if term.accent_free or len(term.syllables) > 1 or not term.well_formed:
        return True
    marked = f" {term.text} "
    if any(marked in stream for stream in streams.marked):
        return True
    return any(pair in streams.plain_bigrams for pair in term.neighbours)


def term_weight(snapshot: Snapshot, term: QuestionTerm) -> float | None:
    """The term's idf in the index (its rarest bigram for compounds); None for a likely typo.

    A term the index lacks weighs as the way the texts state it when they state it another way (a bound),
    the maximum idf when it is a real Vietnamese word (a concept the loaded texts do not treat), and None
    when it is malformed (a typo says nothing about coverage).
    """
    weight = _idf(snapshot, term.syllables)
    for phrase in equivalents(term):
        if weight is not None:
            break
        weight = _idf(snapshot, tuple(strip_diacritics(phrase).split()))
    if weight is not None:
        return weight
    n_docs = snapshot.lexical.syllables.n_docs
    return float(np.log1p((n_docs + 0.5) / 0.5)) if term.well_formed else None


def _idf(snapshot: Snapshot, syllables: tuple[str, ...]) -> float | None:
    lex = snapshot.lexical
    if len(syllables) == 1:
        bm25, keys = lex.syllables, [syllables[0]]
    else:
        bm25, keys = lex.bigrams, [f"{a}_{b}" for a, b in itertools.pairwise(syllables)]
    cols = [bm25.vocab.get(k) for k in keys]
    if any(c is None for c in cols):
        return None
    return max(float(bm25.idf[c]) for c in cols if c is not None)


def in_index(snapshot: Snapshot, term: QuestionTerm) -> bool:
    """Whether some passage of the index holds the term, or a phrase stating it another way."""
    return _in_index(snapshot, term.syllables) or any(
        _in_index(snapshot, tuple(strip_diacritics(phrase).split())) for phrase in equivalents(term)
    )


def _in_index(snapshot: Snapshot, syllables: tuple[str, ...]) -> bool:
    lex = snapshot.lexical
    if len(syllables) == 1:
        return syllables[0] in lex.syllables.vocab
    return all(f"{a}_{b}" in lex.bigrams.vocab for a, b in itertools.pairwise(syllables))


@dataclass
class Gap:
    """Which content words some texts leave out."""

    missing: list[QuestionTerm]
    share: float  # idf-weighted share of the content words missing (0 = all there)


def gap(snapshot: Snapshot, terms: Sequence[QuestionTerm], streams: Streams) -> Gap:
    total = lost = 0.0
    missing: list[QuestionTerm] = []
    for term in terms:
        weight = term_weight(snapshot, term)
        if weight is None:
            continue
        total += weight
        if not covers(streams, term):
            lost += weight
            missing.append(term)
    return Gap(missing, lost / total if total else 0.0)


def absent_terms(snapshot: Snapshot, terms: Sequence[QuestionTerm]) -> list[QuestionTerm]:
    """Well-formed content words that no passage of the index contains at all."""
    return [t for t in terms if t.well_formed and not in_index(snapshot, t)]


def unit_context(snapshot: Snapshot, unit: int) -> Streams:
    """What every passage of a unit shares: its article heading and its document's title."""
    key = ("context", unit)
    cached = snapshot.memo.get(key)
    if cached is None:
        u = snapshot.units[unit]
        row = snapshot.chunks[u.first]
        doc = snapshot.docs.get(u.doc_id)
        cached = snapshot.memo[key] = Streams.of([row.article_heading, doc.title if doc else ""])
    assert isinstance(cached, Streams)
    return cached


def chunk_streams(snapshot: Snapshot, chunk: int) -> Streams:
    key = ("chunk", chunk)
    cached = snapshot.memo.get(key)
    if cached is None:
        cached = snapshot.memo[key] = Streams.of([snapshot.chunks[chunk].text])
    assert isinstance(cached, Streams)
    return cached


def unit_streams(snapshot: Snapshot, units: Sequence[int]) -> Streams:
    out = Streams()
    for unit in units:
        u = snapshot.units[unit]
        out = out.merged(unit_context(snapshot, unit))
        for c in range(u.first, u.last):
            out = out.merged(chunk_streams(snapshot, c))
    return out


def segment_streams(snapshot: Snapshot, chunk: int) -> list[tuple[Segment, Streams, bool]]:
    """Each segment of a chunk with its streams (its khoản's lead line included) and whether it holds a number."""
    key = ("segments", chunk)
    cached = snapshot.memo.get(key)
    if cached is None:
        cached = snapshot.memo[key] = [
            (seg, Streams.of([seg.lead, seg.text]), bool(_NUMBER_RE.search(seg.text)))
            for seg in segments_of(snapshot, chunk)
        ]
    assert isinstance(cached, list)
    return cached


@dataclass
class Pinpoint:
    """The piece of a unit that answers: its chunk, the segment, and how much of the question it covers."""

    unit: int
    chunk: int
    segment: Segment
    gap: Gap
    has_number: bool

    @property
    def text(self) -> str:
        """The quote: a điểm with the first line of its khoản, or the segment itself."""
        seg = self.segment
        if seg.lead and seg.lead != seg.text:
            return f"{seg.lead} … {seg.text}"
        return seg.text


def pin_streams(snapshot: Snapshot, pin: Pinpoint) -> Streams:
    """What the quote of a pinpoint says, with its article heading and document title."""
    return unit_context(snapshot, pin.unit).merged(Streams.of([pin.segment.lead, pin.segment.text]))


def segments_of(snapshot: Snapshot, chunk: int) -> list[Segment]:
    row = snapshot.chunks[chunk]
    return split_passage(row.text, heading=row.article_heading, clause=row.clause) or [
        Segment(row.clause, row.point, row.text)
    ]


def pinpoint(
    snapshot: Snapshot,
    unit: int,
    terms: Sequence[QuestionTerm],
    *,
    wants_number: bool,
    chunk_cos: np.ndarray | None = None,
    asked: str | None = None,
) -> Pinpoint:
    """The segment of the unit that covers most of the question's content words (a number when one is
    asked for, of the kind asked when the question names one; then the chunk's cosine, then the earlier
    segment)."""
    u = snapshot.units[unit]
    context = unit_context(snapshot, unit)
    best: tuple[float, Pinpoint] | None = None
    for c in range(u.first, u.last):
        cos = float(chunk_cos[c]) if chunk_cos is not None else 0.0
        for seg, streams, number in segment_streams(snapshot, c):
            if number and wants_number and asked is not None:
                number = states_quantity(f"{seg.lead} {seg.text}", asked)
            g = gap(snapshot, terms, context.merged(streams))
            score = (1.0 - g.share) + (0.15 if wants_number and number else 0.0) + 0.05 * cos
            if best is None or score > best[0] + 1e-9:
                best = (score, Pinpoint(unit, c, seg, g, number))
    assert best is not None
    pin = best[1]
    listed = with_its_list(snapshot, pin.chunk, pin.segment)
    if listed is not pin.segment:
        pin = Pinpoint(pin.unit, pin.chunk, listed, pin.gap, pin.has_number)
    return pin


_MAX_LIST_QUOTE = 1200  # characters of an introduced list quoted with its introduction


def with_its_list(snapshot: Snapshot, chunk: int, segment: Segment) -> Segment:
    """A line that only introduces a list ("… khi có đủ các điều kiện sau:") answers nothing on its own: it
    is quoted with the điểm (or lines) it introduces, up to `_MAX_LIST_QUOTE` characters. Other segments are
    returned as they are."""
    intro = segment.text.strip()
    if not intro.endswith(":") or "\n" in intro:
        return segment
    pieces = [seg for seg, _streams, _number in segment_streams(snapshot, chunk)]
    try:
        start = pieces.index(segment)
    except ValueError:
        return segment
    items: list[str] = []
    size = len(intro)
    for seg in pieces[start + 1 :]:
        if seg.clause != segment.clause or not seg.lead.endswith(intro):
            break
        if size + len(seg.text) > _MAX_LIST_QUOTE:
            items.append("…")
            break
        items.append(seg.text)
        size += len(seg.text) + 1
    if not items or items == ["…"]:
        return segment
    return Segment(segment.clause, segment.point, "\n".join([intro, *items]), segment.lead)


def refusal_features(
    *,
    cosine: float,
    lead_gap: float,
    article_gap: float,
    absent: int,
    number_gap: bool,
    missing_document: bool,
) -> tuple[float, ...]:
    return (cosine, lead_gap, article_gap, float(absent), float(number_gap), float(missing_document))


def refusal_logit(features: Sequence[float], *, intercept: float, weights: Sequence[float]) -> float:
    """Log-odds that the loaded texts do not answer; refused when >= 0."""
    return intercept + float(
        np.dot(np.asarray(features, dtype=np.float64), np.asarray(weights, dtype=np.float64))
    )
