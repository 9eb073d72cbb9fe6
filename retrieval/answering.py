"""From a ranking to what the answer says: the khoản to quote for the question (and for each of its parts),
whether the loaded texts answer it (answered / uncertain / refused), and the order of the cited articles."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.analysis import QuestionTerm
from retrieval.coverage import (
    Pinpoint,
    absent_terms,
    covers,
    gap,
    opposite_bound,
    pin_streams,
    pinpoint,
    refusal_features,
    refusal_logit,
    unit_streams,
)
from retrieval.index import Snapshot
from retrieval.query import Query, read_query
from retrieval.ranking import Ranked, RankingParams, rank

ANSWERED, UNCERTAIN, REFUSED = "answered", "uncertain", "refused"
_SECOND_QUOTE = 0.92  # a second article of the same document is quoted when it scores this close
_SECOND_GAP = 0.25  # … and covers the question at least as well (at most this share of its words missing)
_PART_UNITS = 3  # a part is first looked for in the question's top articles


@dataclass
class Judged:
    """One question (or part) judged against its ranking: the khoản to quote and the refusal model."""

    ranked: Ranked
    pin: Pinpoint
    features: tuple[float, ...]
    logit: float
    status: str
    absent: list[QuestionTerm] = field(default_factory=list)
    # (the bound asked, the other kind the quote states): «tối đa» asked, «ít nhất» stated
    bound_conflict: tuple[str, str] | None = None

    @property
    def confidence(self) -> float:
        return 1.0 / (1.0 + math.exp(min(self.logit, 50.0)))


@dataclass
class PartAnswer:
    text: str
    judged: Judged


@dataclass
class Plan:
    whole: Judged
    parts: list[PartAnswer]  # one per part when the question asks several things answered by different texts
    quoted: list[Pinpoint]  # what the answer quotes, in order (empty when refused)
    order: list[int]  # the cited units, best first (the parts' own articles first)
    status: str


def status_of(logit: float, params: RankingParams) -> str:
    """Answered below 0; from 0 up to the band the nearest passage is quoted as possibly not answering;
    refused above it."""
    if logit < 0.0:
        return ANSWERED
    return UNCERTAIN if logit < params.uncertain_band else REFUSED


def judge(
    snapshot: Snapshot,
    ranked: Ranked,
    terms: Sequence[QuestionTerm],
    *,
    wants_number: bool,
    params: RankingParams,
    pin: Pinpoint | None = None,
    cosine: float | None = None,
    asked: str | None = None,
    background: frozenset[tuple[str, ...]] = frozenset(),
) -> Judged:
    """Pinpoint the top article and run the refusal model on what would be quoted."""
    top = ranked.units[0]
    pin = pin or pinpoint(
        snapshot, top, terms, wants_number=wants_number, chunk_cos=ranked.chunk_cos, asked=asked
    )
    article = gap(snapshot, terms, unit_streams(snapshot, ranked.units[: params.uncovered_units]))
    absent = absent_terms(snapshot, [t for t in article.missing if t.syllables not in background])
    features = refusal_features(
        cosine=ranked.dense[ranked.units.index(pin.unit)] if cosine is None else cosine,
        lead_gap=pin.gap.share,
        article_gap=article.share,
        absent=len(absent),
        number_gap=wants_number and not pin.has_number,
        missing_document=bool(ranked.missing_documents),
    )
    logit = refusal_logit(features, intercept=params.refusal_intercept, weights=params.refusal_weights)
    status = status_of(logit, params)
    if status == ANSWERED and ranked.missing_documents and not ranked.named:
        # Asked about a document that is not loaded, and about none that is: a passage of another text
        # may not say what that document says, so it is quoted as possibly not answering.
        status = UNCERTAIN
    streams = pin_streams(snapshot, pin)
    conflict = next(((t.text, p) for t in terms if (p := opposite_bound(streams, t)) is not None), None)
    if conflict is not None and status == ANSWERED:
        status = UNCERTAIN  # the quote states the other kind of bound: it may not answer what was asked
    return Judged(ranked, pin, features, logit, status, absent, conflict)


def amended_first(
    snapshot: Snapshot, ranked: Ranked, terms: Sequence[QuestionTerm], *, wants_number: bool
) -> Ranked:
    """When the best article was changed by a "sửa đổi, bổ sung" passage where the question points (the
    same khoản, or the whole article), that passage comes first: it is the text in force."""
    if not ranked.units:
        return ranked
    top = ranked.units[0]
    changes = snapshot.amendments.get(top)
    if not changes or snapshot.units[top].doc_id in ranked.old_docs:
        return ranked  # unchanged, or asked for as it read before the amendment
    pin = pinpoint(snapshot, top, terms, wants_number=wants_number, chunk_cos=ranked.chunk_cos)
    clause = pin.segment.clause or snapshot.chunks[pin.chunk].clause
    hits = [a for a in changes if a.clause is None or clause is None or a.clause == clause]
    if not hits:
        return ranked
    by = int(snapshot.unit_of_chunk[hits[0].by_chunk])
    units = [by, *[u for u in ranked.units if u != by]]
    position = {u: i for i, u in enumerate(ranked.units)}

    def pick(values: list[float], default: float) -> list[float]:
        return [values[position[u]] if u in position else default for u in units]

    dense = (
        ranked.chunk_cos[snapshot.units[by].first : snapshot.units[by].last].max()
        if ranked.chunk_cos is not None
        else 0.0
    )
    best = [ranked.best_chunks[position[u]] if u in position else hits[0].by_chunk for u in units]
    return Ranked(
        units=units[: len(ranked.units)],
        scores=[ranked.scores[0], *pick(ranked.scores, ranked.scores[0])[1:]][: len(ranked.units)],
        best_chunks=best[: len(ranked.units)],
        dense=pick(ranked.dense, float(dense))[: len(ranked.units)],
        lexical=pick(ranked.lexical, 1.0)[: len(ranked.units)],
        named=ranked.named,
        missing_documents=ranked.missing_documents,
        old_docs=ranked.old_docs,
        chunk_cos=ranked.chunk_cos,
    )


_BOUND_ALTERNATIVES = 3  # articles looked at when the best one states the other kind of bound


def bound_first(snapshot: Snapshot, query: Query, ranked: Ranked, whole: Judged) -> Ranked:
    """When the best article's quote states the other kind of bound than the one asked («ít nhất» for «tối
    đa»), a close runner-up whose quote states the bound asked and covers the question as well comes first."""
    if whole.bound_conflict is None:
        return ranked
    asked = [t for t in query.terms if t.text == whole.bound_conflict[0]]
    for i in range(1, min(_BOUND_ALTERNATIVES, len(ranked.units))):
        pin = pinpoint(
            snapshot,
            ranked.units[i],
            query.terms,
            wants_number=query.wants_number,
            chunk_cos=ranked.chunk_cos,
            asked=query.asked,
        )
        streams = pin_streams(snapshot, pin)
        if (
            pin.gap.share <= whole.pin.gap.share
            and all(covers(streams, t) for t in asked)
            and not any(opposite_bound(streams, t) for t in query.terms)
        ):
            return ranked.select([i, *(j for j in range(len(ranked.units)) if j != i)])
    return ranked


def plan_answer(
    snapshot: Snapshot,
    query: Query,
    ranked: Ranked,
    *,
    embed: Callable[[str], np.ndarray],
    params: RankingParams,
    k: int,
) -> Plan:
    """Decide what to quote. A question asking several things is answered part by part: each part is looked
    for in the question's top articles, and ranked on its own when they do not cover it."""
    ranked = amended_first(snapshot, ranked, query.terms, wants_number=query.wants_number)

    def judge_whole(candidates: Ranked) -> Judged:
        return judge(
            snapshot,
            candidates,
            query.terms,
            wants_number=query.wants_number,
            params=params,
            asked=query.asked,
            background=query.background,
        )

    whole = judge_whole(ranked)
    promoted = bound_first(snapshot, query, ranked, whole)
    if promoted is not ranked:
        ranked, whole = promoted, judge_whole(promoted)
    parts: list[PartAnswer] = []
    for part in query.parts:
        best: Pinpoint | None = None
        for unit in ranked.units[:_PART_UNITS]:
            pin = pinpoint(
                snapshot,
                unit,
                part.terms,
                wants_number=part.wants_number,
                chunk_cos=ranked.chunk_cos,
                asked=part.asked,
            )
            if best is None or pin.gap.share < best.gap.share - 1e-9:
                best = pin
        assert best is not None
        if best.gap.share <= 0.0:
            judged = judge(
                snapshot,
                ranked,
                part.terms,
                wants_number=part.wants_number,
                params=params,
                pin=best,
                asked=part.asked,
            )
        else:
            part_query = read_query(part.text, snapshot.restorer)
            part_ranked = rank(
                snapshot, part_query, query_vec=embed(part_query.search_text), k=k, params=params
            )
            judged = judge(
                snapshot,
                part_ranked,
                part.terms,
                wants_number=part.wants_number,
                params=params,
                asked=part.asked,
            )
        parts.append(PartAnswer(part.text, judged))
    distinct = {(p.judged.pin.chunk, p.judged.pin.segment) for p in parts if p.judged.status != REFUSED}
    split = len(parts) > 1 and (len(distinct) > 1 or any(p.judged.status == REFUSED for p in parts))
    if not split:
        parts = []
    order: list[int] = []
    for p in parts:
        if p.judged.status != REFUSED and p.judged.pin.unit not in order:
            order.append(p.judged.pin.unit)
    for unit in ranked.units:
        if unit not in order:
            order.append(unit)
    for p in parts:  # a part ranked on its own brings its runners-up after the question's
        for unit in p.judged.ranked.units:
            if unit not in order:
                order.append(unit)
    order = order[: max(k, len(parts))]
    if parts:
        answered = [p for p in parts if p.judged.status != REFUSED]
        status = (
            ANSWERED
            if any(p.judged.status == ANSWERED for p in parts)
            else (UNCERTAIN if answered else REFUSED)
        )
        quoted = [p.judged.pin for p in answered]
        return Plan(whole, parts, quoted, order, status)
    quoted = [whole.pin] if whole.status != REFUSED else []
    if whole.status == ANSWERED and len(ranked.units) > 1:
        first, second = ranked.units[0], ranked.units[1]
        if (
            snapshot.units[second].doc_id == snapshot.units[first].doc_id
            and ranked.scores[1] >= _SECOND_QUOTE * ranked.scores[0]
        ):
            pin = pinpoint(
                snapshot, second, query.terms, wants_number=query.wants_number, chunk_cos=ranked.chunk_cos
            )
            if pin.gap.share <= min(whole.pin.gap.share, _SECOND_GAP):
                quoted.append(pin)
    return Plan(whole, [], quoted, order, whole.status)
