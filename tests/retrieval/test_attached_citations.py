"""A text issued with a decision ("QUY ĐỊNH … (Ban hành kèm theo Quyết định số …)") is cited by its kind and
title, then the decision in parentheses: files written here, ingested through the real path (#11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import make_engine
from retrieval.embedding import Embedder

DECISION = """ỦY BAN NHÂN DÂN TỈNH HÀ NAM
Số: 77/QĐ-UBND\t\tHà Nam, ngày 3 tháng 6 năm 2024

QUYẾT ĐỊNH
Ban hành {kind_lower} {title_lower}

Điều 1. Ban hành kèm theo Quyết định này {kind_lower} {title_lower}.
Điều 2. Quyết định này có hiệu lực từ ngày ký.

"""
ATTACHED_TO = "(Ban hành kèm theo Quyết định số 77/QĐ-UBND ngày 3 tháng 6 năm 2024 của Ủy ban nhân dân tỉnh)"
ARTICLES = """Điều 1. Phạm vi áp dụng
Văn bản này áp dụng đối với công chức các sở, ban, ngành của tỉnh.

Điều 2. Nguyên tắc
Bảo đảm khách quan, công khai, đúng thẩm quyền.

Điều 3. Trách nhiệm của người đứng đầu
Người đứng đầu sở tổ chức thực hiện và chịu trách nhiệm về kết quả.

Điều 4. Chấm điểm kết quả nhiệm vụ
Công chức hoàn thành toàn bộ nhiệm vụ đúng hạn được chấm tối đa 70 điểm.
"""
SECTIONS = """I. MỤC ĐÍCH
Bảo đảm công chức các sở, ban, ngành của tỉnh thực hiện thống nhất.

II. NỘI DUNG
1. Chấm điểm kết quả nhiệm vụ
Công chức hoàn thành toàn bộ nhiệm vụ đúng hạn được chấm tối đa 70 điểm.
2. Tổng hợp kết quả
Văn phòng sở tổng hợp kết quả gửi Sở Nội vụ.
"""
QUESTION = "Công chức hoàn thành toàn bộ nhiệm vụ đúng hạn được chấm tối đa bao nhiêu điểm?"
ISSUED_WITH = "(ban hành kèm theo Quyết định số 77/QĐ-UBND ngày 3/6/2024"

CASES = {
    # the 3814-QĐ/TU shape: type line, then the title in lower case
    "quy-dinh": (
        DECISION.format(kind_lower="Quy định", title_lower="chấm điểm công chức hằng quý")
        + f"QUY ĐỊNH\nchấm điểm công chức hằng quý\n{ATTACHED_TO}\n\n{ARTICLES}",
        "Điều 4 Quy định chấm điểm công chức hằng quý " + ISSUED_WITH,
    ),
    # the 2750/QĐ-UBND shape: the title in sentence case between blank lines (its kind and title were lost)
    "sentence-case-title": (
        DECISION.format(kind_lower="Quy định", title_lower="tiêu chí chấm điểm công chức")
        + f"QUY ĐỊNH\n\nTiêu chí chấm điểm công chức theo kết quả nhiệm vụ\n\n{ATTACHED_TO}\n\n{ARTICLES}",
        "Điều 4 Quy định tiêu chí chấm điểm công chức theo kết quả nhiệm vụ " + ISSUED_WITH,
    ),
    "quy-che-in-capitals": (
        DECISION.format(kind_lower="Quy chế", title_lower="làm việc của các sở")
        + f"QUY CHẾ\nLÀM VIỆC CỦA CÁC SỞ, BAN, NGÀNH\n{ATTACHED_TO}\n\n{ARTICLES}",
        "Điều 4 Quy chế làm việc của các sở, ban, ngành " + ISSUED_WITH,
    ),
    "huong-dan-in-sections": (
        DECISION.format(kind_lower="Hướng dẫn", title_lower="chấm điểm công chức")
        + f"HƯỚNG DẪN\nchấm điểm công chức hằng quý\n{ATTACHED_TO}\n\n{SECTIONS}",
        "mục II.1 Hướng dẫn chấm điểm công chức hằng quý " + ISSUED_WITH,
    ),
    # the regulation saved in a file of its own, without its decision
    "saved-alone": (
        f"QUY ĐỊNH\nchấm điểm công chức hằng quý\n{ATTACHED_TO}\n\n{ARTICLES}",
        "Điều 4 Quy định chấm điểm công chức hằng quý " + ISSUED_WITH,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_attached_text_is_cited_by_its_kind_and_title(tmp_path: Path, e5: Embedder, case: str) -> None:
    text, cited = CASES[case]
    path = tmp_path / f"{case}.txt"
    path.write_text(text, encoding="utf-8")
    engine = make_engine(index_dir=tmp_path / "index", embedder=e5)
    assert [o.status for o in engine.ingest_paths([path])] == ["added"]

    answer = engine.ask(QUESTION)

    assert answer.found, answer.answer
    top = answer.citations[0]
    assert (top.doc_number, top.in_attachment) == ("77/QĐ-UBND", True)
    assert answer.answer.startswith(f"Theo {cited}"), answer.answer
    assert "tối đa 70 điểm" in answer.answer


@pytest.mark.parametrize(
    ("printed", "named"),
    [
        ("ỦY BAN NHÂN DÂN TỈNH HÀ NAM", "của Ủy ban nhân dân tỉnh Hà Nam"),
        ("TỈNH ỦY HÀ NAM", "của Tỉnh ủy Hà Nam"),
        ("TỈNH UỶ HÀ NAM", "của Tỉnh ủy Hà Nam"),  # the old tone placement
        ("BAN TỔ CHỨC TỈNH ỦY HÀ NAM", "của Ban Tổ chức Tỉnh ủy Hà Nam"),
    ],
)
def test_the_issuer_is_named_as_written_in_a_sentence(
    tmp_path: Path, e5: Embedder, printed: str, named: str
) -> None:
    """The issuer printed in capitals reads in the citation as in a sentence: the level in lower case, the
    place and a territorial committee («Tỉnh ủy») capitalised, never «Tỉnh Hà Nam» or «Tỉnh Ủy»."""
    text = (
        f"{printed}\nSố: 78/QĐ-UBND\t\tHà Nam, ngày 3 tháng 6 năm 2024\n\n"
        "QUYẾT ĐỊNH\nVề chấm điểm công chức hằng quý\n\n" + ARTICLES
    )
    path = tmp_path / "78.txt"
    path.write_text(text, encoding="utf-8")
    engine = make_engine(index_dir=tmp_path / "index", embedder=e5)
    assert [o.status for o in engine.ingest_paths([path])] == ["added"]

    answer = engine.ask(QUESTION)

    assert answer.found, answer.answer
    assert named in answer.answer, answer.answer
    assert "Tỉnh Hà Nam" not in answer.answer and "Tỉnh Ủy" not in answer.answer


TWO_ATTACHED = (
    DECISION.format(kind_lower="Quy định và Hướng dẫn", title_lower="về công chức")
    + f"QUY ĐỊNH\nvề tuyển dụng công chức\n{ATTACHED_TO}\n\n"
    "Điều 1. Phạm vi\nQuy định này áp dụng đối với việc tuyển dụng công chức các sở.\n\n"
    "Điều 2. Hội đồng tuyển dụng\nGiám đốc sở thành lập hội đồng tuyển dụng gồm năm thành viên.\n\n"
    f"HƯỚNG DẪN\nchấm điểm công chức hằng quý\n{ATTACHED_TO}\n\n{ARTICLES}"
)


def test_the_second_attached_text_is_cited_by_its_own_kind_and_title(tmp_path: Path, e5: Embedder) -> None:
    """A decision issuing two texts: a passage of the second is cited by the second's kind and title, not the
    first's, and its Điều 1 is not merged with the first text's Điều 1."""
    path = tmp_path / "hai-van-ban.txt"
    path.write_text(TWO_ATTACHED, encoding="utf-8")
    engine = make_engine(index_dir=tmp_path / "index", embedder=e5)
    assert [o.status for o in engine.ingest_paths([path])] == ["added"]

    answer = engine.ask(QUESTION)
    assert answer.found, answer.answer
    assert answer.answer.startswith("Theo Điều 4 Hướng dẫn chấm điểm công chức hằng quý " + ISSUED_WITH), (
        answer.answer
    )
    assert "tuyển dụng" not in answer.citations[0].text

    first = engine.ask("Hội đồng tuyển dụng công chức gồm bao nhiêu thành viên?")
    assert first.found, first.answer
    assert first.answer.startswith("Theo Điều 2 Quy định về tuyển dụng công chức " + ISSUED_WITH), (
        first.answer
    )
    assert [d.articles for d in engine.documents()] == [
        2 + 2 + 4
    ]  # the decision's, the Quy định's, the Hướng dẫn's
