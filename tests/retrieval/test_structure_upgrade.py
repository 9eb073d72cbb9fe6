"""An index built by an older structure version, opened by this one (retrieval.upgrades).

A real index is built, then rewritten as the code before per-chunk attachment labels wrote it
(tests/retrieval/old_index.py, straight through Chroma). On open, a document without attached texts is exact as
stored and is only stamped with the current version; a decision issuing two texts cannot be put right from
what the index stores, so it is named as to be loaded again — and loading the same file again replaces it
(same document, as many chunks as a fresh load, no duplicates) and cites each text by its own title.
"""

from __future__ import annotations

from pathlib import Path

from retrieval import documents_to_reload, make_engine
from retrieval.embedding import Embedder
from retrieval.upgrades import RELOAD_ATTACHMENT_LABELS, STRUCTURE_VERSION
from tests.retrieval.old_index import add_chunks, chunk_count, registry_metadata, write_as_version_1
from tests.retrieval.test_attached_citations import ISSUED_WITH, QUESTION, TWO_ATTACHED

PLAIN = (
    "ỦY BAN NHÂN DÂN TỈNH HÀ NAM\nSố: 78/QĐ-UBND\t\tHà Nam, ngày 3 tháng 6 năm 2024\n\n"
    "QUYẾT ĐỊNH\nVề khen thưởng công chức hằng năm\n\n"
    "Điều 1. Khen thưởng\nCông chức hoàn thành xuất sắc nhiệm vụ hai năm liền được tặng giấy khen.\n\n"
    "Điều 2. Hiệu lực\nQuyết định này có hiệu lực từ ngày ký.\n"
)
SECOND_TEXT = "Theo Điều 4 Hướng dẫn chấm điểm công chức hằng quý " + ISSUED_WITH
TWO = "hai-van-ban.txt"


def _files(tmp_path: Path) -> tuple[Path, Path]:
    two, plain = tmp_path / TWO, tmp_path / "khen-thuong.txt"
    two.write_text(TWO_ATTACHED, encoding="utf-8")
    plain.write_text(PLAIN, encoding="utf-8")
    return two, plain


def _old_index(tmp_path: Path, e5: Embedder) -> tuple[Path, Path, Path, int]:
    """Both files loaded, then the index rewritten as version 1; (index, two, plain, chunks of a fresh load)."""
    index = tmp_path / "index"
    two, plain = _files(tmp_path)
    fresh = make_engine(index_dir=index, embedder=e5)
    assert [o.status for o in fresh.ingest_paths([two, plain])] == ["added", "added"]
    assert fresh.ask(QUESTION).answer.startswith(SECOND_TEXT)
    chunks = chunk_count(index)
    write_as_version_1(index)
    return index, two, plain, chunks


def test_a_decision_with_several_attached_texts_is_named_and_a_plain_one_is_stamped(
    tmp_path: Path, e5: Embedder
) -> None:
    index, _two, _plain, _ = _old_index(tmp_path, e5)
    assert "structure" not in registry_metadata(index, "78-qd-ubnd-2024")
    # Read from the chunks before this version has opened the index (no model, nothing written)…
    assert [d.source_name for d in documents_to_reload(index_dir=index)] == [TWO]
    assert "structure" not in registry_metadata(index, "78-qd-ubnd-2024")

    engine = make_engine(index_dir=index, embedder=e5)

    docs = {d.source_name: d for d in engine.documents()}
    assert docs[TWO].reload_reason == RELOAD_ATTACHMENT_LABELS
    assert docs["khen-thuong.txt"].reload_reason is None
    # The plain decision stores exactly what this version would: stamped in place, nothing else rewritten.
    assert registry_metadata(index, docs["khen-thuong.txt"].doc_id)["structure"] == STRUCTURE_VERSION
    stale = registry_metadata(index, docs[TWO].doc_id)
    assert (stale["structure"], stale["reload"]) == (1, RELOAD_ATTACHMENT_LABELS)
    # …and from the registry once it has.
    assert [(d.source_name, d.reload_reason) for d in documents_to_reload(index_dir=index)] == [
        (TWO, RELOAD_ATTACHMENT_LABELS)
    ]
    # What the operator is warned of: the old labels cite the second text by the first text's title.
    old = engine.ask(QUESTION)
    assert old.answer.startswith("Theo Điều 4 Quy định về tuyển dụng công chức "), old.answer
    # Reopened, the stamp holds and the stale document is still named.
    again = {d.source_name: d.reload_reason for d in make_engine(index_dir=index, embedder=e5).documents()}
    assert again == {TWO: RELOAD_ATTACHMENT_LABELS, "khen-thuong.txt": None}


def test_loading_the_same_file_again_replaces_the_stale_document_without_duplicates(
    tmp_path: Path, e5: Embedder
) -> None:
    index, two, plain, fresh_chunks = _old_index(tmp_path, e5)
    engine = make_engine(index_dir=index, embedder=e5)

    outcomes = engine.ingest_paths([two, plain])

    assert [o.status for o in outcomes] == ["updated", "unchanged"]  # the stamped one is current
    assert [d.reload_reason for d in engine.documents()] == [None, None]
    assert len(engine.documents()) == 2 and chunk_count(index) == fresh_chunks
    assert engine.ask(QUESTION).answer.startswith(SECOND_TEXT)
    assert registry_metadata(index, outcomes[0].document.doc_id)["structure"] == STRUCTURE_VERSION  # type: ignore[union-attr]
    reopened = make_engine(index_dir=index, embedder=e5)
    assert [d.reload_reason for d in reopened.documents()] == [None, None]
    assert reopened.ask(QUESTION).answer.startswith(SECOND_TEXT)
    assert [o.status for o in reopened.ingest_paths([two])] == ["unchanged"]
    assert documents_to_reload(index_dir=index) == []


def test_an_interrupted_reload_keeps_the_new_chunks_only(tmp_path: Path, e5: Embedder) -> None:
    """The old chunks of a re-load that stopped before removing them have the same file digest as the new
    ones: the next open tells them apart by their stamps and removes them."""
    index = tmp_path / "index"
    two, _plain = _files(tmp_path)
    make_engine(index_dir=index, embedder=e5).ingest_paths([two])
    fresh_chunks = chunk_count(index)
    old = write_as_version_1(index)
    assert [o.status for o in make_engine(index_dir=index, embedder=e5).ingest_paths([two])] == ["updated"]
    add_chunks(index, old)  # as if the update had stopped before deleting them
    assert chunk_count(index) == 2 * fresh_chunks

    engine = make_engine(index_dir=index, embedder=e5)

    assert chunk_count(index) == fresh_chunks
    assert [d.reload_reason for d in engine.documents()] == [None]
    assert engine.ask(QUESTION).answer.startswith(SECOND_TEXT)
    first = engine.ask("Hội đồng tuyển dụng công chức gồm bao nhiêu thành viên?")
    assert first.answer.startswith("Theo Điều 2 Quy định về tuyển dụng công chức " + ISSUED_WITH), (
        first.answer
    )
