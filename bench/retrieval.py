# ruff: noqa: E402
"""Retrieval benchmarks: ALQAC quality (product vs plain BM25), dev-set quality and refusals, speed, memory.

Usage: .venv/bin/python bench/retrieval.py [--alqac] [--refusal] [--dev] [--speed] [--tune]   (no flag: all)
Passage embeddings of the ALQAC corpus are cached in bench/out/embeddings.sqlite (model + text hash).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Run as a script: the repo root (not bench/, whose retrieval.py would shadow the package) is on the path.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np

from bench.alqac_data import load_corpus, load_questions
from bench.embed_cache import CachedEmbedder
from retrieval.analysis import analyse
from retrieval.embedding import make_embedder
from retrieval.engine import QAEngine, make_engine
from retrieval.evaluation import evaluate
from retrieval.evaluation import load_questions as load_dev_questions
from retrieval.lexical import BM25Field
from retrieval.ranking import RankingParams, fuse, query_features

DEV_SET = Path(__file__).resolve().parent / "data" / "dev_questions.jsonl"
VAL_SET = Path(__file__).resolve().parent / "data" / "val_questions.jsonl"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "R@1": sum(1 for r in ranks if r is not None and r < 1) / n,
        "R@5": sum(1 for r in ranks if r is not None and r < 5) / n,
        "R@10": sum(1 for r in ranks if r is not None and r < 10) / n,
        "MRR@10": sum(1 / (r + 1) for r in ranks if r is not None and r < 10) / n,
    }


def fmt(m: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.3f}" for k, v in m.items())


def build_alqac_engine(index_dir: Path) -> tuple[QAEngine, float]:
    docs = load_corpus()
    engine = make_engine(index_dir=index_dir, embedder=CachedEmbedder(make_embedder()))
    t0 = time.perf_counter()
    engine.ingest_documents(docs)
    return engine, time.perf_counter() - t0


def product_ranks(
    engine: QAEngine, questions: list, law_of: dict[str, str]
) -> tuple[list[int | None], list[float]]:
    ranks: list[int | None] = []
    latencies: list[float] = []
    for q in questions:
        t0 = time.perf_counter()
        cites, _, _ = engine.search(q.text, k=10)
        latencies.append(time.perf_counter() - t0)
        rank = None
        for i, c in enumerate(cites):
            if (law_of[c.doc_id], str(c.article)) in q.relevant:
                rank = i
                break
        ranks.append(rank)
    return ranks, latencies


def bm25_baseline(questions: list) -> tuple[list[int | None], float]:
    """Plain BM25 over pyvi words at article level (no accent folding, no fusion)."""
    with open("/work/shared/bench/alqac/corpus.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    t0 = time.perf_counter()
    keys = [(r["law_id"], str(r["article_id"])) for r in rows]
    field = BM25Field([analyse(f"{r['title']}\n{r.get('text') or ''}").words for r in rows])
    build = time.perf_counter() - t0
    ranks: list[int | None] = []
    for q in questions:
        scores = field.score(analyse(q.text).words)
        top = np.argsort(-scores)[:10]
        rank = next((i for i, idx in enumerate(top) if keys[idx] in q.relevant), None)
        ranks.append(rank)
    return ranks, build


def run_alqac(tune: bool) -> None:
    questions = load_questions()
    dev = [q for q in questions if q.split == "dev"]
    test = [q for q in questions if q.split == "test"]
    with tempfile.TemporaryDirectory() as tmp:
        engine, build_s = build_alqac_engine(Path(tmp))
        law_of = {d.doc_id: d.title for d in engine.documents()}
        n_units = len(engine._snapshot.units)
        print(f"ALQAC index: {len(law_of)} laws, {n_units} articles, {len(engine._snapshot.chunks)} passages")
        print(f"  index build (cached embeddings): {build_s:.1f} s; peak RSS {peak_mb():.0f} MB")
        rounds: list[tuple[str, str | None]] = [("default params", None)]
        if tune:
            rounds.append(("tuned on ALQAC dev", "tune"))
        for label, action in rounds:
            if action == "tune":
                tune_params(engine, dev, law_of)
            for name, qs in (("dev", dev), ("test", test)):
                ranks, lat = product_ranks(engine, qs, law_of)
                lat_ms = sorted(x * 1000 for x in lat[5:])
                print(
                    f"  product [{label}] {name} ({len(qs)} q): {fmt(metrics(ranks))}  "
                    f"latency p50 {statistics.median(lat_ms):.0f} ms p95 {lat_ms[int(0.95 * len(lat_ms))]:.0f} ms",
                    flush=True,
                )
        for name, qs in (("dev", dev), ("test", test)):
            ranks, build = bm25_baseline(qs)
            print(f"  plain BM25 {name} ({len(qs)} q): {fmt(metrics(ranks))}  (build {build:.1f} s)")


def run_alqac_refusal() -> None:
    """Refusal check: laws split in two halves; each half indexed alone. A question whose gold laws are all
    in the index should be answered (and found); one whose gold laws are all withheld should be refused."""
    docs = load_corpus()
    questions = load_questions()
    laws = sorted(d.meta.title for d in docs)
    halves = [set(laws[0::2]), set(laws[1::2])]
    print(f"ALQAC refusal check: {len(laws)} laws in two halves of {len(halves[0])} and {len(halves[1])}")
    counts = {split: {"answerable": [0, 0], "withheld": [0, 0]} for split in ("dev", "test")}
    ranks: dict[str, list[int | None]] = {"dev": [], "test": []}
    for half in halves:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(index_dir=Path(tmp), embedder=CachedEmbedder(make_embedder()))
            engine.ingest_documents([d for d in docs if d.meta.title in half])
            law_of = {d.doc_id: d.title for d in engine.documents()}
            for q in questions:
                gold = {law for law, _ in q.relevant}
                if gold <= half:
                    kind = "answerable"
                elif not gold & half:
                    kind = "withheld"
                else:
                    continue
                cites, _, found = engine.search(q.text, k=10)
                c = counts[q.split][kind]
                c[0] += 1
                c[1] += not found
                if kind == "answerable":
                    keys = [(law_of[x.doc_id], str(x.article)) for x in cites]
                    ranks[q.split].append(next((i for i, k in enumerate(keys) if k in q.relevant), None))
    for split in ("dev", "test"):
        ans, withheld = counts[split]["answerable"], counts[split]["withheld"]
        print(
            f"  {split}: gold law withheld {withheld[0]} q, refused {withheld[1] / max(withheld[0], 1):.1%}; "
            f"gold law loaded {ans[0]} q, wrongly refused {ans[1] / max(ans[0], 1):.1%} "
            f"({fmt(metrics(ranks[split]))})",
            flush=True,
        )


def tune_params(engine: QAEngine, dev: list, law_of: dict[str, str]) -> None:
    """Grid search on the dev split only, over precomputed per-question features (model run once)."""
    snap = engine._snapshot
    keys = [(law_of[u.doc_id], str(snap.chunks[u.first].article)) for u in snap.units]
    feats = [
        query_features(snap, question=q.text, query_vec=engine.embedder.embed_query(q.text)) for q in dev
    ]

    def score(params: RankingParams) -> dict[str, float]:
        ranks: list[int | None] = []
        for q, f in zip(dev, feats, strict=True):
            fused = fuse(snap, f, params)
            top = np.argpartition(-fused, 10)[:10]
            top = top[np.argsort(-fused[top])]
            ranks.append(next((i for i, u in enumerate(top) if keys[u] in q.relevant), None))
        return metrics(ranks)

    base = engine.params
    best = (score(base)["MRR@10"], base)
    print(f"    tune start: MRR@10 {best[0]:.3f}", flush=True)
    grid = itertools.product(
        (0.3, 0.4, 0.5, 0.6, 0.7),
        (0.5, 1.0),
        (0.25, 0.5, 1.0),
        (0.25, 0.5, 1.0),
        (0.0, 0.1, 0.2, 0.3, 0.5),
        (20, 50),
    )
    for lw, ww, sw, bw, dn, floor in grid:
        params = replace(
            base,
            lexical_weight=lw,
            dense_weight=1 - lw,
            word_weight=ww,
            syllable_weight=sw,
            bigram_weight=bw,
            doc_name_weight=dn,
            dense_floor_rank=floor,
        )
        m = score(params)
        if m["MRR@10"] > best[0]:
            best = (m["MRR@10"], params)
            print(f"    tune: {fmt(m)}  lw={lw} ww={ww} sw={sw} bw={bw} dn={dn} floor={floor}", flush=True)
    engine.params = best[1]
    print(f"  tuned params: {best[1]}")


def run_dev() -> None:
    import knowledge

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(index_dir=Path(tmp), embedder=CachedEmbedder(make_embedder()))
        engine.ingest_paths(knowledge.sample_corpus_paths())
        for label, path in (("Dev set", DEV_SET), ("Validation set (never tuned on)", VAL_SET)):
            if not path.exists():
                print(f"{label} missing: {path}")
                continue
            report = evaluate(engine, load_dev_questions(path))
            print(f"{label} (sample corpus):")
            print("  " + report.summary())


def run_speed() -> None:
    """ask latency over a 5,000-article index; ingest overhead over raw encoding; unchanged re-ingest."""
    docs = load_corpus()
    # Pad ALQAC (3,238 articles) to 5,000 with a renamed copy of the first laws (vectors cached).
    extra = []
    need = 5000 - sum(len({c.article for c in d.chunks}) for d in docs)
    for d in docs:
        if need <= 0:
            break
        copy = replace(
            d,
            meta=replace(d.meta, doc_id=d.meta.doc_id + "-b"),  # same passage texts: cached vectors
        )
        copy.chunks = [replace(c, doc_id=copy.meta.doc_id, chunk_id=c.chunk_id + "-b") for c in d.chunks]
        copy.source_sha256 = d.source_sha256 + "b"
        extra.append(copy)
        need -= len({c.article for c in d.chunks})
    questions = [q.text for q in load_questions()][:300]
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(index_dir=Path(tmp), embedder=CachedEmbedder(make_embedder()))
        engine.ingest_documents(docs + extra)
        snap = engine._snapshot
        print(f"Speed: index of {len(snap.units)} articles / {len(snap.chunks)} passages")
        for q in questions[:10]:
            engine.ask(q)
        lat = []
        for q in questions:
            t0 = time.perf_counter()
            engine.ask(q)
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        print(
            f"  ask warm over {len(lat)} q: p50 {statistics.median(lat):.0f} ms  p95 {lat[int(0.95 * len(lat))]:.0f} ms"
        )
        q_lat = []
        emb = engine.embedder
        for q in questions[:100]:
            t0 = time.perf_counter()
            emb.embed_query(q)
            q_lat.append((time.perf_counter() - t0) * 1000)
        print(f"  (query embedding alone p50 {statistics.median(q_lat):.0f} ms)")
        print(f"  peak RSS {peak_mb():.0f} MB")

    # Ingest overhead: the same 60 passages, raw model encoding vs full ingest (fresh, uncached).
    subset = docs[21]
    subset = replace(subset, chunks=subset.chunks[:60])
    from retrieval.passages import passage_text

    raw = make_embedder()
    texts = [passage_text(chunk=c, meta=subset.meta) for c in subset.chunks]
    t0 = time.perf_counter()
    raw.embed_passages(texts)
    enc = time.perf_counter() - t0
    tokens = sum(raw.count_tokens(t) for t in texts)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(index_dir=Path(tmp), embedder=raw)
        t0 = time.perf_counter()
        engine.ingest_documents([subset])
        full = time.perf_counter() - t0
    n_articles = len({c.article for c in subset.chunks})
    print(
        f"Ingest: {len(texts)} passages / {n_articles} articles / {tokens} tokens: encoding alone {enc:.1f} s, "
        f"full ingest {full:.1f} s (+{(full / enc - 1) * 100:.0f}%); "
        f"{n_articles / full:.1f} articles/s, {tokens / full:.0f} tokens/s"
    )
    run_reingest()


def run_reingest() -> None:
    """Re-ingesting 100 unchanged files (sha256 of the bytes is checked before parsing)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for i in range(100):
            (folder / f"qd-{i:03d}.txt").write_text(
                f"BAN THƯỜNG VỤ THÀNH ỦY\nSố {100 + i}-QĐ/TU\t\tHà Nội, ngày 2 tháng 3 năm 2024\n\n"
                f"QUY ĐỊNH\nvề nội dung thử nghiệm {i}\n\nĐiều 1. Phạm vi\n"
                f"Quy định này áp dụng cho đơn vị thử nghiệm số {i}.\n",
                encoding="utf-8",
            )
        engine = make_engine(index_dir=Path(tmp) / "index", embedder=CachedEmbedder(make_embedder()))
        first = engine.ingest_paths([folder])
        t0 = time.perf_counter()
        again = engine.ingest_paths([folder])
        took = time.perf_counter() - t0
        print(
            f"Re-ingest: {len(again)} files ({sum(o.status == 'unchanged' for o in again)} unchanged; "
            f"first pass {sum(o.status == 'added' for o in first)} added): {took:.2f} s"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alqac", action="store_true")
    parser.add_argument("--dev", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--tune", action="store_true", help="grid-search fusion weights on ALQAC dev")
    parser.add_argument(
        "--refusal", action="store_true", help="ALQAC refusal check: half the laws withheld from the index"
    )
    args = parser.parse_args()
    everything = not (args.alqac or args.dev or args.speed or args.refusal)
    print(
        f"# retrieval bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f})"
    )
    print(f"params: {RankingParams()}")
    if everything or args.alqac:
        run_alqac(args.tune)
    if everything or args.refusal:
        run_alqac_refusal()
    if everything or args.dev:
        run_dev()
    if everything or args.speed:
        run_speed()
    print(f"peak RSS {peak_mb():.0f} MB; load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
