"""Two-letter abbreviations read from the loaded texts' own words, and the text in force cited before the one
it replaced unless the question asks for the old one (over the real ingest path and `QAEngine.ask`)."""

from __future__ import annotations

import pytest

from retrieval import QAEngine, make_engine
from retrieval.analysis import DiacriticRestorer
from retrieval.embedding import Embedder
from retrieval.query import asks_old

OLD = """SỞ NỘI VỤ TỈNH MẪU
Số: 1120/QĐ-SNV
Tỉnh Mẫu, ngày 25 tháng 02 năm 2020

QUY ĐỊNH
về công tác thi đua, khen thưởng trong cơ quan Sở

Điều 6. Tỷ lệ danh hiệu Chiến sĩ thi đua cơ sở
Số cá nhân được đề nghị tặng danh hiệu Chiến sĩ thi đua cơ sở không quá 15% tổng số cá nhân đạt danh hiệu
Lao động tiên tiến của phòng.
"""

NEW = """SỞ NỘI VỤ TỈNH MẪU
Số: 845/QĐ-SNV
Tỉnh Mẫu, ngày 10 tháng 01 năm 2025

QUY ĐỊNH
về công tác thi đua, khen thưởng trong cơ quan Sở

Điều 6. Tỷ lệ danh hiệu Chiến sĩ thi đua cơ sở
Số cá nhân được đề nghị tặng danh hiệu Chiến sĩ thi đua cơ sở không quá 30% tổng số cá nhân đạt danh hiệu
Lao động tiên tiến, tính chung trong toàn cơ quan Sở.

Điều 14. Hội đồng thi đua, khen thưởng
1. Hội đồng thi đua, khen thưởng Sở gồm Chủ tịch Hội đồng là Giám đốc Sở và các thành viên.
2. Hội đồng họp khi có ít nhất hai phần ba tổng số thành viên dự; thành viên vắng mặt gửi ý kiến bằng văn bản.
3. Thành viên Hội đồng chịu trách nhiệm về ý kiến của mình.

Điều 15. Ban Thường vụ Đảng ủy
Ban Thường vụ Đảng ủy Sở cho ý kiến về danh sách đề nghị khen thưởng trước khi trình Hội đồng.

Điều 16. Trách nhiệm của Văn phòng Sở
Văn phòng Sở chịu trách nhiệm tổng hợp hồ sơ đề nghị khen thưởng và lưu trữ hồ sơ khen thưởng.

Điều 20. Hiệu lực thi hành
Quy định này có hiệu lực từ ngày ký và thay thế Quy định số 1120/QĐ-SNV ngày 25 tháng 02 năm 2020 của Giám đốc Sở.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, e5: Embedder) -> QAEngine:
    root = tmp_path_factory.mktemp("versions")
    docs = root / "docs"
    docs.mkdir()
    (docs / "qd-1120-2020.txt").write_text(OLD, encoding="utf-8")
    (docs / "qd-845-2025.txt").write_text(NEW, encoding="utf-8")
    engine = make_engine(index_dir=root / "index", embedder=e5)
    assert sorted(o.status for o in engine.ingest_paths([docs])) == ["added", "added"]
    return engine


def test_initials_stand_for_the_word_of_the_texts_that_fits_between_the_neighbours() -> None:
    restorer = DiacriticRestorer(
        [],
        words=["hội_đồng"] * 5
        + ["hoạt_động"] * 3
        + ["thường_vụ"] * 9
        + ["thành_viên"] * 4
        + ["thông_tư"] * 3,
    )
    assert (
        restorer.expand_acronyms("HĐ họp có bao nhiêu TV dự?")
        == "HĐ hội đồng họp có bao nhiêu TV thường vụ dự?"
    )
    # A code keeps its letters; a dictionary abbreviation (UBND) and a word seen fewer than 3 times do not grow.
    assert restorer.expand_acronyms("Theo 01/2023/TT-BNV của UBND") == "Theo 01/2023/TT-BNV của UBND"
    assert DiacriticRestorer([], words=["hội_đồng"] * 2).expand_acronyms("HĐ họp") == "HĐ họp"


def test_a_question_in_initials_finds_the_article_they_stand_for(engine: QAEngine) -> None:
    answer = engine.ask("HĐ TĐKT Sở họp khi có ít nhất bao nhiêu TV dự?")
    assert answer.found and not answer.uncertain
    first = answer.citations[0]
    assert (first.doc_number, first.article) == ("845/QĐ-SNV", 14)
    assert "hai phần ba tổng số thành viên" in answer.answer
    # "TV" is what tells the members' duty (Điều 14) from the office's (Điều 16, also "chịu trách nhiệm").
    members = engine.ask("TV chịu trách nhiệm về việc gì?")
    assert members.found
    assert (members.citations[0].article, members.citations[0].clause) == (14, "3")


def test_the_text_in_force_comes_before_the_replaced_one(engine: QAEngine) -> None:
    # The old text shares the typed number (15%): still, the text in force is cited first.
    answer = engine.ask(
        "Tỷ lệ chiến sĩ thi đua cơ sở không quá 15% số lao động tiên tiến của phòng phải không?"
    )
    assert [c.doc_number for c in answer.ranked[:2]] == ["845/QĐ-SNV", "1120/QĐ-SNV"]


def test_recalling_the_old_rule_to_ask_the_new_one_gets_the_new_one(engine: QAEngine) -> None:
    asked_now = engine.ask(
        "Hồi trước chỉ được 15% thôi, giờ theo quy định mới thì tỷ lệ chiến sĩ thi đua cơ sở tối đa là bao nhiêu?"
    )
    assert asked_now.ranked[0].doc_number == "845/QĐ-SNV"
    asked_then = engine.ask("Hồi trước tỷ lệ chiến sĩ thi đua cơ sở tối đa là bao nhiêu?")
    assert asked_then.ranked[0].doc_number == "1120/QĐ-SNV"


@pytest.mark.parametrize(
    ("question", "old"),
    [
        ("Hồi trước chỉ được 15%, giờ theo quy định mới thì bao nhiêu?", False),
        ("Trước đây tỷ lệ là bao nhiêu, còn hiện nay thì sao?", False),
        ("Quy định hiện hành trước khi sửa đổi nói gì về tỷ lệ?", True),
        ("Theo quy định cũ thì tỷ lệ là bao nhiêu?", True),
        ("Hiện nay tỷ lệ là bao nhiêu?", False),
    ],
)
def test_the_last_version_cue_says_which_text_is_asked_for(question: str, old: bool) -> None:
    assert asks_old(question) is old
