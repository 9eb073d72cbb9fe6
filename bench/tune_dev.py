# ruff: noqa: E402
"""Calibrate the refusal model (and optionally the fusion weights) on bench/data/dev_questions.jsonl.

Usage: .venv/bin/python bench/tune_dev.py [--grid] [--budget 0.05]
Fits the logistic refusal model of RankingParams on the dev set over the sample corpus (three features:
top cosine, missing and absent content words), sets its threshold at the wrong-refusal budget, prints the
coefficients to paste into RankingParams, and checks them on bench/data/val_questions.jsonl (never fitted).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Run as a script: the repo root (not bench/, whose retrieval.py would shadow the package) is on the path.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import numpy as np

import knowledge
from bench.embed_cache import CachedEmbedder
from retrieval.embedding import make_embedder
from retrieval.engine import QAEngine, make_engine
from retrieval.evaluation import LabelledQuestion, evaluate, load_questions
from retrieval.ranking import RankingParams, model_text, rank

DATA = Path(__file__).resolve().parent / "data"
DEV = DATA / "dev_questions.jsonl"
VAL = DATA / "val_questions.jsonl"
FEATURES = ("cosine", "missing", "absent")


@dataclass
class Row:
    qid: str
    unanswerable: bool
    x: tuple[float, float, float]
    missing: list[str]
    absent: list[str]


def refusal_rows(engine: QAEngine, questions: list[LabelledQuestion]) -> list[Row]:
    """The refusal features of each question, ranked with the engine's fusion parameters."""
    snap = engine._snapshot
    rows = []
    for q in questions:
        vec = engine.embedder.embed_query(model_text(snap, q.question))
        r = rank(snap, question=q.question, query_vec=vec, k=5, params=engine.params)
        x = (r.dense[0], float(len(r.missing)), float(len(r.absent)))
        rows.append(Row(q.qid, not q.answerable, x, r.missing, r.absent))
    return rows


def fit_logistic(x: np.ndarray, y: np.ndarray, *, c: float = 1.0, iterations: int = 50) -> np.ndarray:
    """L2-regularised logistic regression on standardised features, classes weighted to equal total weight.

    Newton's method; the same objective as scikit-learn's LogisticRegression(C=c, class_weight="balanced")
    on z-scored features. Returns [intercept, coef...] on the original feature scale.
    """
    n = len(y)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    weights = np.where(y == 1, n / (2 * y.sum()), n / (2 * (n - y.sum())))
    design = np.hstack([np.ones((n, 1)), (x - mean) / std])
    beta = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) / c
    penalty[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        gradient = design.T @ (weights * (p - y)) + penalty @ beta
        hessian = design.T @ (design * (weights * p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    coef = beta[1:] / std
    return np.concatenate([[beta[0] - float(np.dot(coef, mean))], coef])


def logits(beta: np.ndarray, rows: list[Row]) -> np.ndarray:
    return np.asarray([beta[0] + float(np.dot(beta[1:], r.x)) for r in rows])


def calibrate(beta: np.ndarray, rows: list[Row], *, budget: float) -> float:
    """Intercept shift: refuse the most unanswerable questions while refusing at most `budget` of the
    answerable ones, and among equally good cuts the one refusing the fewest answerable questions.

    The cut sits halfway between the last answerable logit refused and the next one down.
    """
    answerable = np.sort(logits(beta, [r for r in rows if not r.unanswerable]))[::-1]
    unanswerable = logits(beta, [r for r in rows if r.unanswerable])
    best: tuple[int, float] | None = None
    for refused in range(int(np.floor(budget * len(answerable))) + 1):
        upper = answerable[refused - 1] if refused > 0 else max(answerable[0], unanswerable.max()) + 1.0
        lower = answerable[refused] if refused < len(answerable) else answerable[-1] - 1.0
        cut = (upper + lower) / 2
        caught = int((unanswerable >= cut).sum())
        if best is None or caught > best[0]:
            best = (caught, cut)
    assert best is not None
    return -best[1]


def rates(beta: np.ndarray, rows: list[Row]) -> tuple[float, float]:
    z = logits(beta, rows)
    una = [zi >= 0 for zi, r in zip(z, rows, strict=True) if r.unanswerable]
    ans = [zi >= 0 for zi, r in zip(z, rows, strict=True) if not r.unanswerable]
    return sum(una) / max(len(una), 1), sum(ans) / max(len(ans), 1)


def grid_search(engine: QAEngine, questions: list[LabelledQuestion]) -> RankingParams:
    best = None
    for lw, sw, bw, dn in itertools.product(
        (0.3, 0.4, 0.5, 0.6), (0.3, 0.5, 1.0), (0.3, 0.5, 1.0), (0.1, 0.3)
    ):
        engine.params = replace(
            engine.params,
            lexical_weight=lw,
            dense_weight=1 - lw,
            syllable_weight=sw,
            bigram_weight=bw,
            doc_name_weight=dn,
        )
        r = evaluate(engine, questions)
        key = (r.mrr_at_10, r.recall_at_5)
        if best is None or key > best[0]:
            best = (key, engine.params)
            print(f"  {r.summary()}  lw={lw} sw={sw} bw={bw} dn={dn}", flush=True)
    assert best is not None
    return best[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="grid-search the fusion weights first")
    parser.add_argument(
        "--budget", type=float, default=0.05, help="share of answerable dev questions refused"
    )
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 strength of the logistic fit")
    args = parser.parse_args()
    dev, val = load_questions(DEV), load_questions(VAL)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(index_dir=Path(tmp), embedder=CachedEmbedder(make_embedder()))
        engine.ingest_paths(knowledge.sample_corpus_paths())
        print("current params, dev:", evaluate(engine, dev).summary())
        print("current params, val:", evaluate(engine, val).summary())
        if args.grid:
            engine.params = grid_search(engine, dev)
        dev_rows, val_rows = refusal_rows(engine, dev), refusal_rows(engine, val)
        y = np.asarray([r.unanswerable for r in dev_rows], dtype=float)
        beta = fit_logistic(np.asarray([r.x for r in dev_rows]), y, c=args.c)
        beta[0] += calibrate(beta, dev_rows, budget=args.budget)
        print(f"\nrefusal model fitted on dev ({len(dev_rows)} questions, {int(y.sum())} unanswerable):")
        print(
            "  log-odds(refuse) = "
            + " + ".join(
                [f"{beta[0]:.3f}"] + [f"{b:.3f} * {name}" for b, name in zip(beta[1:], FEATURES, strict=True)]
            )
        )
        print(
            f"  RankingParams(refusal_intercept={beta[0]:.3f}, refusal_cosine_coef={beta[1]:.3f}, "
            f"refusal_missing_coef={beta[2]:.3f}, refusal_absent_coef={beta[3]:.3f})"
        )
        for name, rows in (("dev", dev_rows), ("val", val_rows)):
            una, ans = rates(beta, rows)
            print(f"  {name}: unanswerable refused {una:.1%}, answerable wrongly refused {ans:.1%}")
        print("\nper question (logit >= 0: refused); errors marked !")
        for rows in (dev_rows, val_rows):
            for r, z in sorted(zip(rows, logits(beta, rows), strict=True), key=lambda t: -t[1]):
                wrong = (z >= 0) != r.unanswerable
                print(
                    f"  {'!' if wrong else ' '} {r.qid} {'UNA' if r.unanswerable else 'ANS'} logit {z:+.2f} "
                    f"cos {r.x[0]:.3f} missing {r.missing} absent {r.absent}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
