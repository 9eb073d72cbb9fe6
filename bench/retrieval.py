# ruff: noqa: E402
"""Regulation Q&A benchmarks through the product path: files are loaded with `QAEngine.ingest_paths` (the code
behind `canbo ingest`) and every question is answered with `QAEngine.ask` (what the bot and `canbo ask` do).

Usage: .venv/bin/python bench/retrieval.py [--regs] [--samples] [--alqac] [--refusal] [--speed] [--dump DIR]
(no flag: all). Figures are printed per split (tuned / held out) and per kind of question.

- regs: bench/regs (documents and questions written before tuning; split `tune` / `heldout`, set C held out).
- samples: the sample corpus with bench/data/dev_questions.jsonl (dev, tuned) and val_questions.jsonl (held out).
- alqac: the 23 ALQAC laws written as plain-text files, ALQAC dev / test questions; plain BM25 beside it.
- refusal: ALQAC with half the laws withheld (each half loaded alone): withheld-law questions should be refused.
- speed: `ask` latency on a 5,000-article index, ingest throughput (tokens/s) and the model's share of it.
Passage vectors are cached in bench/out/embeddings.sqlite keyed by model and passage text (a cache only: the
same texts the product embeds, computed by the same model when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Run as a script: the repo root (not bench/, whose retrieval.py would shadow the package) is on the path.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np

from bench.alqac_data import law_file_name, load_questions, write_law_files
from bench.embed_cache import CachedEmbedder
from retrieval.analysis import analyse
from retrieval.embedding import make_embedder
from retrieval.engine import QAEngine, make_engine
from retrieval.evaluation import EvalReport, LabelledQuestion, Place, evaluate
from retrieval.evaluation import load_questions as load_labelled
from retrieval.lexical import BM25Field
from retrieval.ranking import RankingParams

BENCH = Path(__file__).resolve().parent
REGS = BENCH / "regs"
DEV_SET = BENCH / "data" / "dev_questions.jsonl"
VAL_SET = BENCH / "data" / "val_questions.jsonl"
ALQAC_CORPUS = Path("/work/shared/bench/alqac/corpus.jsonl")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def product_engine(index_dir: Path, paths: Sequence[Path]) -> tuple[QAEngine, float]:
    """An engine over `paths` loaded exactly as `canbo ingest` loads them (vectors cached)."""
    engine = make_engine(index_dir=index_dir, embedder=CachedEmbedder(make_embedder()))
    t0 = time.perf_counter()
    outcomes = engine.ingest_paths(list(paths))
    took = time.perf_counter() - t0
    refused = [o for o in outcomes if o.status == "refused"]
    for o in refused:
        print(f"  refused {Path(o.source).name}: {o.error_code} {o.error_detail}")
    return engine, took


def print_report(title: str, report: EvalReport, *, order: Sequence[str]) -> None:
    print(title)
    for split in order:
        if any(r.split == split for r in report.results):
            print(f" [{split}]")
            print(report.table(split=split))
    lat = sorted(r.latency_ms for r in report.results)
    if lat:
        print(
            f"  ask latency p50 {statistics.median(lat):.0f} ms  p95 {lat[int(0.95 * (len(lat) - 1))]:.0f} ms"
        )
    if report.unresolved:
        print(f"  (labels not found in the index: {', '.join(report.unresolved[:20])})")


def dump(report: EvalReport, path: Path | None, *, splits: set[str]) -> None:
    """Per-question results of the tuned splits only (held-out questions are never inspected one by one)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in report.results:
            if r.split in splits:
                fh.write(json.dumps(r.__dict__, ensure_ascii=False) + "\n")


def regs_questions() -> list[LabelledQuestion]:
    questions: list[LabelledQuestion] = []
    for path in sorted(REGS.glob("questions-*.jsonl")):
        questions.extend(load_labelled(path))
    return questions


def run_regs(dump_dir: Path | None) -> EvalReport | None:
    questions = regs_questions()
    if not questions:
        print("regs: no questions yet")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        engine, _took = product_engine(Path(tmp), [REGS / "docs"])
        snap = engine._snapshot
        print(f"regs: {len(snap.docs)} documents, {len(snap.units)} articles, {len(snap.chunks)} passages")
        report = evaluate(engine, questions)
    print_report("regs (bench/regs):", report, order=["tune", "heldout"])
    dump(report, dump_dir / "regs.jsonl" if dump_dir else None, splits={"tune"})
    return report


def run_samples(dump_dir: Path | None) -> None:
    import knowledge

    questions = [*load_labelled(DEV_SET)]
    for q in questions:
        q.split = "dev"
    val = load_labelled(VAL_SET)
    for q in val:
        q.split = "val"
    with tempfile.TemporaryDirectory() as tmp:
        engine, _ = product_engine(Path(tmp), knowledge.sample_corpus_paths())
        report = evaluate(engine, questions + val)
    print_report("samples (knowledge/samples, dev tuned, val held out):", report, order=["dev", "val"])
    dump(report, dump_dir / "samples.jsonl" if dump_dir else None, splits={"dev"})


def alqac_questions(laws: set[str] | None = None) -> list[LabelledQuestion]:
    """ALQAC questions as labelled questions: each relevant article is an acceptable place of one part."""
    raw = {}
    with (ALQAC_CORPUS.parent / "questions.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            raw[row["qid"]] = row
    out = []
    for q in load_questions():
        kind = {"Đúng/Sai": "true_false", "Trắc nghiệm": "choice", "Tự luận": "essay"}.get(
            raw[q.qid].get("question_type") or "",
            "statement" if "statement" in str(raw[q.qid].get("question_type")) else "question",
        )
        places = [Place(Path(law_file_name(law)).stem, article) for law, article in sorted(q.relevant)]
        gold = {law for law, _ in q.relevant}
        if laws is not None and not gold <= laws:
            places = []  # its law is not loaded: the question is not answerable from this index
            kind = "withheld"
        out.append(LabelledQuestion(q.qid, q.text, kind, [places] if places else [], split=q.split))
    return out


def bm25_baseline(questions: list[LabelledQuestion]) -> dict[str, float]:
    """Plain BM25 over pyvi words at article level (no accent folding, no fusion), same questions."""
    with ALQAC_CORPUS.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    keys = [(Path(law_file_name(r["law_id"])).stem, str(r["article_id"])) for r in rows]
    field = BM25Field([analyse(f"{r['title']}\n{r.get('text') or ''}").words for r in rows])
    hits1 = hits5 = 0
    rr = 0.0
    for q in questions:
        gold = {(p.doc, p.article) for part in q.parts for p in part}
        top = np.argsort(-field.score(analyse(q.question).words))[:10]
        rank = next((i for i, idx in enumerate(top) if keys[idx] in gold), None)
        hits1 += rank is not None and rank < 1
        hits5 += rank is not None and rank < 5
        rr += 1 / (rank + 1) if rank is not None else 0.0
    n = max(len(questions), 1)
    return {"R@1": hits1 / n, "R@5": hits5 / n, "MRR@10": rr / n}


def run_alqac(dump_dir: Path | None) -> None:
    questions = alqac_questions()
    with tempfile.TemporaryDirectory() as tmp:
        write_law_files(Path(tmp) / "laws")
        engine, took = product_engine(Path(tmp) / "index", [Path(tmp) / "laws"])
        snap = engine._snapshot
        print(
            f"ALQAC: {len(snap.docs)} laws, {len(snap.units)} articles, {len(snap.chunks)} passages; "
            f"ingest {took:.0f} s (cached vectors); peak RSS {peak_mb():.0f} MB"
        )
        report = evaluate(engine, questions)
    print_report("ALQAC through canbo ingest + QAEngine.ask:", report, order=["dev", "test"])
    for split in ("dev", "test"):
        base = bm25_baseline([q for q in questions if q.split == split])
        print(f"  plain BM25 [{split}]: " + "  ".join(f"{k} {v:.3f}" for k, v in base.items()))
    dump(report, dump_dir / "alqac.jsonl" if dump_dir else None, splits={"dev"})


def run_alqac_refusal(dump_dir: Path | None) -> None:
    """The 23 laws in two halves, each loaded alone: questions on the other half's laws should be refused."""
    with ALQAC_CORPUS.open(encoding="utf-8") as fh:
        laws = sorted({json.loads(line)["law_id"] for line in fh})
    halves = [set(laws[0::2]), set(laws[1::2])]
    results = []
    for half in halves:
        with tempfile.TemporaryDirectory() as tmp:
            write_law_files(Path(tmp) / "laws", laws=half)
            engine, _ = product_engine(Path(tmp) / "index", [Path(tmp) / "laws"])
            questions = alqac_questions(half)
            report = evaluate(engine, questions)
            results.extend(report.results)
    merged = EvalReport(results)
    print(f"ALQAC refusal check ({len(halves[0])} + {len(halves[1])} laws, each half loaded alone):")
    for split in ("dev", "test"):
        loaded = merged.figures(split=split)
        withheld = merged.figures(split=split, kind="withheld")
        print(
            f"  [{split}] withheld-law questions {withheld.unanswerable}: refused {withheld.unanswerable_refused:.1%}"
            f"{f' (uncertain {withheld.unanswerable_uncertain:.1%})' if withheld.unanswerable_uncertain else ''}; "
            f"loaded-law questions {loaded.answerable}: wrongly refused {loaded.answerable_refused:.1%}, "
            f"R@5 {loaded.recall_at_5:.3f}"
        )
    dump(merged, dump_dir / "alqac_refusal.jsonl" if dump_dir else None, splits={"dev"})


def run_speed() -> None:
    """ask latency on a 5,000-article index (ALQAC plus copies of some laws under other names)."""
    questions = [q.question for q in alqac_questions()][:300]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "laws"
        names = write_law_files(folder)
        with ALQAC_CORPUS.open(encoding="utf-8") as fh:
            per_law: dict[str, int] = {}
            for line in fh:
                law = json.loads(line)["law_id"]
                per_law[law] = per_law.get(law, 0) + 1
        need = 5000 - sum(per_law.values())
        for name, law in sorted(names.items(), key=lambda kv: -per_law[kv[1]]):
            if need <= 0:
                break
            text = (folder / name).read_text(encoding="utf-8")
            (folder / f"copy-{name}").write_text(
                f"{law.upper()} (BẢN SAO)\n" + text.split("\n", 1)[1], "utf-8"
            )
            need -= per_law[law]
        engine, _ = product_engine(Path(tmp) / "index", [folder])
        snap = engine._snapshot
        print(f"Speed: index of {len(snap.units)} articles / {len(snap.chunks)} passages")
        for q in questions[:20]:
            engine.ask(q)
        lat = []
        for q in questions:
            t0 = time.perf_counter()
            engine.ask(q)
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        inner = getattr(engine.embedder, "inner", engine.embedder)
        by_threads = dict(sorted(getattr(inner, "queries_by_threads", {}).items()))
        q_lat = []
        for q in questions[:100]:
            t0 = time.perf_counter()
            engine.embedder.embed_query(q)
            q_lat.append((time.perf_counter() - t0) * 1000)
        print(
            f"  ask warm over {len(lat)} q: p50 {statistics.median(lat):.0f} ms  p95 {lat[int(0.95 * len(lat))]:.0f} ms"
            f"  (query embedding alone p50 {statistics.median(q_lat):.0f} ms); peak RSS {peak_mb():.0f} MB"
        )
        print(f"  questions embedded with n threads (n: count, warm-up included): {by_threads}")
    run_ingest_throughput()


def run_ingest_throughput() -> None:
    """`canbo ingest` of three laws with an uncached model: tokens/s, and the model's own share of the time."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "laws"
        write_law_files(folder, laws={"Luật Viên chức 2010", "Luật Cư trú 2020", "Luật Thanh niên 2020"})
        raw = make_embedder()
        timed = _TimedEmbedder(raw)
        engine = make_engine(index_dir=Path(tmp) / "index", embedder=timed)
        t0 = time.perf_counter()
        engine.ingest_paths([folder])
        full = time.perf_counter() - t0
        snap = engine._snapshot
        print(
            f"Ingest: {len(snap.docs)} files, {len(snap.units)} articles, {len(snap.chunks)} passages, "
            f"{timed.tokens} tokens in {full:.1f} s = {timed.tokens / full:.0f} tokens/s "
            f"({len(snap.units) / full:.1f} articles/s); the model's own time {timed.seconds:.1f} s "
            f"({timed.seconds / full:.0%} of the ingest)"
        )


class _TimedEmbedder:
    """The real embedder, with the time spent inside it and the tokens it read."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.dim = inner.dim  # type: ignore[attr-defined]
        self.seconds = 0.0
        self.tokens = 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.inner.embed_passages(texts)  # type: ignore[attr-defined]
        self.seconds += time.perf_counter() - t0
        self.tokens += sum(self.inner.count_tokens(t) for t in texts)  # type: ignore[attr-defined]
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)  # type: ignore[attr-defined]

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for name in ("regs", "samples", "alqac", "refusal", "speed"):
        parser.add_argument(f"--{name}", action="store_true")
    parser.add_argument(
        "--dump", type=Path, default=None, help="write per-question results of tuned splits here"
    )
    args = parser.parse_args()
    everything = not (args.regs or args.samples or args.alqac or args.refusal or args.speed)
    print(
        f"# retrieval bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f})"
    )
    print(f"params: {RankingParams()}")
    if everything or args.regs:
        run_regs(args.dump)
    if everything or args.samples:
        run_samples(args.dump)
    if everything or args.alqac:
        run_alqac(args.dump)
    if everything or args.refusal:
        run_alqac_refusal(args.dump)
    if everything or args.speed:
        run_speed()
    print(f"peak RSS {peak_mb():.0f} MB; load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
