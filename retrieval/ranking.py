"""Hybrid ranking over a Snapshot: BM25 fields + dense cosine fused per article, the documents a question
names, and which version of a rule comes first (in force, amended text, or the old one when asked for)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from knowledge.numbers import find_numbers
from retrieval.analysis import is_question_word, strip_diacritics, vietnamese_lexicon
from retrieval.index import Snapshot, number_key
from retrieval.query import Query

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
    "quy che",
    "so",
}


@dataclass(frozen=True)
class RankingParams:
    """Fusion weights, version preferences and the refusal model (see docs/retrieval.md)."""

    # fusion weights: bench/tune.py --fusion on the tuned questions of three corpora (docs/benchmarks.md)
    word_weight: float = 0.5
    restored_word_weight: float = 0.5  # word field for accent-free questions (marks restored from the index)
    syllable_weight: float = 0.5
    bigram_weight: float = 0.5
    lexical_weight: float = 0.55
    dense_weight: float = 0.45
    dense_floor_rank: int = 20
    article_dense_weight: float = 0.0  # the question's cosine with the whole article (mean of its khoản)
    doc_name_weight: float = 0.15
    superseded_penalty: float = 0.15  # a replaced document's articles, unless the question asks for it
    amended_penalty: float = 0.1  # an article changed by a "sửa đổi, bổ sung" document of its own
    chunk_coverage_weight: float = 0.1
    # The refusal model: log-odds that the loaded texts do NOT answer, a linear function of
    # `coverage.REFUSAL_FEATURES` (fitted across corpora by bench/tune.py). Answered when < 0; from 0 up to
    # `uncertain_band` the nearest passage is quoted with a caveat ("may not answer"); refused above. The band
    # spans the log-odds where answerable and unanswerable tuned questions are about equally common (regs
    # tune + samples dev: 9 answerable, 7 unanswerable in [1, 3); 4 and 24 in [3, ∞)): such a case is
    # borderline, so the reader gets the nearest passage labelled, with the button to ask staff.
    refusal_intercept: float = 44.0
    refusal_weights: tuple[float, ...] = (-55.0, 3.0, 6.0, 1.7, 1.0, 3.0)
    uncertain_band: float = 3.0
    uncovered_units: int = 3


@dataclass
class Ranked:
    units: list[int]  # best first
    scores: list[float]  # fused score of each unit
    best_chunks: list[int]  # the best chunk of each unit (by cosine and term overlap)
    dense: list[float]  # raw cosine of each unit's best chunk
    lexical: list[float]  # max-normalised lexical score of each unit
    named: list[str] = field(default_factory=list)  # doc_ids the question names
    missing_documents: list[str] = field(default_factory=list)  # references to documents not loaded
    old_docs: list[str] = field(default_factory=list)  # replaced documents the question asks about
    chunk_cos: np.ndarray | None = None  # cosine of every chunk with the question

    def select(self, positions: Sequence[int]) -> Ranked:
        """The units at these positions, in this order, each with its own scores."""
        return replace(
            self,
            units=[self.units[i] for i in positions],
            scores=[self.scores[i] for i in positions],
            best_chunks=[self.best_chunks[i] for i in positions],
            dense=[self.dense[i] for i in positions],
            lexical=[self.lexical[i] for i in positions],
        )


def _named_by_type_and_digit(syllables: list[str], digits: str) -> bool:
    for j, syl in enumerate(syllables):
        if syl == digits and j > 0:
            before = " ".join(syllables[max(0, j - 2) : j])
            if before in _TYPE_WORDS or syllables[j - 1] in _TYPE_WORDS:
                return True
    return False


def _mentions(syllables: list[str], number: list[str], joined: str = "") -> float:
    """1.0 when the question contains a number ("65 qd tw"), 0.8 for "quy định 65" style, else 0."""
    joined = joined or f" {' '.join(syllables)} "
    if len(number) >= 2 and f" {' '.join(number)} " in joined:
        return 1.0
    if (
        number
        and number[0].isdigit()
        and f" {number[0]} " in joined
        and _named_by_type_and_digit(syllables, number[0])
    ):
        return 0.8
    return 0.0


# «luật» / «Bộ luật», the word before it, and up to four name words (never a next «luật»).
_LAW_RE = re.compile(
    r"((?![Bb]ộ\s)\S+\s+)?\b([Bb]ộ\s+)?[Ll]uật\s+([^\W\d_]+(?:\s+(?!(?:[Bb]ộ\s+)?[Ll]uật\b)[^\W\d_]+){0,3})"
)
_NOT_A_LAW_BEFORE = {"kỷ", "kỉ", "ky", "điều", "dieu"}  # «kỷ luật Đảng viên», «điều luật Đó»
# Verbs and function words that follow «luật» as a subject or object («luật quy định», «luật cấm»).
_LAW_VERBS = {
    "quy", "cấm", "yêu", "bắt", "nói", "ghi", "nêu", "đối", "mà", "và", "hoặc", "chưa", "thế", "như", "áp", "cho",
    "điều", "dẫn",
}  # fmt: skip
# «Bộ luật này», «Luật nào»: a reference back or a question, not a name.
_NOT_A_LAW_NAME = {
    "này",
    "nào",
    "đó",
    "ấy",
    "kia",
    "trên",
    "dưới",
    "sau",
    "khác",
    "hiện",
    "mới",
    "cũ",
    "thì",
    "là",
}


def _lowercase_law_name(before: str, name: str) -> bool:
    """«vi phạm luật an ninh mạng», «theo luật viên chức»: a law named in lower case, as typed on a phone.

    The words after «luật» name a law unless they start with a function or question word («luật về …», «luật
    đối với …»), or «luật» and they form a common word («luật pháp», «luật sư», «luật hình sự» as a field of
    law), or «luật» is part of «pháp luật»."""
    words = name.lower().split()
    if before in _NOT_A_LAW_BEFORE | {"pháp"} or not words:
        return False
    lexicon = vietnamese_lexicon()[0]
    if is_question_word(words[0]) or words[0] in _NOT_A_LAW_NAME or words[0] in _LAW_VERBS:
        return False
    return not any(" ".join(["luật", *words[:n]]) in lexicon for n in (1, 2))


def _law_names(text: str) -> list[tuple[str, str]]:
    """Law names a question mentions, as typed ("Luật Viên chức", "Bộ luật Hình sự") and as a key (their first
    two name words accent-free: "vien chuc").

    After «Bộ luật» any words are a name; after «Luật» the name starts with a capital letter («luật đối với» is
    no law) or «Luật» itself is capitalised and does not start a common word («Luật sư», «luật pháp»), or it
    is typed in lower case as on a phone («vi phạm luật an ninh mạng», see `_lowercase_law_name`);
    «kỷ luật …» and «điều luật …» are never laws."""
    out = []
    for m in _LAW_RE.finditer(text):
        before, code, name = (m.group(1) or "").strip().lower(), bool(m.group(2)), m.group(3)
        if name.split()[0].lower() in _NOT_A_LAW_NAME:
            continue
        if not code:
            if before in _NOT_A_LAW_BEFORE:
                continue
            first = name.split()[0].lower()
            capital_law = m.group(0)[len(m.group(1) or "") :].startswith("L")
            if (
                not name[:1].isupper()
                and not (capital_law and f"luật {first}" not in vietnamese_lexicon()[0])
                and not _lowercase_law_name(before, name)
            ):
                continue
        law = "Bộ luật" if code else "Luật"
        shown = _name_words(name)
        out.append((f"{law} {' '.join(shown)}", strip_diacritics(" ".join(shown[:2]).lower())))
    return out


_NAME_ENDS = {
    "năm",
    "số",
    "hiện",
    "mới",
    "cũ",
    "này",
    "đó",
}  # «Bộ luật Hình sự năm 2017», «Luật Đất đai hiện hành»


def _name_words(name: str) -> list[str]:
    """The words of a law's name, up to the first that starts the rest of the sentence («Luật cán bộ công chức
    thì …» → «cán bộ công chức»)."""
    words = name.split()
    out = words[:1]
    for word in words[1:]:
        low = word.lower()
        if is_question_word(low) or low in _NAME_ENDS or low in _LAW_VERBS or low in _NOT_A_LAW_NAME:
            break
        out.append(word)
    return out


@dataclass
class DocumentIntent:
    names: np.ndarray  # per document: how strongly the question names it
    adjust: np.ndarray  # per document: version preference (negative for the version not wanted)
    named: list[str]
    old_docs: list[str]
    missing: list[str]
    keep_amended: np.ndarray | None = None  # per document: asked for as it read before its amendment


def document_intent(snapshot: Snapshot, query: Query, params: RankingParams) -> DocumentIntent:
    """The documents a question names, which version of a replaced text it wants, and names not loaded."""
    syllables = query.name_syllables or query.syllables
    joined = f" {' '.join(syllables)} "
    bigrams = {f"{a}_{b}" for a, b in itertools.pairwise(syllables)}
    n = len(snapshot.doc_order)
    names = np.zeros(n, dtype=np.float32)
    by_number = np.zeros(n, dtype=np.float32)  # named by its own number (the old and new texts share titles)
    for i, number in enumerate(snapshot.doc_number_syllables):
        names[i] = by_number[i] = _mentions(syllables, number, joined)
        title = snapshot.doc_title_bigrams[i]
        if title and title <= bigrams:
            names[i] = max(names[i], 1.0)
    loaded_keys = {" ".join(k) for k in snapshot.doc_number_syllables if k}
    # Naming a replaced document that is not loaded points at what replaced it; naming an amended one
    # also points at the documents that amend it (their articles are its current text).
    for i, replaced in enumerate(snapshot.doc_replaces):
        for number in replaced:
            if " ".join(number) not in loaded_keys:
                names[i] = max(names[i], _mentions(syllables, number, joined))
    for i, amended in enumerate(snapshot.doc_amends):
        for number in amended:
            names[i] = max(names[i], _mentions(syllables, number, joined) * 0.9)
    position = {d: i for i, d in enumerate(snapshot.doc_order)}
    adjust = np.zeros(n, dtype=np.float32)
    old_docs: list[str] = []
    for i, doc_id in enumerate(snapshot.doc_order):
        doc = snapshot.docs[doc_id]
        if doc.status != "superseded":
            continue
        replacer = snapshot.replacer(doc_id)
        year_named = doc.issued is not None and doc.issued.year in query.years
        if replacer is not None and replacer.issued is not None and replacer.issued.year in query.years:
            year_named = False  # the new text's year: the current rule is asked for
        wants_old = bool(by_number[i] >= 0.8 or year_named or query.asks_old)
        if wants_old:
            # Asked for by number, by its year or as "the old rule": treated as named, and the text that
            # replaced it steps back as the old one does otherwise.
            old_docs.append(doc_id)
            names[i] = max(names[i], 1.0)
            if replacer is not None and replacer.doc_id in position:
                adjust[position[replacer.doc_id]] -= params.superseded_penalty
        else:
            adjust[i] -= params.superseded_penalty
    keep_amended = np.zeros(n, dtype=bool)
    if len(snapshot.unit_amended) and snapshot.unit_amended.any():
        for i in sorted({int(d) for d in snapshot.unit_doc[snapshot.unit_amended]}):
            doc = snapshot.docs[snapshot.doc_order[i]]
            number = snapshot.doc_number_syllables[i]
            amenders = [j for j, nums in enumerate(snapshot.doc_amends) if number and number in nums]
            amender_years = {
                d.issued.year for d in (snapshot.docs[snapshot.doc_order[j]] for j in amenders) if d.issued
            }
            year_named = doc.issued is not None and doc.issued.year in query.years
            if not (query.asks_old or (year_named and not amender_years & query.years)):
                continue
            # Asked for as it first read ("trước khi sửa đổi", its own year): its changed articles keep
            # their place, and the amending documents step back as the original does otherwise.
            keep_amended[i] = True
            old_docs.append(doc.doc_id)
            for j in amenders:
                adjust[j] -= params.superseded_penalty
    missing = _missing_documents(snapshot, query)
    named = [snapshot.doc_order[i] for i in np.flatnonzero(names >= 0.8)]
    return DocumentIntent(names, adjust, named, old_docs, missing, keep_amended)


def _missing_documents(snapshot: Snapshot, query: Query) -> list[str]:
    """Documents the question names by number or law name that no loaded document is, replaces or amends."""
    known = {" ".join(k) for k in snapshot.doc_number_syllables if k}
    known |= {" ".join(k) for keys in snapshot.doc_replaces for k in keys}
    known |= {" ".join(k) for keys in snapshot.doc_amends for k in keys}
    out: list[str] = []
    for number in find_numbers(query.text):
        key = number_key(number)
        if key and key not in known:
            out.append(number)
    titles = [
        " ".join(strip_diacritics(f"{d.doc_type or ''} {d.title}").lower().split())
        for d in snapshot.docs.values()
    ]
    # Typed without marks («vi pham luat an ninh mang»): the names are read from the restored question.
    for typed, key in _law_names(query.restored if query.accent_free else query.text):
        if not any(f"luat {key}" in t for t in titles):
            out.append(typed)
    return out


def query_fields(snapshot: Snapshot, query: Query) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-unit BM25 of the three fields (pyvi words of the restored question, syllables, bigrams)."""
    lex = snapshot.lexical
    return (
        lex.words.score(query.words),
        lex.syllables.score(query.syllables),
        lex.bigrams.score(query.bigrams),
    )


def fuse(
    snapshot: Snapshot,
    *,
    fields: tuple[np.ndarray, np.ndarray, np.ndarray],
    dense: np.ndarray,
    intent: DocumentIntent,
    accent_free: bool,
    params: RankingParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Fused per-unit scores and the max-normalised lexical part."""
    word_weight = params.restored_word_weight if accent_free else params.word_weight
    lex = word_weight * fields[0] + params.syllable_weight * fields[1] + params.bigram_weight * fields[2]
    top_lex = float(lex.max()) if len(lex) else 0.0
    lex_n = lex / top_lex if top_lex > 0 else lex
    ordered = np.sort(dense)[::-1]
    floor = float(ordered[min(params.dense_floor_rank, len(ordered) - 1)])
    span = float(ordered[0]) - floor
    dense_n = np.clip((dense - floor) / span, 0.0, 1.0) if span > 1e-6 else np.ones_like(dense)
    fused = params.lexical_weight * lex_n + params.dense_weight * dense_n
    if params.doc_name_weight:
        fused = fused + params.doc_name_weight * intent.names[snapshot.unit_doc]
    fused = fused + intent.adjust[snapshot.unit_doc]
    if params.amended_penalty:
        amended = snapshot.unit_amended
        if intent.keep_amended is not None and len(amended):
            amended = amended & ~intent.keep_amended[snapshot.unit_doc]
        fused = fused - params.amended_penalty * amended
    return np.asarray(fused, dtype=np.float32), np.asarray(lex_n, dtype=np.float32)


def unit_dense(
    snapshot: Snapshot, chunk_cos: np.ndarray, query_vec: np.ndarray, params: RankingParams
) -> np.ndarray:
    """Per unit: its best chunk's cosine, blended with the whole article's when so configured."""
    best = np.maximum.reduceat(chunk_cos, snapshot.unit_starts)
    if not params.article_dense_weight:
        return best
    whole = snapshot.unit_embeddings @ query_vec.astype(np.float32)
    w = params.article_dense_weight
    return np.asarray((1.0 - w) * best + w * whole, dtype=np.float32)


def in_force_first(
    snapshot: Snapshot, top: np.ndarray, fused: np.ndarray, intent: DocumentIntent
) -> np.ndarray:
    """The ranking with each replaced document's articles after the first article of the document that
    replaced it, when both are among the top (unless the question asks for the old text). `fused` is lowered
    to match, so scores stay in order."""
    if not any(snapshot.docs[d].status == "superseded" for d in snapshot.doc_order):
        return top
    order = [int(u) for u in top]
    for doc_id in snapshot.doc_order:
        if snapshot.docs[doc_id].status != "superseded" or doc_id in intent.old_docs:
            continue
        replacer = snapshot.replacer(doc_id)
        if replacer is None:
            continue
        first_new = next(
            (i for i, u in enumerate(order) if snapshot.units[u].doc_id == replacer.doc_id), None
        )
        if first_new is None:
            continue
        old = [u for u in order[:first_new] if snapshot.units[u].doc_id == doc_id]
        if not old:
            continue
        lead = order[first_new]
        rest = [u for u in order if u not in old]
        at = rest.index(lead) + 1
        order = [*rest[:at], *old, *rest[at:]]
        for u in old:  # just below the article that replaced them, in their own order
            fused[u] = min(float(fused[u]), float(fused[lead]) - 1e-6)
    for i in range(1, len(order)):  # keep the scores monotonic after the moves
        fused[order[i]] = min(float(fused[order[i]]), float(fused[order[i - 1]]))
    return np.asarray(order, dtype=top.dtype)


def rank(snapshot: Snapshot, query: Query, *, query_vec: np.ndarray, k: int, params: RankingParams) -> Ranked:
    """Score every unit and return the top k with their best chunk."""
    if snapshot.empty:
        return Ranked([], [], [], [], [])
    chunk_cos = snapshot.embeddings @ query_vec.astype(np.float32)
    dense = unit_dense(snapshot, chunk_cos, query_vec, params)
    intent = document_intent(snapshot, query, params)
    fused, lex_n = fuse(
        snapshot,
        fields=query_fields(snapshot, query),
        dense=dense,
        intent=intent,
        accent_free=query.accent_free,
        params=params,
    )
    k = max(1, min(k, len(fused)))
    top = np.argpartition(-fused, k - 1)[:k]
    top = top[np.argsort(-fused[top], kind="stable")]
    top = in_force_first(snapshot, top, fused, intent)
    units = [int(u) for u in top]
    qset = set(query.syllables)
    best_chunks: list[int] = []
    for u in units:
        unit = snapshot.units[u]
        if unit.last - unit.first == 1:
            best_chunks.append(unit.first)
            continue
        best, best_score = unit.first, -1e9
        for c in range(unit.first, unit.last):
            share = len(qset.intersection(snapshot.chunks[c].syllables)) / max(len(qset), 1)
            score = float(chunk_cos[c]) + params.chunk_coverage_weight * share
            if score > best_score:
                best, best_score = c, score
        best_chunks.append(best)
    return Ranked(
        units=units,
        scores=[float(fused[u]) for u in units],
        best_chunks=best_chunks,
        dense=[float(dense[u]) for u in units],
        lexical=[float(lex_n[u]) for u in units],
        named=intent.named,
        missing_documents=intent.missing,
        old_docs=intent.old_docs,
        chunk_cos=chunk_cos,
    )
