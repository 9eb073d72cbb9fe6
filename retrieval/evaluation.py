"""Answer quality on a labelled question set, through `QAEngine.ask` (what users get): Recall@1/5/10, MRR@10,
refusals, in-force order and pinpointing, overall and per kind of question."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.engine import Answer, QAEngine
from retrieval.errors import RetrievalError
from retrieval.index import number_key


class InvalidQuestionSet(RetrievalError):
    """The question file is missing or not in the question-set format."""

    code = "invalid_question_set"


@dataclass(frozen=True)
class Place:
    """Where a rule is: a document (its number as printed, or its title / file name when it has no number),
    the Điều or section ("6", "II.3"), and optionally verbatim words of the answering text."""

    doc: str
    article: str = ""
    quote: str = ""


@dataclass
class LabelledQuestion:
    qid: str
    question: str
    kind: str
    # One entry per rule the answer needs; each entry lists the acceptable places.
    parts: list[list[Place]]
    split: str = ""
    near_topic: bool | None = None
    in_force: bool | None = None  # True: the in-force document must come first; False: the old one asked for

    @property
    def answerable(self) -> bool:
        return bool(self.parts) and self.kind != "unanswerable"

    @property
    def expected(self) -> list[tuple[str, str]]:
        """(document number key, article) of every acceptable place."""
        return [(number_key(p.doc), p.article) for part in self.parts for p in part]


def _place(raw: dict[str, object]) -> Place:
    doc = raw.get("doc_number") or raw.get("doc") or ""
    return Place(str(doc), str(raw.get("article", "") or ""), str(raw.get("quote", "") or ""))


def load_questions(path: Path) -> list[LabelledQuestion]:
    """Read question lines: `{"qid","question","kind","parts":[[{"doc_number","article","quote"}]]}` or the
    older `{"expected":[{"doc_number","article"}]}` (one part, alternatives), plus optional `split`,
    `near_topic` and `in_force`."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidQuestionSet(f"cannot read {path}: {exc.strerror or exc}", path=str(path)) from exc
    out: list[LabelledQuestion] = []
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if "parts" in row:
                parts = [[_place(p) for p in part] for part in row["parts"] or []]
            else:
                expected = [_place(e) for e in row.get("expected") or []]
                parts = [expected] if expected else []
            for part in parts:
                if not part or any(not p.doc or not (p.article or p.quote) for p in part):
                    raise ValueError("every part needs a document and an article or a quote")
            out.append(
                LabelledQuestion(
                    qid=str(row.get("qid", no)),
                    question=str(row["question"]),
                    kind=str(row.get("kind", "")),
                    parts=parts,
                    split=str(row.get("split", "") or ""),
                    near_topic=row.get("near_topic"),
                    in_force=row.get("in_force"),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidQuestionSet(
                f"{path}:{no}: not a question object ({exc})", path=str(path), line=no
            ) from exc
    if not out:
        raise InvalidQuestionSet(f"{path}: no questions", path=str(path))
    return out


UnitKey = tuple[str, bool, str]  # (doc_id, in_attachment, article)


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    text = re.sub(r"[«»“”\"'`*_|]", " ", text)
    return " ".join(re.findall(r"[^\W_]+", text))


def _doc_ids(engine: QAEngine, doc: str) -> list[str]:
    """Documents a place names: by number, else by title or file name (accent-free, case-free)."""
    key = number_key(doc)
    docs = engine.documents()
    by_number = [d.doc_id for d in docs if d.number and number_key(d.number) == key]
    if by_number:
        return by_number
    want = _norm(doc)
    return [
        d.doc_id
        for d in docs
        if want
        and want in {_norm(d.title), _norm(Path(d.source_name).stem), _norm(f"{d.doc_type or ''} {d.title}")}
    ]


def resolve(engine: QAEngine, place: Place) -> set[UnitKey]:
    """The units (articles) holding a place: the one containing its quote, else the one with its label."""
    ids = _doc_ids(engine, place.doc)
    units: set[UnitKey] = set()
    if place.quote:
        for c in engine.find_passages(place.quote, doc_ids=ids):
            units.add((c.doc_id, c.in_attachment, str(c.article)))
    if not units and place.article:
        for doc_id in ids:
            for in_attachment in (False, True):
                if engine.has_article(doc_id, place.article, in_attachment=in_attachment):
                    units.add((doc_id, in_attachment, place.article))
    return units


@dataclass
class QuestionResult:
    qid: str
    kind: str
    split: str
    answerable: bool
    near_topic: bool | None
    status: str  # "answered" | "uncertain" | "refused"
    part_ranks: list[int | None]  # rank of each part's first hit in the answer's ranking (None: not in it)
    resolved: bool  # every part's places were found in the index (a labelling check)
    in_force_ok: bool | None = None
    pinpointed: bool | None = None  # the first quote contains the expected words (answered, first hit)
    latency_ms: float = 0.0

    def hit(self, k: int) -> bool:
        """Every part within the top k (the top n for R@1 of an n-part question)."""
        if not self.part_ranks:
            return False
        depth = len(self.part_ranks) if k == 1 else k
        return all(r is not None and r < depth for r in self.part_ranks)

    @property
    def reciprocal_rank(self) -> float:
        if not self.part_ranks:
            return 0.0
        return sum(1 / (r + 1) for r in self.part_ranks if r is not None and r < 10) / len(self.part_ranks)


@dataclass
class Figures:
    """The figures of one group of questions."""

    n: int = 0
    answerable: int = 0
    unanswerable: int = 0
    recall_at_1: float = 0.0
    recall_at_5: float = 0.0
    recall_at_10: float = 0.0
    mrr_at_10: float = 0.0
    answerable_refused: float = 0.0  # answerable and not answered (refused or only "uncertain")
    answerable_uncertain: float = 0.0
    unanswerable_refused: float = 0.0  # unanswerable and not answered confidently
    unanswerable_uncertain: float = 0.0
    in_force_first: float | None = None
    in_force_n: int = 0
    pinpointed: float | None = None
    pinpoint_n: int = 0

    @classmethod
    def of(cls, results: Iterable[QuestionResult]) -> Figures:
        rs = list(results)
        ans = [r for r in rs if r.answerable]
        una = [r for r in rs if not r.answerable]
        inf = [r for r in rs if r.in_force_ok is not None]
        pin = [r for r in rs if r.pinpointed is not None]
        a, u = max(len(ans), 1), max(len(una), 1)
        return cls(
            n=len(rs),
            answerable=len(ans),
            unanswerable=len(una),
            recall_at_1=sum(r.hit(1) for r in ans) / a,
            recall_at_5=sum(r.hit(5) for r in ans) / a,
            recall_at_10=sum(r.hit(10) for r in ans) / a,
            mrr_at_10=sum(r.reciprocal_rank for r in ans) / a,
            answerable_refused=sum(r.status != "answered" for r in ans) / a,
            answerable_uncertain=sum(r.status == "uncertain" for r in ans) / a,
            unanswerable_refused=sum(r.status != "answered" for r in una) / u,
            unanswerable_uncertain=sum(r.status == "uncertain" for r in una) / u,
            in_force_first=sum(bool(r.in_force_ok) for r in inf) / len(inf) if inf else None,
            in_force_n=len(inf),
            pinpointed=sum(bool(r.pinpointed) for r in pin) / len(pin) if pin else None,
            pinpoint_n=len(pin),
        )

    def line(self) -> str:
        parts = []
        if self.answerable:
            parts.append(
                f"R@1 {self.recall_at_1:.3f}  R@5 {self.recall_at_5:.3f}  MRR@10 {self.mrr_at_10:.3f}  "
                f"wrongly refused {self.answerable_refused:.1%}"
                + (f" (uncertain {self.answerable_uncertain:.1%})" if self.answerable_uncertain else "")
            )
        if self.unanswerable:
            parts.append(
                f"unanswerable refused {self.unanswerable_refused:.1%}"
                + (f" (uncertain {self.unanswerable_uncertain:.1%})" if self.unanswerable_uncertain else "")
            )
        if self.in_force_first is not None:
            parts.append(f"right document first {self.in_force_first:.1%} of {self.in_force_n}")
        if self.pinpointed is not None:
            parts.append(f"pinpointed {self.pinpointed:.1%} of {self.pinpoint_n}")
        return "  ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class EvalReport:
    results: list[QuestionResult]
    unresolved: list[str] = field(default_factory=list)  # qids whose expected places are not in the index

    def figures(self, *, split: str | None = None, kind: str | None = None) -> Figures:
        return Figures.of(
            r
            for r in self.results
            if (split is None or r.split == split) and (kind is None or r.kind == kind)
        )

    @property
    def overall(self) -> Figures:
        return self.figures()

    # The headline figures (kept for scripts and tests reading them directly).
    @property
    def answerable(self) -> int:
        return self.overall.answerable

    @property
    def unanswerable(self) -> int:
        return self.overall.unanswerable

    @property
    def recall_at_1(self) -> float:
        return self.overall.recall_at_1

    @property
    def recall_at_5(self) -> float:
        return self.overall.recall_at_5

    @property
    def mrr_at_10(self) -> float:
        return self.overall.mrr_at_10

    @property
    def unanswerable_refused(self) -> float:
        return self.overall.unanswerable_refused

    @property
    def answerable_refused(self) -> float:
        return self.overall.answerable_refused

    @property
    def misses(self) -> list[str]:
        return [r.qid for r in self.results if r.answerable and not r.hit(5)]

    def kinds(self) -> list[str]:
        return sorted({r.kind for r in self.results})

    def splits(self) -> list[str]:
        return sorted({r.split for r in self.results})

    def summary(self) -> str:
        o = self.overall
        return (
            f"answerable {o.answerable}: R@1 {o.recall_at_1:.3f}  R@5 {o.recall_at_5:.3f}  "
            f"MRR@10 {o.mrr_at_10:.3f}  wrongly refused {o.answerable_refused:.1%}; "
            f"unanswerable {o.unanswerable}: refused {o.unanswerable_refused:.1%}"
        )

    def table(self, *, split: str | None = None) -> str:
        """One line per kind, then the answerable and unanswerable totals."""
        rows = []
        for kind in self.kinds():
            f = self.figures(split=split, kind=kind)
            if f.n:
                rows.append(f"  {kind:<20} {f.n:>4}  {f.line()}")
        total = self.figures(split=split)
        rows.append(f"  {'ALL':<20} {total.n:>4}  {total.line()}")
        return "\n".join(rows)

    def to_json(self) -> dict[str, object]:
        o = self.overall
        return {
            "answerable": o.answerable,
            "unanswerable": o.unanswerable,
            "recall_at_1": round(o.recall_at_1, 4),
            "recall_at_5": round(o.recall_at_5, 4),
            "mrr_at_10": round(o.mrr_at_10, 4),
            "unanswerable_refused": round(o.unanswerable_refused, 4),
            "answerable_refused": round(o.answerable_refused, 4),
            "misses": self.misses,
            "unresolved": self.unresolved,
            "by_kind": {k: self.figures(kind=k).to_json() for k in self.kinds()},
            "by_split": {s: self.figures(split=s).to_json() for s in self.splits() if s},
        }


def answer_status(answer: Answer) -> str:
    if answer.found and not answer.uncertain:
        return "answered"
    return "uncertain" if answer.uncertain else "refused"


def judge(
    engine: QAEngine, q: LabelledQuestion, answer: Answer, *, places: list[list[set[UnitKey]]] | None = None
) -> QuestionResult:
    """Score one answer against the question's labels."""
    resolved_parts = (
        places if places is not None else [[resolve(engine, p) for p in part] for part in q.parts]
    )
    ranking = [(c.doc_id, c.in_attachment, str(c.article)) for c in answer.ranked]
    part_ranks: list[int | None] = []
    for part in resolved_parts:
        wanted = set().union(*part) if part else set()
        part_ranks.append(next((i for i, key in enumerate(ranking) if key in wanted), None))
    resolved = all(any(units for units in part) for part in resolved_parts)
    result = QuestionResult(
        qid=q.qid,
        kind=q.kind,
        split=q.split,
        answerable=q.answerable,
        near_topic=q.near_topic,
        status=answer_status(answer),
        part_ranks=part_ranks if q.answerable else [],
        resolved=resolved,
    )
    if q.answerable and q.in_force is not None:
        first_docs = {u[0] for u in resolved_parts[0][0]} if resolved_parts and resolved_parts[0] else set()
        for alt in resolved_parts[0][1:] if resolved_parts else []:
            first_docs |= {u[0] for u in alt}
        result.in_force_ok = bool(answer.ranked) and answer.ranked[0].doc_id in first_docs
    if q.answerable and result.status == "answered" and answer.citations:
        quotes = [p.quote for p in q.parts[0] if p.quote]
        first = answer.citations[0]
        if quotes and part_ranks and part_ranks[0] == 0:
            lead = _norm(first.text)
            result.pinpointed = any(_norm(quote) in lead for quote in quotes)
    return result


def evaluate(
    engine: QAEngine,
    questions: list[LabelledQuestion],
    *,
    k: int = 10,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Ask every question (`QAEngine.ask`, k=10) and score the answers."""
    results: list[QuestionResult] = []
    unresolved: list[str] = []
    for i, q in enumerate(questions):
        if progress is not None:
            progress(i, len(questions))
        places = [[resolve(engine, p) for p in part] for part in q.parts]
        t0 = time.perf_counter()
        answer = engine.ask(q.question, k=k)
        latency = (time.perf_counter() - t0) * 1000
        result = judge(engine, q, answer, places=places)
        result.latency_ms = latency
        if q.answerable and not result.resolved:
            unresolved.append(q.qid)
        results.append(result)
    return EvalReport(results, unresolved)
