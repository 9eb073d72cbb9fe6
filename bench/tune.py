# ruff: noqa: E402
"""Calibrate the refusal model on the tuned parts of several corpora at once, cross-validated by corpus.

Usage: .venv/bin/python bench/tune.py [--collect] [--budget 0.04] [--c 1.0]

`--collect` answers every *tuned* question through the product path (`canbo ingest` code + `QAEngine.ask`):
the sample corpus with bench/data/dev_questions.jsonl, bench/regs with its `tune` questions, and ALQAC dev with
half the laws withheld (each half loaded alone; questions on the other half are unanswerable there). The
refusal features of each answer are stored in bench/out/refusal-features.jsonl. Held-out questions
(bench/data/val_questions.jsonl, the `heldout` regs questions, ALQAC test) are never read here.

Then a logistic model (L2, z-scored features, each corpus and class weighted equally) is fitted on all
corpora, and checked by leaving each corpus out in turn (fit on the others, cut on the others, report the
left-out one). The cut: refuse as many unanswerable tuned questions as possible while at most `--budget` of
the answerable ones are not answered; the borderline band ("may not answer") lies above it, up to where at
most 1% of the answerable ones remain. Prints the `RankingParams` values to paste.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np

from bench.alqac_data import write_law_files
from bench.retrieval import ALQAC_CORPUS, DEV_SET, REGS, alqac_questions, product_engine, regs_questions
from retrieval.coverage import REFUSAL_FEATURES
from retrieval.evaluation import LabelledQuestion, load_questions

OUT = Path(__file__).resolve().parent / "out" / "refusal-features.jsonl"


@dataclass
class Row:
    corpus: str
    qid: str
    unanswerable: bool
    x: list[float]


def _collect(engine: object, corpus: str, questions: list[LabelledQuestion], out: list[Row]) -> None:
    for q in questions:
        answer = engine.ask(q.question, k=10, compose=False)  # type: ignore[attr-defined]
        if not answer.features:
            continue
        out.append(Row(corpus, q.qid, not q.answerable, [answer.features[f] for f in REFUSAL_FEATURES]))


def collect() -> list[Row]:
    import knowledge

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine, _ = product_engine(Path(tmp), knowledge.sample_corpus_paths())
        _collect(engine, "samples", load_questions(DEV_SET), rows)
    tune = [q for q in regs_questions() if q.split == "tune"]
    if tune:
        with tempfile.TemporaryDirectory() as tmp:
            engine, _ = product_engine(Path(tmp), [REGS / "docs"])
            _collect(engine, "regs", tune, rows)
    with ALQAC_CORPUS.open(encoding="utf-8") as fh:
        laws = sorted({json.loads(line)["law_id"] for line in fh})
    for half in (set(laws[0::2]), set(laws[1::2])):
        with tempfile.TemporaryDirectory() as tmp:
            write_law_files(Path(tmp) / "laws", laws=half)
            engine, _ = product_engine(Path(tmp) / "index", [Path(tmp) / "laws"])
            _collect(engine, "alqac", [q for q in alqac_questions(half) if q.split == "dev"], rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r.__dict__, ensure_ascii=False) + "\n")
    return rows


def load_rows() -> list[Row]:
    with OUT.open(encoding="utf-8") as fh:
        return [Row(**json.loads(line)) for line in fh]


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, c: float = 1.0) -> np.ndarray:
    """Weighted L2 logistic regression on z-scored features (Newton); [intercept, coef…] on the raw scale."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    design = np.hstack([np.ones((len(y), 1)), (x - mean) / std])
    beta = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) / c
    penalty[0, 0] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        gradient = design.T @ (w * (p - y)) + penalty @ beta
        hessian = design.T @ (design * (w * p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    coef = beta[1:] / std
    return np.concatenate([[beta[0] - float(np.dot(coef, mean))], coef])


def weights(rows: list[Row]) -> np.ndarray:
    """Each (corpus, class) cell gets the same total weight."""
    cells: dict[tuple[str, bool], int] = {}
    for r in rows:
        cells[(r.corpus, r.unanswerable)] = cells.get((r.corpus, r.unanswerable), 0) + 1
    return np.asarray([len(rows) / (len(cells) * cells[(r.corpus, r.unanswerable)]) for r in rows])


def logits(beta: np.ndarray, rows: list[Row]) -> np.ndarray:
    x = np.asarray([r.x for r in rows])
    return beta[0] + x @ beta[1:]


def cut_at_budget(
    z: np.ndarray, unanswerable: np.ndarray, *, budget: float, per_corpus: list[np.ndarray]
) -> float:
    """The lowest cut (most unanswerable refused) with at most `budget` of the answerable questions of every
    corpus at or above it."""
    candidates = np.unique(z)
    for cut in candidates:  # ascending: the first that respects the budget everywhere refuses the most
        ok = True
        for mask in per_corpus:
            ans = ~unanswerable & mask
            if ans.any() and float((z[ans] >= cut).mean()) > budget:
                ok = False
                break
        if ok:
            lower = candidates[candidates < cut]
            return float((cut + lower.max()) / 2) if len(lower) else float(cut) - 1.0
    return float(candidates.max()) + 1.0


def report(name: str, z: np.ndarray, rows: list[Row], cut: float) -> str:
    una = np.asarray([r.unanswerable for r in rows])
    refused = z >= cut
    u = float(refused[una].mean()) if una.any() else float("nan")
    a = float(refused[~una].mean()) if (~una).any() else float("nan")
    return f"{name:<8} unanswerable {int(una.sum()):>4} refused {u:6.1%}   answerable {int((~una).sum()):>4} not answered {a:5.1%}"


@dataclass
class FusionCase:
    corpus: str
    fields: tuple[np.ndarray, np.ndarray, np.ndarray]
    dense: np.ndarray
    whole: np.ndarray  # per unit: cosine with the article's mean vector
    names: np.ndarray  # per unit
    superseded: np.ndarray  # per unit: the version-preference direction (-1 not wanted, 0)
    amended: np.ndarray
    accent_free: bool
    gold: set[int]  # unit indices of the first part


def fusion_cases(engine: object, corpus: str, questions: list[LabelledQuestion]) -> list[FusionCase]:
    """Per question, every ranking component (the model runs once per question)."""
    from retrieval.evaluation import resolve
    from retrieval.query import read_query
    from retrieval.ranking import RankingParams, document_intent, query_fields

    snap = engine._snapshot  # type: ignore[attr-defined]
    keys = {snap.unit_key(u): u for u in range(len(snap.units))}
    unit_pref = RankingParams(superseded_penalty=1.0)
    out = []
    for q in questions:
        if not q.answerable:
            continue
        gold = {keys[k] for p in q.parts[0] for k in resolve(engine, p) if k in keys}  # type: ignore[arg-type]
        if not gold:
            continue
        query = read_query(q.question, snap.restorer)
        vec = engine.embedder.embed_query(query.search_text)  # type: ignore[attr-defined]
        dense = np.maximum.reduceat(snap.embeddings @ vec, snap.unit_starts)
        whole = snap.unit_embeddings @ vec
        intent = document_intent(snap, query, unit_pref)
        out.append(
            FusionCase(
                corpus,
                query_fields(snap, query),
                dense,
                whole,
                intent.names[snap.unit_doc],
                intent.adjust[snap.unit_doc],
                snap.unit_amended.astype(np.float32),
                query.accent_free,
                gold,
            )
        )
    return out


def fusion_mrr(cases: list[FusionCase], params: object) -> dict[str, float]:
    p = params
    per: dict[str, list[float]] = {}
    for c in cases:
        ww = p.restored_word_weight if c.accent_free else p.word_weight  # type: ignore[attr-defined]
        lex = ww * c.fields[0] + p.syllable_weight * c.fields[1] + p.bigram_weight * c.fields[2]  # type: ignore[attr-defined]
        top = float(lex.max())
        lex = lex / top if top > 0 else lex
        wd = p.article_dense_weight  # type: ignore[attr-defined]
        d = (1 - wd) * c.dense + wd * c.whole if wd else c.dense
        ordered = np.sort(d)[::-1]
        floor = float(ordered[min(p.dense_floor_rank, len(ordered) - 1)])  # type: ignore[attr-defined]
        span = float(ordered[0]) - floor
        dn = np.clip((d - floor) / span, 0, 1) if span > 1e-6 else np.ones_like(d)
        fused = p.lexical_weight * lex + p.dense_weight * dn + p.doc_name_weight * c.names  # type: ignore[attr-defined]
        fused = fused + p.superseded_penalty * c.superseded - p.amended_penalty * c.amended  # type: ignore[attr-defined]
        top10 = np.argsort(-fused)[:10]
        rank = next((i for i, u in enumerate(top10) if int(u) in c.gold), None)
        per.setdefault(c.corpus, []).append(1 / (rank + 1) if rank is not None else 0.0)
    return {k: float(np.mean(v)) for k, v in per.items()}


def tune_fusion() -> None:
    """Grid search of the fusion weights on the tuned questions of every corpus (mean of corpus MRR@10)."""
    import itertools
    from dataclasses import replace

    import knowledge
    from retrieval.ranking import RankingParams

    cases: list[FusionCase] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine, _ = product_engine(Path(tmp), knowledge.sample_corpus_paths())
        cases += fusion_cases(engine, "samples", load_questions(DEV_SET))
    tune = [q for q in regs_questions() if q.split == "tune"]
    with tempfile.TemporaryDirectory() as tmp:
        engine, _ = product_engine(Path(tmp), [REGS / "docs"])
        cases += fusion_cases(engine, "regs", tune)
    with tempfile.TemporaryDirectory() as tmp:
        write_law_files(Path(tmp) / "laws")
        engine, _ = product_engine(Path(tmp) / "index", [Path(tmp) / "laws"])
        cases += fusion_cases(engine, "alqac", [q for q in alqac_questions() if q.split == "dev"])
    base = RankingParams()

    def score(params: RankingParams) -> float:
        return float(np.mean(list(fusion_mrr(cases, params).values())))

    best = (score(base), base)
    print(f"fusion start: {fusion_mrr(cases, base)} mean {best[0]:.4f}", flush=True)
    grid = itertools.product(
        (0.45, 0.5, 0.55, 0.6),
        (0.5, 1.0),
        (0.5, 1.0),
        (0.25, 0.5),
        (0.15, 0.3),
        (20, 50),
        (0.0, 0.2, 0.35, 0.5),
    )
    for lw, ww, sw, bw, dn, floor, ad in grid:
        params = replace(
            base,
            lexical_weight=lw,
            dense_weight=1 - lw,
            word_weight=ww,
            restored_word_weight=ww,
            syllable_weight=sw,
            bigram_weight=bw,
            doc_name_weight=dn,
            dense_floor_rank=floor,
            article_dense_weight=ad,
        )
        m = score(params)
        if m > best[0] + 1e-4:
            best = (m, params)
            print(
                f"  {fusion_mrr(cases, params)} mean {m:.4f}  lw={lw} ww={ww} sw={sw} bw={bw} dn={dn} floor={floor} ad={ad}",
                flush=True,
            )
    print(f"best: {best[1]}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--collect", action="store_true")
    parser.add_argument("--budget", type=float, default=0.04)
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--fusion", action="store_true", help="grid-search the fusion weights instead")
    args = parser.parse_args()
    if args.fusion:
        tune_fusion()
        return 0
    rows = collect() if args.collect or not OUT.exists() else load_rows()
    corpora = sorted({r.corpus for r in rows})
    y = np.asarray([r.unanswerable for r in rows], dtype=float)
    x = np.asarray([r.x for r in rows])
    print(
        f"{len(rows)} tuned questions: "
        + ", ".join(
            f"{c} {sum(r.corpus == c for r in rows)} ({sum(r.corpus == c and r.unanswerable for r in rows)} unanswerable)"
            for c in corpora
        )
    )
    print("\nleave one corpus out (fit and cut on the others, report the one left out):")
    for held in corpora:
        train = [r for r in rows if r.corpus != held]
        test = [r for r in rows if r.corpus == held]
        if len({r.unanswerable for r in train}) < 2:
            continue
        beta = fit_logistic(
            np.asarray([r.x for r in train]),
            np.asarray([r.unanswerable for r in train], float),
            weights(train),
            c=args.c,
        )
        zt = logits(beta, train)
        una_t = np.asarray([r.unanswerable for r in train])
        masks = [np.asarray([r.corpus == c for r in train]) for c in sorted({r.corpus for r in train})]
        cut = cut_at_budget(zt, una_t, budget=args.budget, per_corpus=masks)
        print("  " + report(held, logits(beta, test), test, cut))
    beta = fit_logistic(x, y, weights(rows), c=args.c)
    z = logits(beta, rows)
    una = y.astype(bool)
    masks = [np.asarray([r.corpus == c for r in rows]) for c in corpora]
    cut = cut_at_budget(z, una, budget=args.budget, per_corpus=masks)
    band_top = cut_at_budget(z, una, budget=0.01, per_corpus=masks)
    band = max(0.0, band_top - cut)
    print("\nfitted on all tuned questions, cut at the budget:")
    for c, mask in zip(corpora, masks, strict=True):
        sub = [r for r, m in zip(rows, mask, strict=True) if m]
        print(
            "  "
            + report(c, z[mask], sub, cut)
            + f"   (bare refusals of answerable: {float(((z[mask] >= cut + band) & ~una[mask]).sum()) / max(int((~una[mask]).sum()), 1):.1%})"
        )
    intercept = float(beta[0] - cut)
    print("\nRankingParams(")
    print(f"    refusal_intercept={intercept:.3f},")
    print(
        f"    refusal_weights=({', '.join(f'{b:.3f}' for b in beta[1:])}),  # {', '.join(REFUSAL_FEATURES)}"
    )
    print(f"    uncertain_band={band:.3f},")
    print(")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
