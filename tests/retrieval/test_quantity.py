"""The kind of number a question asks for, and a quoted khoản holding a number of another kind counting as
holding none (over the real ingest path and `QAEngine.ask`)."""

from __future__ import annotations

import pytest

from retrieval import QAEngine, make_engine
from retrieval.embedding import Embedder
from retrieval.quantity import asked_quantity, states_quantity

DOC = """ỦY BAN NHÂN DÂN TỈNH MẪU
Số: 77/2025/QĐ-UBND
Tỉnh Mẫu, ngày 02 tháng 3 năm 2025

QUYẾT ĐỊNH
về chế độ tập sự đối với công chức cấp xã

Điều 5. Chế độ của người tập sự
1. Người tập sự được hưởng 85% mức lương bậc 1 của ngạch tương ứng với trình độ đào tạo.
2. Thời gian tập sự của công chức cấp xã là 12 tháng.

Điều 6. Người hướng dẫn tập sự
Người đứng đầu cơ quan cử 01 công chức cùng ngạch hướng dẫn người tập sự.
"""


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Biên bản họp phải lưu giữ trong bao nhiêu năm?", "time"),
        ("thoi gian tap su la may thang", "time"),
        ("Bao lâu thì được xét nâng lương?", "time"),
        ("Tuổi bổ nhiệm lần đầu tối đa là bao nhiêu tuổi?", "age"),
        ("Người tập sự được hưởng bao nhiêu phần trăm lương?", "percent"),
        ("Tỷ lệ cán bộ nữ trong quy hoạch là bao nhiêu?", "percent"),
        ("Hệ số lương chuyên viên chính bậc 1 là bao nhiêu?", "coefficient"),
        ("Phiếu đăng ký dự tuyển dùng theo mẫu số mấy?", "form"),
        ("Sáng kiến được cộng bao nhiêu điểm?", "points"),
        ("Mỗi ban thường vụ có ít nhất mấy ủy viên dưới 40 tuổi?", None),
        ("Hội đồng gồm bao nhiêu thành viên?", None),
    ],
)
def test_the_kind_of_number_asked_for(question: str, kind: str | None) -> None:
    assert asked_quantity(question) == kind


@pytest.mark.parametrize(
    ("text", "kind", "states"),
    [
        ("trong thời hạn 05 ngày làm việc", "time", True),
        ("đánh giá định kỳ hằng năm", "time", True),
        ("được hưởng 85% mức lương bậc 1", "time", False),
        ("được hưởng 85% mức lương bậc 1", "percent", True),
        ("được hưởng 85% mức lương bậc 1", "coefficient", False),
        ("hệ số lương 4,40", "coefficient", True),
        ("không quá 40 tuổi", "age", True),
        ("theo Mẫu số 02 ban hành kèm theo", "form", True),
        ("theo mẫu do Ban Tổ chức ban hành", "form", False),
    ],
)
def test_a_text_states_a_quantity_of_the_kind(text: str, kind: str, states: bool) -> None:
    assert states_quantity(text, kind) is states


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, e5: Embedder) -> QAEngine:
    root = tmp_path_factory.mktemp("quantity")
    docs = root / "docs"
    docs.mkdir()
    (docs / "qd-77-2025.txt").write_text(DOC, encoding="utf-8")
    engine = make_engine(index_dir=root / "index", embedder=e5)
    assert [o.status for o in engine.ingest_paths([docs])] == ["added"]
    return engine


def test_a_number_of_the_kind_asked_is_quoted(engine: QAEngine) -> None:
    answer = engine.ask("Người tập sự được hưởng bao nhiêu phần trăm mức lương bậc 1?")
    assert answer.features["number_gap"] == 0.0
    assert answer.found and "85%" in answer.answer


def test_a_number_of_another_kind_does_not_answer_the_number_asked(engine: QAEngine) -> None:
    # Article 5 holds "85%" and "12 tháng" but no coefficient: the number asked for is not there.
    answer = engine.ask("Hệ số lương của người tập sự công chức cấp xã là bao nhiêu?")
    assert answer.features["number_gap"] == 1.0
