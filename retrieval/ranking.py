"""Hybrid ranking over a Snapshot: BM25 fields + dense cosine fused per article, document-name boost,
preference for documents in force, and the confidence used to refuse instead of guessing."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np

from retrieval.analysis import (
    QuestionTerm,
    analyse,
    fold,
    has_diacritics,
    marked_syllables,
    question_terms,
    strip_diacritics,
)
from retrieval.index import Snapshot

_TYPE_WORDS = {
    "quy dinh",
    "quyet dinh",
    "qd",
    "nghi dinh",
    "nd",
    "nghi quyet",
    "nq",
    "huong dan",
    "hd",
    "ket luan",
    "kl",
    "chi thi",
    "ct",
    "de an",
    "thong tu",
    "tt",
    "so",
}


@dataclass(frozen=True)
class RankingParams:
    """Fusion weights and the refusal calibration (tuned on dev sets; see docs/retrieval.md)."""

    word_weight: float = 1.0
    restored_word_weight: float = 1.0  # word field for accent-free questions (marks restored from the index)
    syllable_weight: float = 0.5
    bigram_weight: float = 0.5
    lexical_weight: float = 0.5
    dense_weight: float = 0.5
    dense_floor_rank: int = 50
    doc_name_weight: float = 0.3
    superseded_penalty: float = 0.15
    chunk_coverage_weight: float = 0.1
    # Refusal: a logistic model of "the loaded texts do not answer this question", fitted on the dev set by
    # bench/tune_dev.py (its intercept holds the cut chosen at a <= 5% wrong-refusal budget). Refuse when
    #   refusal_intercept + cosine_coef * top cosine + missing_coef * missing + absent_coef * absent >= 0
    # missing = content words of the question found in none of the top `uncovered_units` units;
    # absent = those of them that are real Vietnamese words no unit of the whole index contains.
    refusal_intercept: float = 44.318
    refusal_cosine_coef: float = -55.056
    refusal_missing_coef: float = 1.481
    refusal_absent_coef: float = 1.678
    uncovered_units: int = 3


@dataclass
class Ranked:
    units: list[int]  # best first
    scores: list[float]  # fused score of each unit
    best_chunks: list[int]  # the best chunk of each unit
    dense: list[float]  # raw cosine of each unit's best chunk
    coverage: list[float]  # idf-weighted share of the question's syllables in each unit
    bigram_coverage: list[float]  # the same for syllable bigrams
    confidence: float  # probability (refusal model) that the loaded texts answer the question
    found: bool
    uncovered: float = 0.0  # idf-weighted share of the question's content words absent from the top units
    missing: list[str] = field(default_factory=list)  # content words found in none of the top units
    absent: list[str] = field(default_factory=list)  # of those, real words the whole index lacks
    refusal_logit: float = 0.0  # log-odds that the question is not answered here (>= 0: refused)


def _contains(seq: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return n > 0 and any(seq[i : i + n] == sub for i in range(len(seq) - n + 1))


def doc_name_scores(snapshot: Snapshot, syllables: list[str]) -> np.ndarray:
    """1.0 for documents the question names by number or full title, 0.8 for "quy định 65" style."""
    bigrams = {f"{a}_{b}" for a, b in itertools.pairwise(syllables)}
    scores = np.zeros(len(snapshot.doc_order), dtype=np.float32)
    for i, number in enumerate(snapshot.doc_number_syllables):
        if len(number) >= 2 and _contains(syllables, number):
            scores[i] = 1.0
            continue
        if number and number[0].isdigit() and _named_by_type_and_digit(syllables, number[0]):
            scores[i] = 0.8
        title = snapshot.doc_title_bigrams[i]
        if len(title) >= 1 and title <= bigrams:
            scores[i] = max(scores[i], 1.0)
    # Naming a replaced document points at what replaced it (loaded or not: "thay thế" relations).
    for i, replaced in enumerate(snapshot.doc_replaces):
        for number in replaced:
            if len(number) >= 2 and _contains(syllables, number):
                scores[i] = max(scores[i], 1.0)
            elif number and number[0].isdigit() and _named_by_type_and_digit(syllables, number[0]):
                scores[i] = max(scores[i], 0.8)
    return scores


def _named_by_type_and_digit(syllables: list[str], digits: str) -> bool:
    for j, syl in enumerate(syllables):
        if syl == digits and j > 0:
            before = " ".join(syllables[max(0, j - 2) : j])
            if before in _TYPE_WORDS or syllables[j - 1] in _TYPE_WORDS:
                return True
    return False


_SYMBOL_WORDS = {"%": "phần trăm"}  # symbols the texts write where questions use words
_WORD_RE = re.compile(r"[^\W_]+")


@dataclass
class _UnitText:
    """The syllable streams of some units, accent-free and marked (heading, chunks, document title)."""

    plain: list[list[str]]
    marked: list[list[str]]
    plain_bigrams: set[tuple[str, str]]


def _unit_text(snapshot: Snapshot, units: list[int]) -> _UnitText:
    plain: list[list[str]] = []
    marked: list[list[str]] = []
    for unit in units:
        u = snapshot.units[unit]
        rows = [snapshot.chunks[c] for c in range(u.first, u.last)]
        plain.append(list(rows[0].head_syllables))
        marked.append(marked_syllables(rows[0].head_words))
        for row in rows:
            plain.append(row.syllables)
            marked.append(marked_syllables(row.words))
            for symbol, words in _SYMBOL_WORDS.items():
                if symbol in row.text:  # "20%" answers "bao nhiêu phần trăm"
                    plain.append(strip_diacritics(words).split())
                    marked.append(words.split())
        doc = snapshot.docs.get(u.doc_id)
        if doc is not None:
            plain.append(analyse(doc.title, segment=False).syllables)
            marked.append(_WORD_RE.findall(fold(doc.title)))
    bigrams = {pair for stream in plain for pair in itertools.pairwise(stream)}
    return _UnitText(plain, marked, bigrams)


def _covers(text: _UnitText, term: QuestionTerm) -> bool:
    """Whether the units contain the term: compounds and accent-free questions by accent-free syllables;
    a single marked syllable by its marks, or accent-free when a neighbouring pair also matches (a typo)."""
    plain = list(term.syllables)
    if not any(_contains(s, plain) for s in text.plain):
        return False
    if term.accent_free or len(plain) > 1 or not term.well_formed:
        return True
    marked = term.text.split()
    if any(_contains(s, marked) for s in text.marked):
        return True
    return any(pair in text.plain_bigrams for pair in term.neighbours)


def term_weight(snapshot: Snapshot, term: QuestionTerm) -> float | None:
    """The term's idf in the index (its rarest bigram for compounds); None for a likely typo.

    A term the index never contains weighs the maximum idf when it is a real Vietnamese word (a concept
    the loaded texts do not treat) and None when it is malformed (a typo says nothing about coverage).
    """
    lex = snapshot.lexical
    if len(term.syllables) == 1:
        field, keys = lex.syllables, [term.syllables[0]]
    else:
        field, keys = lex.bigrams, [f"{a}_{b}" for a, b in itertools.pairwise(term.syllables)]
    cols = [field.vocab.get(k) for k in keys]
    if any(c is None for c in cols):
        return float(np.log1p((field.n_docs + 0.5) / 0.5)) if term.well_formed else None
    return max(float(field.idf[c]) for c in cols if c is not None)


@dataclass
class ConceptGaps:
    """Which content words of a question some units leave out (see `concept_gaps`)."""

    missing: list[QuestionTerm]  # in none of the units
    absent: list[QuestionTerm]  # missing and well-formed words that no unit of the index contains
    uncovered: float  # idf-weighted share of the content words that are missing


def concept_gaps(snapshot: Snapshot, terms: list[QuestionTerm], units: list[int]) -> ConceptGaps:
    """The question's content words that none of `units` contains; likely typos are left out entirely."""
    text = _unit_text(snapshot, units)
    missing: list[QuestionTerm] = []
    absent: list[QuestionTerm] = []
    total = lost = 0.0
    for term in terms:
        weight = term_weight(snapshot, term)
        if weight is None:
            continue
        total += weight
        if _covers(text, term):
            continue
        lost += weight
        missing.append(term)
        if term.well_formed and not _in_index(snapshot, term):
            absent.append(term)
    return ConceptGaps(missing, absent, lost / total if total else 0.0)


def _in_index(snapshot: Snapshot, term: QuestionTerm) -> bool:
    lex = snapshot.lexical
    if len(term.syllables) == 1:
        return term.syllables[0] in lex.syllables.vocab
    return all(f"{a}_{b}" in lex.bigrams.vocab for a, b in itertools.pairwise(term.syllables))


def uncovered_share(snapshot: Snapshot, terms: list[QuestionTerm], units: list[int]) -> float:
    """Idf-weighted share of the question's content words found in none of `units` (0 = all covered)."""
    return concept_gaps(snapshot, terms, units).uncovered


def refusal_logit(*, cosine: float, missing: int, absent: int, params: RankingParams) -> float:
    """Log-odds that the loaded texts do not answer the question; the answer is refused when it is >= 0."""
    return (
        params.refusal_intercept
        + params.refusal_cosine_coef * cosine
        + params.refusal_missing_coef * missing
        + params.refusal_absent_coef * absent
    )


def coverage_of(snapshot: Snapshot, unit: int, query_syllables: list[str], *, bigrams: bool = False) -> float:
    """Share of the question's accent-free syllables (or bigrams), idf-weighted, that occur in the unit."""
    field = snapshot.lexical.bigrams if bigrams else snapshot.lexical.syllables
    s = query_syllables
    terms = {f"{a}_{b}" for a, b in itertools.pairwise(s)} if bigrams else set(s)
    if not terms:
        return 0.0
    max_idf = float(np.log1p((field.n_docs + 0.5) / 0.5))
    start, end = field.matrix_csr.indptr[unit], field.matrix_csr.indptr[unit + 1]
    present = set(field.matrix_csr.indices[start:end].tolist())
    total = covered = 0.0
    for term in terms:
        col = field.vocab.get(term)
        idf = float(field.idf[col]) if col is not None else max_idf
        total += idf
        if col is not None and col in present:
            covered += idf
    return covered / total if total else 0.0


@dataclass
class QueryFeatures:
    """Everything about one question that does not depend on the fusion weights."""

    accented: bool
    syllables: list[str]
    lexical: tuple[np.ndarray, np.ndarray, np.ndarray]  # per-unit BM25 of words, syllables, bigrams
    chunk_cos: np.ndarray
    dense: np.ndarray  # per unit: best chunk cosine
    doc_names: np.ndarray  # per unit: document-name match
    terms: list[QuestionTerm] = field(default_factory=list)  # content words, for the refusal decision


def model_text(snapshot: Snapshot, question: str) -> str:
    """The question as given to the embedding model: accent-free typing gets its marks restored."""
    return question if has_diacritics(question) else snapshot.restorer.restore(question)


def query_features(snapshot: Snapshot, *, question: str, query_vec: np.ndarray) -> QueryFeatures:
    accented = has_diacritics(question)
    tokens = analyse(question, segment=accented)
    restored = question if accented else snapshot.restorer.restore(question)
    words = tokens.words if accented else analyse(restored).words
    lex = snapshot.lexical
    fields = (
        lex.words.score(words),
        lex.syllables.score(tokens.syllables),
        lex.bigrams.score(tokens.bigrams),
    )
    chunk_cos = snapshot.embeddings @ query_vec.astype(np.float32)
    return QueryFeatures(
        accented=accented,
        syllables=tokens.syllables,
        lexical=fields,
        chunk_cos=chunk_cos,
        dense=np.maximum.reduceat(chunk_cos, snapshot.unit_starts),
        doc_names=doc_name_scores(snapshot, tokens.syllables)[snapshot.unit_doc],
        terms=question_terms(restored, accent_free=not accented),
    )


def fuse(snapshot: Snapshot, f: QueryFeatures, params: RankingParams) -> np.ndarray:
    """Weighted fusion of max-normalised BM25 and floor-normalised cosine, plus boosts and penalties."""
    word_weight = params.word_weight if f.accented else params.restored_word_weight
    lex = word_weight * f.lexical[0] + params.syllable_weight * f.lexical[1]
    lex = lex + params.bigram_weight * f.lexical[2]
    top_lex = float(lex.max()) if len(lex) else 0.0
    lex_n = lex / top_lex if top_lex > 0 else lex
    dense = f.dense
    ordered = np.sort(dense)[::-1]
    floor = float(ordered[min(params.dense_floor_rank, len(ordered) - 1)])
    span = float(ordered[0]) - floor
    dense_n = np.clip((dense - floor) / span, 0.0, 1.0) if span > 1e-6 else np.ones_like(dense)
    fused = params.lexical_weight * lex_n + params.dense_weight * dense_n
    if params.doc_name_weight:
        fused = fused + params.doc_name_weight * f.doc_names
    if params.superseded_penalty:
        fused = fused - params.superseded_penalty * snapshot.unit_superseded
    return np.asarray(fused, dtype=np.float32)


def rank(
    snapshot: Snapshot, *, question: str, query_vec: np.ndarray, k: int, params: RankingParams
) -> Ranked:
    """Score every unit, return the top k with their best chunk and the refusal decision."""
    if snapshot.empty:
        return Ranked([], [], [], [], [], [], 0.0, False, uncovered=1.0)
    f = query_features(snapshot, question=question, query_vec=query_vec)
    return rank_features(snapshot, f, k=k, params=params)


def rank_features(snapshot: Snapshot, f: QueryFeatures, *, k: int, params: RankingParams) -> Ranked:
    """The top k units for precomputed features (benchmarks tune weights without re-running the model)."""
    fused = fuse(snapshot, f, params)
    chunk_cos, dense = f.chunk_cos, f.dense
    tokens_syllables = f.syllables
    k = max(1, min(k, len(fused)))
    top = np.argpartition(-fused, k - 1)[:k]
    top = top[np.argsort(-fused[top], kind="stable")]
    units = [int(u) for u in top]
    best_chunks: list[int] = []
    coverage: list[float] = []
    bigram_coverage: list[float] = []
    for u in units:
        unit = snapshot.units[u]
        coverage.append(coverage_of(snapshot, u, tokens_syllables))
        bigram_coverage.append(coverage_of(snapshot, u, tokens_syllables, bigrams=True))
        if unit.last - unit.first == 1:
            best_chunks.append(unit.first)
            continue
        best, best_score = unit.first, -1e9
        qset = set(tokens_syllables)
        for c in range(unit.first, unit.last):
            syl = snapshot.chunks[c].syllables
            share = len(qset.intersection(syl)) / max(len(qset), 1)
            score = float(chunk_cos[c]) + params.chunk_coverage_weight * share
            if score > best_score:
                best, best_score = c, score
        best_chunks.append(best)
    top_dense = [float(dense[u]) for u in units]
    gaps = concept_gaps(snapshot, f.terms, units[: params.uncovered_units])
    logit = refusal_logit(
        cosine=top_dense[0], missing=len(gaps.missing), absent=len(gaps.absent), params=params
    )
    confidence = 1.0 / (1.0 + math.exp(min(logit, 50.0)))  # probability that the question is answered here
    return Ranked(
        units=units,
        scores=[float(fused[u]) for u in units],
        best_chunks=best_chunks,
        dense=top_dense,
        coverage=coverage,
        bigram_coverage=bigram_coverage,
        confidence=confidence,
        found=logit < 0.0,
        uncovered=gaps.uncovered,
        missing=[t.text for t in gaps.missing],
        absent=[t.text for t in gaps.absent],
        refusal_logit=logit,
    )
