"""Answers lead with the piece that answers (over the real ingest path and `QAEngine.ask`): a question asking
several things quotes each part's own khoản, even when two parts fall in one article; a line that only
introduces a list is quoted with the list."""

from __future__ import annotations

import pytest

from retrieval import QAEngine
from retrieval.embedding import Embedder
from tests.retrieval.corpus import ingested

DISCIPLINE = """ỦY BAN NHÂN DÂN TỈNH MẪU
Số: 19/2023/QĐ-UBND
Tỉnh Mẫu, ngày 12 tháng 7 năm 2023

QUY ĐỊNH
về xử lý kỷ luật cán bộ, công chức, viên chức

Điều 12. Hội đồng kỷ luật
1. Hội đồng kỷ luật có 05 thành viên, gồm Chủ tịch Hội đồng là người đứng đầu cơ quan, một Ủy viên là đại
diện tổ chức công đoàn, một Ủy viên kiêm Thư ký và các Ủy viên khác.
2. Hội đồng kỷ luật làm việc theo nguyên tắc tập thể, kiến nghị theo đa số bằng hình thức bỏ phiếu kín.
3. Giấy triệu tập họp Hội đồng kỷ luật phải được gửi đến người vi phạm chậm nhất 07 ngày làm việc trước ngày
tổ chức cuộc họp.

Điều 13. Thời hiệu xử lý kỷ luật
Thời hiệu xử lý kỷ luật là 02 năm đối với hành vi vi phạm ít nghiêm trọng đến mức phải kỷ luật bằng hình
thức khiển trách; 05 năm đối với các hành vi vi phạm khác.

Điều 14. Tạm đình chỉ công tác
Thời hạn tạm đình chỉ công tác không quá 15 ngày, trường hợp cần thiết có thể kéo dài nhưng không quá 30 ngày.

Điều 15. Điều kiện bổ nhiệm lại
1. Cán bộ được xem xét bổ nhiệm lại khi có đủ các điều kiện sau:
a) Hoàn thành nhiệm vụ trong thời hạn giữ chức vụ;
b) Đáp ứng tiêu chuẩn chức vụ đang đảm nhiệm tại thời điểm xem xét bổ nhiệm lại;
c) Đủ sức khỏe để hoàn thành nhiệm vụ.
2. Cán bộ không đủ điều kiện bổ nhiệm lại thì bố trí công tác khác.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, e5: Embedder) -> QAEngine:
    return ingested(tmp_path_factory.mktemp("parts"), e5, {"qd-19-2023.txt": DISCIPLINE})


def test_two_parts_answered_by_two_khoan_of_one_article_quote_each_their_own(engine: QAEngine) -> None:
    answer = engine.ask(
        "Hội đồng kỷ luật có mấy thành viên, và giấy triệu tập họp phải gửi cho người vi phạm trước mấy ngày?",
        compose=False,
    )
    assert answer.found
    assert len(answer.parts) == 2, answer.answer
    first, second = answer.parts
    assert first["source"].startswith("khoản 1 Điều 12"), first
    assert second["source"].startswith("khoản 3 Điều 12"), second
    texts = [c.text for c in answer.citations]
    assert any("05 thành viên" in t for t in texts), texts
    assert any("chậm nhất 07 ngày làm việc" in t for t in texts), texts
    # Each part's quote is printed under that part, not the other's.
    one, two = answer.answer.split("\n\n2. ", 1)
    assert "05 thành viên" in one and "07 ngày làm việc" not in one
    assert "07 ngày làm việc" in two and "05 thành viên" not in two
    # The ranking keeps one line per article.
    assert len({(c.doc_id, c.article) for c in answer.ranked}) == len(answer.ranked)


def test_two_parts_in_two_articles(engine: QAEngine) -> None:
    answer = engine.ask(
        "Thời hiệu xử lý kỷ luật khiển trách là mấy năm, và tạm đình chỉ công tác tối đa bao nhiêu ngày?",
        compose=False,
    )
    assert answer.found and len(answer.parts) == 2, answer.answer
    assert answer.parts[0]["source"].startswith("Điều 13"), answer.parts[0]
    assert answer.parts[1]["source"].startswith("Điều 14"), answer.parts[1]


def test_a_line_introducing_a_list_is_quoted_with_the_list(engine: QAEngine) -> None:
    answer = engine.ask("Điều kiện để được bổ nhiệm lại gồm những gì?", compose=False)
    assert answer.found, answer.answer
    lead = answer.citations[0]
    assert (lead.article, lead.clause) == (15, "1"), (lead.article, lead.clause)
    for item in ("Hoàn thành nhiệm vụ trong thời hạn", "Đáp ứng tiêu chuẩn chức vụ", "Đủ sức khỏe"):
        assert item in lead.text, lead.text
    assert "bố trí công tác khác" not in lead.text  # the next khoản is not part of the list
    assert "Đủ sức khỏe" in answer.answer
