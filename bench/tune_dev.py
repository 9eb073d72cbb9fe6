# ruff: noqa: E402
"""Calibrate fusion weights and the refusal threshold on bench/data/dev_questions.jsonl (sample corpus)."""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Run as a script: the repo root (not bench/, whose retrieval.py would shadow the package) is on the path.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import knowledge
from bench.embed_cache import CachedEmbedder
from retrieval.embedding import make_embedder
from retrieval.engine import make_engine
from retrieval.evaluation import evaluate, load_questions
from retrieval.ranking import RankingParams, rank

DEV = Path(__file__).resolve().parent / "data" / "dev_questions.jsonl"


def main() -> int:
    questions = load_questions(DEV)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(index_dir=Path(tmp), embedder=CachedEmbedder(make_embedder()))
        engine.ingest_paths(knowledge.sample_corpus_paths())
        report = evaluate(engine, questions)
        print("default:", report.summary(), report.misses)
        if "--grid" in sys.argv:
            best = None
            for lw, sw, bw, dn in itertools.product(
                (0.3, 0.4, 0.5, 0.6), (0.3, 0.5, 1.0), (0.3, 0.5, 1.0), (0.1, 0.3)
            ):
                engine.params = replace(
                    RankingParams(),
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
            engine.params = best[1]
        # Refusal features for calibration: (top cosine, syllable coverage, bigram coverage) per question.
        snap = engine._snapshot
        feats = []
        for q in questions:
            vec = engine.embedder.embed_query(q.question)
            r = rank(snap, question=q.question, query_vec=vec, k=5, params=engine.params)
            feats.append((q.answerable, r.dense[0], r.coverage[0], r.bigram_coverage[0], q.qid))
        n_una = sum(not f[0] for f in feats)
        n_ans = len(feats) - n_una
        for f in sorted(feats, key=lambda f: f[1] + 0.25 * f[2]):
            print(f"    {'ANS' if f[0] else 'UNA'} cos {f[1]:.3f} cov {f[2]:.3f} bi {f[3]:.3f} {f[4]}")
        results = []
        for wc, wb in itertools.product((0.0, 0.1, 0.2, 0.3, 0.5, 1.0), (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)):
            scores = sorted((d + wc * c + wb * b, a) for a, d, c, b, _ in feats)
            best_t = None
            for t, _ in scores:
                una_ref = sum(1 for s, a in scores if not a and s < t) / n_una
                ans_ref = sum(1 for s, a in scores if a and s < t) / n_ans
                if ans_ref <= 0.05 and (best_t is None or una_ref > best_t[1]):
                    best_t = (round(t, 4), una_ref, ans_ref)
            results.append((best_t[1], wc, wb, best_t))
        for r in sorted(results)[-8:]:
            print(f"  coverage {r[1]} bigram {r[2]}: threshold {r[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
