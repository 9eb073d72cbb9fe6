"""Retrieval quality on a labelled question set: Recall@1/5, MRR@10 and refusal rates."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.engine import QAEngine
from retrieval.errors import RetrievalError
from retrieval.index import number_key


class InvalidQuestionSet(RetrievalError):
    """The question file is missing or not in the dev_questions.jsonl format."""

    code = "invalid_question_set"


@dataclass
class LabelledQuestion:
    qid: str
    question: str
    kind: str
    expected: list[tuple[str, str]]  # (number key, article as text)

    @property
    def answerable(self) -> bool:
        return bool(self.expected) and self.kind != "unanswerable"


@dataclass
class EvalReport:
    answerable: int
    unanswerable: int
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    unanswerable_refused: float  # share of unanswerable questions refused (higher is better)
    answerable_refused: float  # share of answerable questions wrongly refused (lower is better)
    misses: list[str] = field(default_factory=list)  # qids answerable but not in the top 5

    def summary(self) -> str:
        return (
            f"answerable {self.answerable}: R@1 {self.recall_at_1:.3f}  R@5 {self.recall_at_5:.3f}  "
            f"MRR@10 {self.mrr_at_10:.3f}  wrongly refused {self.answerable_refused:.1%}; "
            f"unanswerable {self.unanswerable}: refused {self.unanswerable_refused:.1%}"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "recall_at_1": round(self.recall_at_1, 4),
            "recall_at_5": round(self.recall_at_5, 4),
            "mrr_at_10": round(self.mrr_at_10, 4),
            "unanswerable_refused": round(self.unanswerable_refused, 4),
            "answerable_refused": round(self.answerable_refused, 4),
            "misses": self.misses,
        }


def load_questions(path: Path) -> list[LabelledQuestion]:
    """Read `{"qid","question","kind","expected":[{"doc_number","article"}]}` lines."""
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
            expected = [(number_key(e["doc_number"]), str(e["article"])) for e in row.get("expected") or []]
            out.append(
                LabelledQuestion(
                    str(row.get("qid", no)), str(row["question"]), str(row.get("kind", "")), expected
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidQuestionSet(
                f"{path}:{no}: not a question object ({exc})", path=str(path), line=no
            ) from exc
    if not out:
        raise InvalidQuestionSet(f"{path}: no questions", path=str(path))
    return out


def evaluate(
    engine: QAEngine, questions: list[LabelledQuestion], *, progress: Callable[[int, int], None] | None = None
) -> EvalReport:
    """Rank for every question (k=10); an answerable hit is any expected (document, article) pair."""
    ranks: list[int | None] = []
    refused_answerable = refused_unanswerable = n_unanswerable = 0
    misses: list[str] = []
    for i, q in enumerate(questions):
        if progress is not None:
            progress(i, len(questions))
        cites, _, found = engine.search(q.question, k=10)
        if not q.answerable:
            n_unanswerable += 1
            refused_unanswerable += not found
            continue
        refused_answerable += not found
        keys = [(number_key(c.doc_number), str(c.article)) for c in cites]
        rank = next((r for r, key in enumerate(keys) if key in q.expected), None)
        ranks.append(rank)
        if rank is None or rank >= 5:
            misses.append(q.qid)
    n = max(len(ranks), 1)
    return EvalReport(
        answerable=len(ranks),
        unanswerable=n_unanswerable,
        recall_at_1=sum(r is not None and r < 1 for r in ranks) / n,
        recall_at_5=sum(r is not None and r < 5 for r in ranks) / n,
        mrr_at_10=sum(1 / (r + 1) for r in ranks if r is not None and r < 10) / n,
        unanswerable_refused=refused_unanswerable / max(n_unanswerable, 1),
        answerable_refused=refused_answerable / n,
        misses=misses,
    )
