"""A question naming a document that is not loaded is told so and never answered confidently from another text;
the kind word before a cited number («Quyết định số …») is no concept; words such as «kỷ luật đối với» or
«Luật sư» are no law names (over the real ingest path and `QAEngine.ask`)."""

from __future__ import annotations

import pytest

from retrieval import QAEngine
from retrieval.analysis import question_terms, strip_diacritics, without_document_references
from retrieval.embedding import Embedder
from retrieval.ranking import _law_names
from tests.retrieval.corpus import ingested

LABOUR = """ỦY BAN NHÂN DÂN TỈNH MẪU
Số: 21/2024/QĐ-UBND
Tỉnh Mẫu, ngày 05 tháng 3 năm 2024

QUY ĐỊNH
về tuyển dụng và thử việc viên chức

Điều 5. Thời gian thử việc
Thời gian thử việc đối với viên chức quản lý không quá 60 ngày.

Điều 6. Trường hợp không xử lý kỷ luật
Không xử lý kỷ luật đối với người đang điều trị bệnh hiểm nghèo có xác nhận của cơ sở khám bệnh, chữa bệnh.
"""


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Không được kỷ luật đối với người mắc bệnh gì?", []),
        ("chưa có điều luật để áp dụng thì sao", []),
        ("Luật sư có quyền gì?", []),
        ("theo luật pháp hiện hành", []),
        ("kỷ luật Đảng viên thế nào", []),
        ("theo quy định của Luật Doanh nghiệp, Luật Quản lý vốn", ["doanh nghiep", "quan ly"]),
        ("Theo Bộ luật Hình sự năm 2017", ["hinh su"]),
        ("điều mấy của Bộ luật dân sự 2015", ["dan su"]),
        ("Luật cán bộ công chức quy định", ["can bo"]),
        ("theo luật Đất đai", ["dat dai"]),
        ("trừ những tội phạm mà Bộ luật này có quy định khác", []),
        ("được quy định trong Bộ luật nào?", []),
        ("theo quy định của Luật di sản văn hóa", ["di san"]),
        # typed in lower case, as on a phone
        ("Những hành động nào vi phạm luật an ninh mạng?", ["an ninh"]),
        ("theo luật viên chức thì được nghỉ mấy ngày", ["vien chuc"]),
        ("Theo luật về thời hạn, một tháng được tính là?", []),
        ("hội đồng có thể áp dụng luật quốc tế không", []),
        ("luật quy định thế nào về việc này", []),
        ("vi phạm chính sách, pháp luật về dân số", []),
        ("theo pháp luật hiện hành", []),
        ("luật hình sự là gì", []),
        ("quy định của luật áp dụng cho hợp đồng", []),
    ],
)
def test_law_names(text: str, names: list[str]) -> None:
    assert [key for _typed, key in _law_names(text)] == names


def test_law_names_are_shown_as_typed() -> None:
    assert _law_names("theo Luật Doanh nghiệp và Bộ luật Hình sự") == [
        ("Luật Doanh nghiệp", "doanh nghiep"),
        ("Bộ luật Hình sự", "hinh su"),
    ]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Luật cán bộ công chức thì quy định thế nào", ["Luật cán bộ công chức"]),
        ("vi phạm luật an ninh mạng khi đăng tin", ["Luật an ninh mạng"]),
        ("theo Luật Đất đai hiện hành", ["Luật Đất đai"]),
        ("Theo Bộ luật Hình sự năm 2017", ["Bộ luật Hình sự"]),
        ("Luật Thanh niên và luật Giáo dục đại học", ["Luật Thanh niên", "Luật Giáo dục đại học"]),
    ],
)
def test_a_law_name_is_shown_whole_up_to_where_the_sentence_goes_on(text: str, shown: list[str]) -> None:
    assert [typed for typed, _key in _law_names(text)] == shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Theo Quyết định số 99/2020/QĐ-UBND thì", "Theo 99/2020/QĐ-UBND thì"),
        ("Nghị định 118/2024/NĐ-CP quy định gì", "118/2024/NĐ-CP quy định gì"),
        ("Quy định 65 về luân chuyển", "Quy định 65 về luân chuyển"),  # a bare number may be a quantity
        ("kế hoạch 5 năm", "kế hoạch 5 năm"),
        ("quyết định kỷ luật trong 5 ngày", "quyết định kỷ luật trong 5 ngày"),
        ("Theo Kết luận số 21", "Theo 21"),
    ],
)
def test_document_kind_words_before_a_number_are_no_concepts(text: str, expected: str) -> None:
    assert " ".join(without_document_references(text).split()) == expected
    if text != expected:
        kinds = {"quyết định", "nghị định", "kết luận"}
        assert not kinds & {t.text for t in question_terms(text)}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, e5: Embedder) -> QAEngine:
    return ingested(tmp_path_factory.mktemp("named"), e5, {"qd-21-2024.txt": LABOUR})


def test_an_answer_to_a_question_naming_a_document_not_loaded_says_so_first(engine: QAEngine) -> None:
    answer = engine.ask(
        "Theo Luật Doanh nghiệp thì thời gian thử việc của viên chức quản lý không quá bao nhiêu ngày?",
        compose=False,
    )
    assert answer.missing_documents == ["Luật Doanh nghiệp"], answer.missing_documents
    # The loaded regulation's article is still quoted, after the note that the named law is not loaded.
    assert answer.found, answer.answer
    first_line = answer.answer.split("\n")[0]
    assert first_line.startswith("Lưu ý: văn bản «Luật Doanh nghiệp» mà câu hỏi nêu chưa được nạp"), (
        first_line
    )
    assert answer.citations[0].article == 5
    assert "không quá 60 ngày" in answer.answer


def test_kỷ_luật_đối_với_is_no_law_name(engine: QAEngine) -> None:
    answer = engine.ask("Không được kỷ luật đối với người mắc bệnh gì?", compose=False)
    assert answer.missing_documents == []
    assert answer.found, answer.answer
    assert "chưa được nạp" not in answer.answer
    assert answer.citations[0].article == 6


@pytest.mark.parametrize(
    "question",
    [
        "Theo 99/2020/QĐ-UBND, thời gian thử việc đối với viên chức quản lý không quá bao nhiêu ngày?",
        "Theo Quyết định số 99/2020/QĐ-UBND thì thời gian thử việc đối với viên chức quản lý không quá bao nhiêu ngày?",
    ],
)
def test_a_question_about_a_document_not_loaded_is_never_answered_confidently(
    engine: QAEngine, question: str
) -> None:
    answer = engine.ask(question, compose=False)
    assert answer.missing_documents == ["99/2020/QĐ-UBND"]
    # The loaded text that matches is quoted, labelled as possibly not answering: it is not the one named.
    assert answer.found and answer.uncertain, answer.answer
    assert answer.answer.startswith("Lưu ý: văn bản «99/2020/QĐ-UBND» mà câu hỏi nêu chưa được nạp")
    assert answer.citations[0].article == 5


def test_a_question_naming_the_loaded_document_is_answered(engine: QAEngine) -> None:
    answer = engine.ask(
        "Theo Quy định số 21/2024/QĐ-UBND, thời gian thử việc đối với viên chức quản lý không quá bao nhiêu ngày?",
        compose=False,
    )
    assert answer.missing_documents == []
    assert answer.found and not answer.uncertain, answer.answer
    assert answer.citations[0].article == 5 and "không quá 60 ngày" in answer.answer


@pytest.mark.parametrize(
    "question",
    [
        "theo luật doanh nghiệp thì thời gian thử việc của viên chức quản lý không quá bao nhiêu ngày",
        "theo luat doanh nghiep thi thoi gian thu viec cua vien chuc quan ly khong qua bao nhieu ngay",
    ],
)
def test_a_law_named_in_lower_case_or_without_marks_is_told_not_loaded(
    engine: QAEngine, question: str
) -> None:
    answer = engine.ask(question, compose=False)
    # named as typed, or as restored where the marks were left out
    assert [strip_diacritics(n.lower()) for n in answer.missing_documents] == ["luat doanh nghiep"], (
        answer.missing_documents
    )
    # Never a confident quote of another text: the named law is said to be missing, and the loaded article is
    # quoted as possibly not answering or listed as the nearest.
    assert not answer.found or answer.uncertain, answer.answer
    assert f"«{answer.missing_documents[0]}»" in answer.answer and "chưa được nạp" in answer.answer, (
        answer.answer
    )
    assert answer.ranked[0].article == 5
