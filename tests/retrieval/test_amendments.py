"""A "sửa đổi, bổ sung" document over the real ingest path: its new text answers, the original article is
cited with the amendment named, and a question asking how the rule first read gets the original first."""

from __future__ import annotations

import pytest

from retrieval import QAEngine, make_engine
from retrieval.embedding import Embedder

ORIGINAL = """ĐẢNG BỘ TỈNH MẪU
BAN THƯỜNG VỤ TỈNH ỦY
Số: 30-QĐ/TU
Tỉnh Mẫu, ngày 21 tháng 8 năm 2023

QUY ĐỊNH
về từ chức đối với cán bộ thuộc diện Ban Thường vụ Tỉnh ủy quản lý

Điều 1. Phạm vi điều chỉnh
Quy định này quy định việc xem xét cho từ chức đối với cán bộ lãnh đạo, quản lý thuộc diện Ban Thường vụ Tỉnh ủy quản lý.

Điều 2. Thời hạn xem xét đơn từ chức
1. Cán bộ có nguyện vọng từ chức phải có đơn gửi cơ quan, đơn vị nơi công tác.
2. Trong thời hạn 15 ngày làm việc kể từ ngày nhận được đơn, tập thể lãnh đạo cơ quan phải thảo luận và có văn bản đề nghị gửi Ban Tổ chức Tỉnh ủy.

Điều 3. Bố trí công tác sau khi từ chức
Cán bộ sau khi từ chức được bố trí công tác phù hợp với năng lực và không được giới thiệu vào chức vụ cao hơn trong thời hạn 24 tháng.
"""

AMENDING = """ĐẢNG BỘ TỈNH MẪU
BAN THƯỜNG VỤ TỈNH ỦY
Số: 44-QĐ/TU
Tỉnh Mẫu, ngày 12 tháng 6 năm 2025

QUY ĐỊNH
sửa đổi, bổ sung một số điều của Quy định số 30-QĐ/TU, ngày 21/8/2023 về từ chức đối với cán bộ

Điều 1. Sửa đổi, bổ sung một số điều của Quy định số 30-QĐ/TU
1. Sửa đổi khoản 2 Điều 2 như sau:
"2. Trong thời hạn 10 ngày làm việc kể từ ngày nhận được đơn, tập thể lãnh đạo cơ quan phải thảo luận, biểu quyết bằng phiếu kín và có văn bản đề nghị gửi Ban Tổ chức Tỉnh ủy."

Điều 2. Hiệu lực thi hành
Quy định này có hiệu lực kể từ ngày ký.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, e5: Embedder) -> QAEngine:
    root = tmp_path_factory.mktemp("amend")
    docs = root / "docs"
    docs.mkdir()
    (docs / "qd-30-2023.txt").write_text(ORIGINAL, encoding="utf-8")
    (docs / "qd-44-2025.txt").write_text(AMENDING, encoding="utf-8")
    engine = make_engine(index_dir=root / "index", embedder=e5)
    outcomes = engine.ingest_paths([docs])
    assert sorted(o.status for o in outcomes) == ["added", "added"]
    return engine


def test_the_amending_text_answers_the_current_rule(engine: QAEngine) -> None:
    answer = engine.ask("Nhận đơn từ chức thì trong bao nhiêu ngày tập thể lãnh đạo phải có văn bản đề nghị?")
    assert answer.found
    top = answer.citations[0]
    assert top.doc_number == "44-QĐ/TU"
    assert "10 ngày làm việc" in answer.answer and "15 ngày làm việc" not in answer.answer.split("\n")[0]


@pytest.mark.parametrize(
    "question",
    [
        "Trước khi sửa đổi, đơn từ chức phải được tập thể lãnh đạo xem xét trong bao nhiêu ngày?",
        "Theo quy định năm 2023, nhận đơn từ chức thì trong bao nhiêu ngày phải có văn bản đề nghị?",
    ],
)
def test_asking_how_the_rule_first_read_gets_the_original_with_the_amendment_named(
    engine: QAEngine, question: str
) -> None:
    answer = engine.ask(question)
    top = answer.ranked[0]
    assert (top.doc_number, top.article) == ("30-QĐ/TU", 2)
    assert top.amended_by and "44-QĐ/TU" in top.amended_by[0]
    if answer.found:
        assert "15 ngày làm việc" in answer.answer
        assert "đã được sửa đổi, bổ sung" in answer.answer


def test_the_amending_documents_year_asks_for_the_current_rule(engine: QAEngine) -> None:
    answer = engine.ask(
        "Theo quy định năm 2025, nhận đơn từ chức thì bao nhiêu ngày phải có văn bản đề nghị?"
    )
    assert answer.ranked[0].doc_number == "44-QĐ/TU"
