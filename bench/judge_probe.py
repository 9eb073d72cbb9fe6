# ruff: noqa: E402
"""How well do the refusal model's signals tell the article that answers from the nearest one that does not?

Usage: .venv/bin/python bench/judge_probe.py [--no-alqac]

Indexes each corpus with the product path (`QAEngine.ingest_paths`, as `canbo ingest`) and, for every
answerable question whose answering article is ranked (questions on replaced or amended texts excepted: their
other version often says the same), judges the question twice with the product's own ranking and answer plan
(`rank` + `plan_answer`, what `QAEngine.ask` runs):

- as asked, and
- with the answering articles taken out of the ranking: what a reader would get if the document holding the
  answer were not loaded. The rest of the index stays, so words only the removed articles contain still
  count as "in the index": this understates the evidence of a real uncovered question (an upper bound on
  how often a confident quote comes out).

Printed per corpus and split (tuned and held-out side by side; nothing is fitted here):
- the share of "answer removed" questions answered with a confident quote, labelled as possibly not
  answering, or refused;
- the AUC of the refusal log-odds between the two judgements (1.0 = always higher without the answer);
- with `--learned`: the AUC and MRR@10 of a logistic combination of every per-candidate signal (fused score,
  cosine, lexical score, khoản cosine, khoản/heading/article word gaps, number evidence, rank), fitted with
  one corpus left out and reported on it (tuned questions only): how far any re-weighting of today's signals
  can go.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np

from bench.alqac_data import write_law_files
from bench.retrieval import DEV_SET, REGS, VAL_SET, alqac_questions, product_engine, regs_questions
from retrieval.answering import ANSWERED, UNCERTAIN, plan_answer
from retrieval.coverage import gap, pinpoint, unit_context, unit_streams
from retrieval.engine import QAEngine
from retrieval.evaluation import LabelledQuestion, resolve
from retrieval.evaluation import load_questions as load_labelled
from retrieval.query import Query, read_query
from retrieval.ranking import Ranked, rank

DEPTH = 10  # the ranking depth `QAEngine.ask` judges on
POOL = 30  # candidates kept so that a ranking without the answering articles still has DEPTH
# Questions on a replaced or amended text are left out: without the answering article, the other version of it
# often still says the same (a right answer, not a confident wrong quote).
VERSION_KINDS = {"superseded", "old_document", "amended"}


@dataclass
class Probe:
    corpus: str
    split: str
    asked_logit: float
    removed_logit: float
    removed_status: str


@dataclass
class Candidate:
    corpus: str
    qid: str
    gold: bool
    x: list[float]


def _without(ranked: Ranked, drop: set[int]) -> Ranked:
    return ranked.select([i for i, u in enumerate(ranked.units) if u not in drop][:DEPTH])


def _judged(engine: QAEngine, query: Query, ranked: Ranked) -> tuple[float, str]:
    """The refusal log-odds and the status `QAEngine.ask` would give on this ranking."""
    plan = plan_answer(
        engine._snapshot, query, ranked, embed=engine.embedder.embed_query, params=engine.params, k=DEPTH
    )
    return plan.whole.logit, plan.status


def probe(
    engine: QAEngine,
    corpus: str,
    questions: Sequence[LabelledQuestion],
    *,
    candidates: list[Candidate] | None,
) -> list[Probe]:
    snap = engine._snapshot
    keys = {snap.unit_key(u): u for u in range(len(snap.units))}
    out: list[Probe] = []
    for q in questions:
        if not q.answerable or q.kind in VERSION_KINDS:
            continue
        gold_all = {keys[k] for part in q.parts for p in part for k in resolve(engine, p) if k in keys}
        gold_first = {keys[k] for p in q.parts[0] for k in resolve(engine, p) if k in keys}
        if not gold_all:
            continue
        query = read_query(q.question, snap.restorer)
        vec = engine.embedder.embed_query(query.search_text)
        pool = rank(snap, query, query_vec=vec, k=POOL, params=engine.params)
        asked = _without(pool, set())
        removed = _without(pool, gold_all)
        if not removed.units:
            continue

        asked_logit, _ = _judged(engine, query, asked)
        removed_logit, removed_status = _judged(engine, query, removed)
        out.append(Probe(corpus, q.split, asked_logit, removed_logit, removed_status))
        if candidates is not None and q.split in ("tune", "dev"):
            for r, u in enumerate(pool.units[:20]):
                pin = pinpoint(
                    snap,
                    u,
                    query.terms,
                    wants_number=query.wants_number,
                    chunk_cos=pool.chunk_cos,
                    asked=query.asked,
                )
                candidates.append(
                    Candidate(
                        corpus,
                        q.qid,
                        u in gold_first,
                        [
                            pool.scores[r],
                            pool.dense[r],
                            pool.lexical[r],
                            float(pool.chunk_cos[pin.chunk]) if pool.chunk_cos is not None else 0.0,
                            pin.gap.share,
                            float(pin.has_number),
                            float(query.wants_number),
                            gap(snap, query.terms, unit_context(snap, u)).share,
                            gap(snap, query.terms, unit_streams(snap, [u])).share,
                            float(np.log1p(r)),
                        ],
                    )
                )
    return out


def auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """P(a positive scores above a negative), ties counting half."""
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def print_probes(probes: list[Probe]) -> None:
    print(
        f"{'corpus':<8} {'split':<8} {'n':>4}  answer removed: confident / labelled / refused   AUC(log-odds)"
    )
    for corpus, split in dict.fromkeys((p.corpus, p.split) for p in probes):
        rows = [p for p in probes if p.corpus == corpus and p.split == split]
        conf = sum(p.removed_status == ANSWERED for p in rows) / len(rows)
        lab = sum(p.removed_status == UNCERTAIN for p in rows) / len(rows)
        a = auc([p.removed_logit for p in rows], [p.asked_logit for p in rows])
        print(
            f"{corpus:<8} {split:<8} {len(rows):>4}  {conf:9.1%} / {lab:8.1%} / {1 - conf - lab:7.1%}   {a:.3f}"
        )


def learned(candidates: list[Candidate]) -> None:
    from sklearn.linear_model import LogisticRegression

    corpora = sorted({c.corpus for c in candidates})
    print("\nlearned combination of the per-candidate signals, one corpus left out (tuned questions only):")
    for held in corpora:
        train = [c for c in candidates if c.corpus != held]
        test = [c for c in candidates if c.corpus == held]
        x = np.asarray([c.x for c in train])
        mean, std = x.mean(0), x.std(0) + 1e-9
        size = {k: sum(c.corpus == k for c in train) for k in corpora}
        w = np.asarray([1.0 / size[c.corpus] for c in train])
        model = LogisticRegression(C=1.0, max_iter=2000).fit(
            (x - mean) / std, [c.gold for c in train], sample_weight=w * len(w) / w.sum()
        )
        s = model.decision_function((np.asarray([c.x for c in test]) - mean) / std)
        by: dict[str, list[int]] = {}
        for i, c in enumerate(test):
            by.setdefault(c.qid, []).append(i)
        mrr_before = mrr_after = 0.0
        pos: list[float] = []
        neg: list[float] = []
        for idx in by.values():
            golds = [k for k, i in enumerate(idx) if test[i].gold]
            if golds and golds[0] < 10:
                mrr_before += 1 / (golds[0] + 1)
            order = sorted(range(len(idx)), key=lambda k: -s[idx[k]])
            after = [r for r, k in enumerate(order) if test[idx[k]].gold]
            if after and after[0] < 10:
                mrr_after += 1 / (after[0] + 1)
            if golds:
                pos.append(float(s[idx[golds[0]]]))
                neg.append(float(next(s[i] for i in idx if not test[i].gold)))
        n = len(by)
        print(
            f"  {held:<8} {n:>4} questions: MRR@10 (first part) {mrr_before / n:.3f} → {mrr_after / n:.3f};"
            f" AUC answering article vs the best other {auc(pos, neg):.3f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-alqac", action="store_true")
    parser.add_argument("--learned", action="store_true")
    args = parser.parse_args()
    import knowledge

    candidates: list[Candidate] | None = [] if args.learned else None
    probes: list[Probe] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine, _ = product_engine(Path(tmp), knowledge.sample_corpus_paths())
        dev = load_labelled(DEV_SET)
        val = load_labelled(VAL_SET)
        for q in dev:
            q.split = "dev"
        for q in val:
            q.split = "val"
        probes += probe(engine, "samples", dev + val, candidates=candidates)
    with tempfile.TemporaryDirectory() as tmp:
        engine, _ = product_engine(Path(tmp), [REGS / "docs"])
        probes += probe(engine, "regs", regs_questions(), candidates=candidates)
    if not args.no_alqac:
        with tempfile.TemporaryDirectory() as tmp:
            write_law_files(Path(tmp) / "laws")
            engine, _ = product_engine(Path(tmp) / "index", [Path(tmp) / "laws"])
            probes += probe(engine, "alqac", alqac_questions(), candidates=candidates)
    print_probes(probes)
    if candidates:
        learned(candidates)
    print(json.dumps({"questions": len(probes)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
