"""Ingesting real files through the knowledge loader: folders, refusals, unchanged and changed files, dev set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import knowledge
from retrieval import QAEngine, make_engine
from retrieval.embedding import Embedder
from retrieval.evaluation import evaluate, load_questions

DEV_SET = Path(__file__).resolve().parents[2] / "bench" / "data" / "dev_questions.jsonl"

SECRET = """MẬT

BAN THƯỜNG VỤ THÀNH ỦY
Số 12-QĐ/TU\t\tHà Nội, ngày 2 tháng 3 năm 2024

QUY ĐỊNH
về một việc nội bộ

Điều 1. Phạm vi
Nội dung nội bộ không được phổ biến.
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    (root / "nested").mkdir()
    for i, path in enumerate(knowledge.sample_corpus_paths()):
        shutil.copy(path, (root / "nested" if i % 2 else root) / path.name)
    (root / "notes.exe").write_bytes(b"MZ\x90\x00binary")  # not a supported suffix: skipped in folders
    (root / "empty.txt").write_text("", encoding="utf-8")
    (root / ".hidden.txt").write_text("ignored", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def loaded(module_dir: Path, e5: Embedder, folder: Path) -> tuple[QAEngine, list]:
    engine = make_engine(index_dir=module_dir, embedder=e5)
    seen: list[tuple[int, int, str]] = []
    outcomes = engine.ingest_paths(
        [folder, folder / "missing.docx"], progress=lambda d, t, n: seen.append((d, t, n))
    )
    assert seen[-1][0] == seen[-1][1]
    return engine, outcomes


def test_folder_is_recursed_and_bad_files_do_not_stop_the_batch(loaded: tuple[QAEngine, list]) -> None:
    engine, outcomes = loaded
    by_name = {Path(o.source).name: o for o in outcomes}
    samples = {p.name for p in knowledge.sample_corpus_paths()}
    assert {n for n, o in by_name.items() if o.status == "added"} == samples
    assert by_name["empty.txt"].status == "refused" and by_name["empty.txt"].error_code == "empty"
    assert by_name["missing.docx"].error_code == "file_not_found"
    assert "notes.exe" not in by_name and ".hidden.txt" not in by_name
    assert len(engine.documents()) == len(samples)
    statuses = {d.number: (d.status, d.replaced_by) for d in engine.documents()}
    assert statuses["98-QĐ/TW"] == ("superseded", "65-QĐ/TW")
    assert all(d.is_sample for d in engine.documents())


def test_unchanged_files_are_skipped(loaded: tuple[QAEngine, list], folder: Path) -> None:
    engine, _ = loaded
    again = engine.ingest_paths([folder])
    assert {o.status for o in again if o.document is not None} == {"unchanged"}


def test_changed_file_replaces_its_chunks(loaded: tuple[QAEngine, list], folder: Path) -> None:
    engine, _ = loaded
    path = next(folder.rglob("qd-98-2017-luan-chuyen-can-bo.txt"))
    before = {d.doc_id: d.chunks for d in engine.documents()}
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "Điều 2: Mục đích", "Điều 2: Mục đích\nMục đích bổ sung về rèn luyện."
        )
        + "\n",
        encoding="utf-8",
    )
    outcome = engine.ingest_file(path)
    assert outcome.status == "updated" and outcome.document is not None
    assert outcome.document.chunks == before[outcome.document.doc_id]
    stored = [
        t
        for _, t, m, _ in engine.store.iter_chunks(with_embeddings=False)
        if m["doc_id"] == outcome.document.doc_id
    ]
    assert len(stored) == outcome.document.chunks
    assert any("Mục đích bổ sung về rèn luyện" in t for t in stored)


def test_classified_file_needs_permission(tmp_path: Path, e5: Embedder) -> None:
    path = tmp_path / "mat.txt"
    path.write_text(SECRET, encoding="utf-8")
    engine = make_engine(index_dir=tmp_path / "index", embedder=e5)
    refused = engine.ingest_file(path)
    assert refused.status == "refused" and refused.error_code == "classified" and refused.document is None
    assert engine.documents() == []
    assert engine.ingest_file(path, allow_classified=True).status == "added"


def test_too_large_file_is_refused_before_reading(tmp_path: Path, e5: Embedder) -> None:
    path = tmp_path / "big.txt"
    path.write_text("Điều 1. Nội dung\n" + "chữ " * 5000, encoding="utf-8")
    engine = make_engine(index_dir=tmp_path / "index", embedder=e5)
    outcome = engine.ingest_file(path, max_bytes=1000)
    assert outcome.status == "refused" and outcome.error_code == "file_too_large"


@pytest.mark.skipif(not DEV_SET.exists(), reason="bench/data/dev_questions.jsonl not present")
def test_dev_set_labels_resolve_in_the_loaded_texts(loaded: tuple[QAEngine, list]) -> None:
    """The shipped dev set still points at real passages; its figures are printed by bench/, not asserted."""
    engine, _ = loaded
    questions = load_questions(DEV_SET)
    report = evaluate(engine, questions)
    assert report.unresolved == []  # every labelled quote is found in the loaded texts
    assert [r.qid for r in report.results] == [q.qid for q in questions]
