"""The engine over a small real index (embedded Chroma, real e5-small): answers, status, sync, persistence."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from retrieval import QAEngine, make_engine
from retrieval.embedding import Embedder
from retrieval.errors import ChunkNotFound, DocumentNotFound, EmptyQuestion
from tests.retrieval.corpus import make_doc, monthly_evaluation, rotation_65, rotation_98


@pytest.fixture(scope="module")
def engine(module_dir: Path, e5: Embedder) -> QAEngine:
    engine = make_engine(index_dir=module_dir, embedder=e5)
    outcomes = engine.ingest_documents([rotation_98(), rotation_65(), monthly_evaluation()])
    assert [o.status for o in outcomes] == ["added", "added", "added"]
    return engine


def test_registry_lists_documents_with_status_computed_from_relations(engine: QAEngine) -> None:
    docs = {d.number: d for d in engine.documents()}
    assert set(docs) == {"98-QĐ/TW", "65-QĐ/TW", "1841-QĐ/TU"}
    assert docs["98-QĐ/TW"].status == "superseded"
    assert docs["98-QĐ/TW"].replaced_by == "65-QĐ/TW"
    assert docs["65-QĐ/TW"].status == "in_force"
    assert docs["65-QĐ/TW"].articles == 3
    assert docs["65-QĐ/TW"].chunks == 5


def test_answer_prefers_the_document_in_force_and_cites_it(engine: QAEngine) -> None:
    answer = engine.ask("Thời gian luân chuyển cán bộ ít nhất là bao lâu?")
    assert answer.found
    top = answer.citations[0]
    assert (top.doc_number, top.article, top.clause) == ("65-QĐ/TW", 1, "1")
    assert top.status == "in_force"
    assert answer.answer.startswith(
        "Theo khoản 1 Điều 1 Quy định số 65-QĐ/TW ngày 28/4/2022 của Bộ Chính trị"
    )
    assert "«Thời gian luân chuyển cán bộ ít nhất là 3 năm (36 tháng)" in answer.answer
    # the replaced text is still in the ranking behind the answer, marked as replaced
    superseded = [c for c in answer.ranked if c.doc_number == "98-QĐ/TW"]
    assert superseded and superseded[0].status == "superseded" and superseded[0].replaced_by == "65-QĐ/TW"
    assert answer.ranked[0].chunk_id == top.chunk_id
    payload = answer.to_json()
    assert payload["citations"][0]["issued"] == "2022-04-28"
    assert payload["citations"][0]["article"] == 1


def test_question_naming_the_old_number_gets_the_old_article_and_its_replacement(engine: QAEngine) -> None:
    answer = engine.ask("Theo Quy định 98-QĐ/TW, mỗi lần luân chuyển kéo dài bao lâu?")
    assert answer.ranked[0].doc_number == "98-QĐ/TW"
    assert answer.ranked[0].asked_old
    if answer.found:
        assert answer.answer.count("⚠️") == 1
        assert "đã được thay thế bởi Quy định số 65-QĐ/TW ngày 28/4/2022" in answer.answer


def test_attached_regulation_is_cited_as_attached(engine: QAEngine) -> None:
    answer = engine.ask("Ai quyết định mức xếp loại hằng tháng của công chức?")
    assert answer.found
    top = answer.citations[0]
    assert (top.doc_number, top.article, top.in_attachment) == ("1841-QĐ/TU", 2, True)
    assert (
        "Điều 2 Quy định về đánh giá, xếp loại cán bộ, công chức, viên chức hằng tháng (ban hành kèm theo "
        "Quyết định số 1841-QĐ/TU ngày 28/10/2021 của Thành ủy Hà Nội)" in answer.answer
    )


def test_question_without_diacritics_finds_the_article(engine: QAEngine) -> None:
    answer = engine.ask("ai quyet dinh muc xep loai hang thang")
    assert answer.found
    assert (answer.citations[0].doc_number, answer.citations[0].article) == ("1841-QĐ/TU", 2)


def test_abbreviations_are_expanded(engine: QAEngine) -> None:
    answer = engine.ask("UBND quận tổ chức đánh giá CC cấp xã thế nào?")
    assert answer.found
    assert (answer.citations[0].doc_number, answer.citations[0].article) == ("1841-QĐ/TU", 4)


def test_unrelated_question_is_refused_with_nearest_articles(engine: QAEngine) -> None:
    answer = engine.ask("Giá vé máy bay đi Đà Nẵng dịp Tết là bao nhiêu?")
    assert not answer.found
    assert answer.citations == []
    assert answer.nearest
    assert answer.answer.startswith("Không tìm thấy quy định phù hợp")
    assert answer.to_json()["found"] is False


def test_empty_question_is_a_clear_error(engine: QAEngine) -> None:
    with pytest.raises(EmptyQuestion) as err:
        engine.ask("   ")
    assert err.value.code == "empty_question"


def test_article_returns_the_whole_article(engine: QAEngine) -> None:
    citation, text = engine.article("65-qd-tw-2022:1")
    assert citation.clause is None and citation.article == 1  # the whole article, not the chunk's khoản
    assert text.startswith("Điều 1. Thời gian luân chuyển")
    assert text.count("Điều 1. Thời gian luân chuyển") == 1  # the heading once, though every chunk repeats it
    assert "ít nhất là 3 năm (36 tháng)" in text and "Trường hợp đặc biệt" in text
    with pytest.raises(ChunkNotFound):
        engine.article("no-such:0")


def test_concurrent_questions_give_the_same_answers(engine: QAEngine) -> None:
    questions = [
        "Thời gian luân chuyển cán bộ ít nhất là bao lâu?",
        "ai quyet dinh muc xep loai hang thang",
        "Loại A được bao nhiêu điểm?",
        "Có được tăng thêm cấp phó để bố trí cán bộ luân chuyển không?",
    ]
    expected = {q: engine.ask(q).citations[0].chunk_id for q in questions}
    results: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def worker(q: str) -> None:
        try:
            for _ in range(3):
                results.append((q, engine.ask(q).citations[0].chunk_id))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(q,)) for q in questions * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 24
    assert all(expected[q] == chunk for q, chunk in results)


def test_reopening_the_index_keeps_documents_and_answers(
    engine: QAEngine, module_dir: Path, e5: Embedder
) -> None:
    reopened = make_engine(index_dir=module_dir, embedder=e5)
    assert {d.doc_id for d in reopened.documents()} == {d.doc_id for d in engine.documents()}
    q = "Người đứng đầu giữ chức vụ quá mấy nhiệm kỳ thì phải luân chuyển?"
    assert reopened.ask(q).citations[0].chunk_id == engine.ask(q).citations[0].chunk_id == "65-qd-tw-2022:3"


def test_reingest_unchanged_changed_and_remove(tmp_path: Path, e5: Embedder) -> None:
    engine = make_engine(index_dir=tmp_path, embedder=e5)
    assert engine.ingest_document(rotation_65()).status == "added"
    assert engine.ingest_document(rotation_65()).status == "unchanged"
    changed = rotation_65()
    changed = replace(changed, source_sha256="changed")
    changed.chunks = [replace(c) for c in changed.chunks]
    changed.chunks[
        0
    ].text = "Thời gian luân chuyển cán bộ ít nhất là 5 năm (60 tháng) cho mỗi lần luân chuyển."
    assert engine.ingest_document(changed).status == "updated"
    answer = engine.ask("Thời gian luân chuyển cán bộ ít nhất là bao lâu?")
    assert "5 năm (60 tháng)" in answer.citations[0].text
    stored = list(engine.store.iter_chunks(with_embeddings=False))
    assert len(stored) == len(changed.chunks)  # no stale chunks of the old version
    assert not any("36 tháng" in text for _, text, _, _ in stored)

    reopened = make_engine(index_dir=tmp_path, embedder=e5)
    assert "5 năm (60 tháng)" in reopened.ask("Thời gian luân chuyển ít nhất bao lâu?").citations[0].text

    engine.ingest_document(monthly_evaluation())
    engine.remove_document("65-qd-tw-2022")
    answer = engine.ask("Thời gian luân chuyển cán bộ ít nhất là bao lâu?")
    assert all(c.doc_id != "65-qd-tw-2022" for c in answer.citations + answer.nearest)
    assert [d.doc_id for d in engine.documents()] == ["1841-qd-tu-2021"]
    with pytest.raises(DocumentNotFound):
        engine.remove_document("65-qd-tw-2022")
    assert [d.doc_id for d in make_engine(index_dir=tmp_path, embedder=e5).documents()] == ["1841-qd-tu-2021"]


def test_replacing_document_loaded_first_still_supersedes(tmp_path: Path, e5: Embedder) -> None:
    engine = make_engine(index_dir=tmp_path, embedder=e5)
    engine.ingest_document(rotation_65())
    outcome = engine.ingest_document(rotation_98())
    assert outcome.document is not None
    assert outcome.document.status == "superseded" and outcome.document.replaced_by == "65-QĐ/TW"


def test_mark_replaced_by_hand(tmp_path: Path, e5: Embedder) -> None:
    engine = make_engine(index_dir=tmp_path, embedder=e5)
    engine.ingest_document(monthly_evaluation())
    engine.mark_replaced("1841-qd-tu-2021", replaced_by="3251-QĐ/TU")
    answer = engine.ask("Loại A được bao nhiêu điểm trong đánh giá hằng tháng?")
    assert answer.found
    top = answer.citations[0]
    assert top.status == "superseded" and top.replaced_by == "3251-QĐ/TU"
    assert "đã được thay thế bởi 3251-QĐ/TU" in answer.answer
    info = make_engine(index_dir=tmp_path, embedder=e5).documents()[0]
    assert (info.status, info.replaced_by) == ("superseded", "3251-QĐ/TU")
    with pytest.raises(DocumentNotFound):
        engine.mark_replaced("nope", replaced_by="1-QĐ/TW")


def test_sample_documents_are_marked(tmp_path: Path, e5: Embedder) -> None:
    engine = make_engine(index_dir=tmp_path, embedder=e5)
    doc = make_doc(
        doc_id="s-1",
        number="7-HD/BTCTU",
        doc_type="HƯỚNG DẪN",
        title="về chương trình hành động",
        issuer="BAN TỔ CHỨC THÀNH ỦY HÀ NỘI",
        articles=[("Xác nhận", ["Chương trình hành động của cán bộ do người đứng đầu xác nhận."])],
        is_sample=True,
    )
    engine.ingest_document(doc)
    answer = engine.ask("Ai xác nhận chương trình hành động của cán bộ?")
    assert answer.found and answer.citations[0].is_sample
    assert "Hướng dẫn số 7-HD/BTCTU của Ban Tổ chức Thành ủy Hà Nội (văn bản mẫu)" in answer.answer


def test_empty_index_answers_that_nothing_is_loaded(tmp_path: Path, e5: Embedder) -> None:
    answer = make_engine(index_dir=tmp_path, embedder=e5).ask("Thời gian luân chuyển?")
    assert not answer.found and answer.citations == [] and "Chưa có văn bản nào" in answer.answer
