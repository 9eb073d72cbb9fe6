"""The legal-structure parser on tricky variants of real-world formatting."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge import parse_text
from knowledge.errors import ClassifiedDocument, EmptyDocument
from knowledge.model import RelationKind


def test_all_caps_header_colon_articles_and_the_wrong_d() -> None:
    text = (
        "THÀNH ỦY HÀ NỘI    ĐẢNG CỘNG SẢN VIỆT NAM\n"
        "Số: 07 - qđi/tu    Hà Nội, ngày 5 tháng 1 năm 2023\n\n"
        "QUY ĐỊNH VỀ QUẢN LÝ CÁN BỘ\n\n"
        "ĐIỀU 1: PHẠM VI\nQuy định này áp dụng cho cán bộ thuộc diện Ban Thường vụ quản lý.\n"
        "\u00d0iều 2. Phân cấp quản lý\nBan Thường vụ quản lý cán bộ chủ chốt.\n"
        "Điều 3 . Hiệu lực\nCó hiệu lực từ ngày 01/02/2023.\n"
    )
    doc = parse_text(text, source_name="07.txt")
    meta = doc.meta
    assert meta.number == "07-QĐi/TU"
    assert meta.issuer == "THÀNH ỦY HÀ NỘI"
    assert meta.doc_type == "QUY ĐỊNH" and meta.title == "về quản lý cán bộ"  # read as in a sentence
    assert meta.issued == date(2023, 1, 5) and meta.place == "Hà Nội"
    assert meta.effective == date(2023, 2, 1)
    assert [c.article for c in doc.chunks] == [1, 2, 3]
    assert [c.article_heading for c in doc.chunks] == [
        "Điều 1. PHẠM VI",
        "Điều 2. Phân cấp quản lý",
        "Điều 3. Hiệu lực",
    ]
    assert "\u00d0" not in doc.text
    assert meta.doc_id == "07-qdi-tu-2023"


def test_missing_header_falls_back_to_the_file_name() -> None:
    text = "Điều 1. Phạm vi\nÁp dụng cho mọi cán bộ.\n\nĐiều 2. Trách nhiệm\nThủ trưởng chịu trách nhiệm."
    doc = parse_text(text, source_name="Quy chế nội bộ (bản sửa).txt")
    assert doc.meta.number is None and doc.meta.issued is None and doc.meta.doc_type is None
    assert doc.meta.doc_id == "quy-che-noi-bo-ban-sua"
    assert doc.meta.title == "Điều 1. Phạm vi"
    assert [c.article for c in doc.chunks] == [1, 2]
    assert doc.chunks[0].chunk_id == "quy-che-noi-bo-ban-sua:0"


def test_line_breaks_inside_headings_and_khoan_prefixes() -> None:
    text = (
        "QUY ĐỊNH\nvề thử nghiệm\n\n"
        "Chương II\nTHỜI GIAN VÀ\nĐÁNH GIÁ\n"
        "Điều 5. Thời gian luân chuyển và\nđánh giá cán bộ luân chuyển\n"
        "Khoản 1. Thời gian luân chuyển ít nhất là 3 năm.\n"
        "Khoản 2. Cán bộ được đánh giá hằng năm.\n"
        "Điều 6.\nTrách nhiệm thi hành\nCác cơ quan thực hiện Quy định này.\n"
    )
    doc = parse_text(text, source_name="x.txt")
    assert [(c.article, c.clause) for c in doc.chunks] == [(5, "1"), (5, "2"), (6, None)]
    heading = "Điều 5. Thời gian luân chuyển và đánh giá cán bộ luân chuyển"
    for chunk in doc.chunks[:2]:  # each khoản chunk carries the re-joined heading and chapter
        assert chunk.article_heading == heading
        assert chunk.heading_path == ["Chương II. THỜI GIAN VÀ ĐÁNH GIÁ", heading]
    assert doc.chunks[0].text == f"{heading}\nKhoản 1. Thời gian luân chuyển ít nhất là 3 năm."
    assert doc.chunks[1].text == f"{heading}\nKhoản 2. Cán bộ được đánh giá hằng năm."
    last = doc.chunks[2]
    assert last.article == 6 and last.article_heading == "Điều 6. Trách nhiệm thi hành"
    assert last.text == "Điều 6. Trách nhiệm thi hành\nCác cơ quan thực hiện Quy định này."


def test_parts_chapters_and_sections_form_the_heading_path() -> None:
    text = (
        "Phần thứ nhất\nNHỮNG VẤN ĐỀ CHUNG\n"
        "Chương I\nQUY ĐỊNH CHUNG\nMục 1\nPHẠM VI\nĐiều 1. Phạm vi điều chỉnh\nNội dung một.\n"
        "Mục 2. ĐỐI TƯỢNG\nĐiều 2. Đối tượng áp dụng\nNội dung hai.\n"
        "Chương II. TỔ CHỨC THỰC HIỆN\nĐiều 3. Trách nhiệm\nNội dung ba.\n"
    )
    doc = parse_text(text, source_name="x.txt")
    paths = [c.heading_path for c in doc.chunks]
    assert paths[0] == [
        "Phần thứ nhất. NHỮNG VẤN ĐỀ CHUNG",
        "Chương I. QUY ĐỊNH CHUNG",
        "Mục 1. PHẠM VI",
        "Điều 1. Phạm vi điều chỉnh",
    ]
    assert paths[1][2] == "Mục 2. ĐỐI TƯỢNG"
    assert paths[2] == [
        "Phần thứ nhất. NHỮNG VẤN ĐỀ CHUNG",
        "Chương II. TỔ CHỨC THỰC HIỆN",
        "Điều 3. Trách nhiệm",
    ]


def _long_article(clauses: int, points: int, words: int) -> str:
    lines = ["Điều 4. Một điều rất dài"]
    for k in range(1, clauses + 1):
        lines.append(f"{k}. Khoản thứ {k} quy định như sau:")
        for index, letter in enumerate("abcdđeghik"[:points]):
            lines.append(f"{letter}) Điểm {letter} của khoản {k}: " + " ".join(["nội dung"] * words) + ";")
            assert index < 10
    return "\n".join(lines)


def test_long_articles_split_per_clause_and_long_clauses_per_point() -> None:
    doc = parse_text(
        "Điều 3. Ngắn\nMột câu.\n" + _long_article(clauses=3, points=0, words=0), source_name="a.txt"
    )
    # short Điều 4 is still cut one chunk per khoản, each under the article heading
    assert [(c.article, c.clause) for c in doc.chunks] == [(3, None), (4, "1"), (4, "2"), (4, "3")]
    assert [c.text for c in doc.chunks[1:]] == [
        f"Điều 4. Một điều rất dài\n{k}. Khoản thứ {k} quy định như sau:" for k in range(1, 4)
    ]

    text = "Điều 3. Ngắn\nMột câu.\n" + _long_article(clauses=3, points=4, words=100)
    doc = parse_text(text, source_name="b.txt", max_chunk_chars=1200)
    long_chunks = [c for c in doc.chunks if c.article == 4]
    assert {c.clause for c in long_chunks} == {"1", "2", "3"}
    for chunk in long_chunks:
        assert len(chunk.text) <= 1200
        assert chunk.text.startswith(f"Điều 4. Một điều rất dài\n{chunk.clause}. Khoản thứ {chunk.clause}")
        if chunk.point is not None:
            assert f"{chunk.point}) Điểm {chunk.point} của khoản {chunk.clause}" in chunk.text
    assert all(c.point is not None for c in long_chunks)  # each point is long: one chunk per điểm
    # every point of every clause is somewhere
    joined = "\n".join(c.text for c in long_chunks)
    for k in range(1, 4):
        for letter in "abcd":
            assert f"{letter}) Điểm {letter} của khoản {k}:" in joined


def test_an_overlong_paragraph_is_split_below_the_limit() -> None:
    sentence = "Cán bộ phải hoàn thành nhiệm vụ được giao đúng thời hạn và bảo đảm chất lượng. "
    doc = parse_text("Điều 1. Dài\n" + sentence * 60, source_name="c.txt", max_chunk_chars=600)
    assert len(doc.chunks) >= 8
    assert all(len(c.text) <= 600 and c.text.startswith("Điều 1. Dài\n") for c in doc.chunks)
    assert sum(c.text.count("bảo đảm chất lượng.") for c in doc.chunks) == 60


def test_guidance_without_articles_uses_sections_and_subsections() -> None:
    text = (
        "HƯỚNG DẪN\nthực hiện Quy định số 65-QĐ/TW về luân chuyển cán bộ\n\n"
        "I. MỤC ĐÍCH\nNâng cao chất lượng cán bộ.\n"
        "II. NỘI DUNG\n1. Lập kế hoạch\na) Rà soát quy hoạch;\nb) Lập danh sách;\n"
        "1.1. Bước chuẩn bị chi tiết.\n2. Tổ chức thực hiện\nCác cơ quan triển khai.\n"
    )
    doc = parse_text(text, source_name="hd.txt")
    assert [c.article for c in doc.chunks] == ["I", "II.1", "II.2"]
    assert doc.chunks[1].heading_path == ["II. NỘI DUNG", "1. Lập kế hoạch"]
    assert "a) Rà soát quy hoạch;\nb) Lập danh sách;" in doc.chunks[1].text
    assert [(r.kind, r.target_number) for r in doc.meta.relations] == [(RelationKind.GUIDES, "65-QĐ/TW")]


def test_numbered_list_without_articles_and_plain_paragraphs() -> None:
    numbered = parse_text(
        "KẾ HOẠCH\ntriển khai\n\n1. Rà soát đội ngũ.\n2. Tổ chức hội nghị.\n3. Báo cáo kết quả.",
        source_name="kh.txt",
    )
    assert [c.article for c in numbered.chunks] == ["1", "2", "3"]
    assert numbered.meta.doc_type == "KẾ HOẠCH"

    paragraphs = parse_text(
        "Thông báo về việc họp chi bộ.\n\nChi bộ họp vào ngày 5 hằng tháng.\nĐảng viên dự đầy đủ.",
        source_name="tb.txt",
    )
    assert [c.article for c in paragraphs.chunks] == [None]
    assert "Đảng viên dự đầy đủ." in paragraphs.chunks[0].text


def test_decision_restarting_article_numbers_without_a_marker_is_an_attachment() -> None:
    text = (
        "QUYẾT ĐỊNH\nban hành Quy chế làm việc\n\n"
        "Điều 1. Ban hành kèm theo Quyết định này Quy chế làm việc.\n"
        "Điều 2. Quyết định có hiệu lực từ ngày ký.\n\n"
        "QUY CHẾ\nlàm việc của Ban Tổ chức\n\n"
        "Điều 1. Phạm vi\nQuy chế áp dụng trong cơ quan.\nĐiều 2. Chế độ họp\nHọp giao ban hằng tuần.\n"
    )
    doc = parse_text(text, source_name="qc.txt")
    assert doc.meta.attachment_type == "QUY CHẾ"
    assert doc.meta.attachment_title == "làm việc của Ban Tổ chức"
    assert [(c.article, c.in_attachment) for c in doc.chunks] == [
        (1, False),
        (2, False),
        (1, True),
        (2, True),
    ]
    assert doc.chunks[2].heading_path == ["QUY CHẾ làm việc của Ban Tổ chức", "Điều 1. Phạm vi"]


@pytest.mark.parametrize(
    ("stamp", "marking"),
    [("MẬT", "MẬT"), ("TỐI MẬT", "TỐI MẬT"), ("Độ mật: Tuyệt mật", "TUYỆT MẬT"), ("(Mật)", "MẬT")],
)
def test_classified_documents_are_refused_unless_allowed(stamp: str, marking: str) -> None:
    text = (
        f"BỘ CHÍNH TRỊ\n{stamp}\nSố 99-QĐ/TW\nQUY ĐỊNH\nvề nội dung được bảo vệ\n\nĐiều 1. Nội dung\nVăn bản."
    )
    with pytest.raises(ClassifiedDocument) as caught:
        parse_text(text, source_name="m.txt")
    assert caught.value.code == "classified"
    assert caught.value.params["classification"] == marking
    allowed = parse_text(text, source_name="m.txt", allow_classified=True)
    assert allowed.meta.classification == marking
    assert [c.article for c in allowed.chunks] == [1]


def test_the_word_mat_in_body_text_is_not_a_marking() -> None:
    text = (
        "QUY ĐỊNH\nvề bảo vệ bí mật nhà nước trong công tác cán bộ\n\n"
        "Điều 1. Bí mật\nHồ sơ cán bộ có nội dung thuộc bí mật nhà nước được quản lý theo chế độ MẬT.\n"
        "Điều 2. Tài liệu\nMẬT\nLà dòng nằm trong thân văn bản, không phải dấu mật.\n"
    )
    doc = parse_text(text, source_name="bm.txt")
    assert doc.meta.classification is None
    assert len(doc.chunks) == 2


def test_relations_amend_replace_and_ignore_legal_bases() -> None:
    text = (
        "THÀNH ỦY HÀ NỘI\nSố 3251-QĐ/TU\nHà Nội, ngày 1 tháng 7 năm 2022\n"
        "QUYẾT ĐỊNH\nsửa đổi, bổ sung một số điều của Quyết định số 1841-QĐ/TU\n\n"
        "Căn cứ Quy định số 65-QĐ/TW thay thế Quy định số 98-QĐ/TW;\n"
        "Điều 1. Sửa đổi Điều 6 của Quy định ban hành kèm theo Quyết định số 1841-QĐ/TU.\n"
        "Điều 2. Bãi bỏ Hướng dẫn số 02-HD/BTCTU.\n"
        "Điều 3. Quyết định này có hiệu lực thi hành kể từ ngày 15 tháng 7 năm 2022.\n"
    )
    meta = parse_text(text, source_name="3251.txt").meta
    assert [(r.kind, r.target_number) for r in meta.relations] == [
        (RelationKind.AMENDS, "1841-QĐ/TU"),
        (RelationKind.REPLACES, "02-HD/BTCTU"),
    ]
    assert meta.effective == date(2022, 7, 15)
    assert meta.title == "sửa đổi, bổ sung một số điều của Quyết định số 1841-QĐ/TU"


def test_signature_and_recipient_blocks_are_not_chunked() -> None:
    text = (
        "Điều 1. Nội dung\nThực hiện nghiêm.\n\nT/M BAN THƯỜNG VỤ\nBÍ THƯ\nNguyễn Văn A\n\n"
        "Nơi nhận:\n- Như Điều 1,\n- Lưu VP."
    )
    doc = parse_text(text, source_name="k.txt")
    assert [c.text for c in doc.chunks] == ["Điều 1. Nội dung\nThực hiện nghiêm."]
    assert "Nguyễn Văn A" in doc.text


def test_same_text_gives_the_same_ids_and_a_different_year_a_different_doc() -> None:
    base = "BỘ CHÍNH TRỊ\nSố 98-QĐ/TW\nHà Nội, ngày 7 tháng 10 năm {year}\nQUY ĐỊNH\nvề thử\n\nĐiều 1. A\nB."
    first = parse_text(base.format(year=2017), source_name="a.txt")
    again = parse_text(base.format(year=2017), source_name="renamed.txt")
    later = parse_text(base.format(year=2030), source_name="a.txt")
    assert first.meta.doc_id == again.meta.doc_id == "98-qd-tw-2017"
    assert [c.chunk_id for c in first.chunks] == [c.chunk_id for c in again.chunks]
    assert first.source_sha256 == again.source_sha256
    assert later.meta.doc_id == "98-qd-tw-2030"


@pytest.mark.parametrize("text", ["", "   \n\n ", "12345 --- ***"])
def test_text_without_words_is_empty(text: str) -> None:
    with pytest.raises(EmptyDocument):
        parse_text(text, source_name="e.txt")


def test_header_only_text_is_still_indexed() -> None:
    doc = parse_text("BỘ CHÍNH TRỊ\nSố 5-QĐ/TW\nQUY ĐỊNH\nvề một chủ đề", source_name="h.txt")
    assert doc.meta.title == "về một chủ đề"
    assert doc.chunks and "về một chủ đề" in doc.chunks[0].text


def test_a_regulation_saved_without_its_decision_is_cited_as_attached() -> None:
    text = (
        "QUY ĐỊNH\nđánh giá cán bộ hằng tháng\n"
        "(Ban hành kèm theo Quyết định số 3814-QĐ/TU, ngày 16/5/2018 của Ban Thường vụ Thành ủy)\n\n"
        "Điều 1. Phạm vi\nÁp dụng cho cán bộ.\nĐiều 2. Xếp loại\nBốn mức."
    )
    doc = parse_text(text, source_name="quy-dinh.txt")
    meta = doc.meta
    assert (meta.number, meta.doc_type, meta.issued) == ("3814-QĐ/TU", "QUYẾT ĐỊNH", date(2018, 5, 16))
    assert (meta.attachment_type, meta.attachment_title) == ("QUY ĐỊNH", "đánh giá cán bộ hằng tháng")
    assert [(c.article, c.in_attachment) for c in doc.chunks] == [(1, True), (2, True)]
    assert doc.chunks[0].heading_path == ["QUY ĐỊNH đánh giá cán bộ hằng tháng", "Điều 1. Phạm vi"]


def test_old_style_dash_numbering_and_points_without_d_stroke() -> None:
    text = (
        "HƯỚNG DẪN\nmột số vấn đề\n\nI- MỤC ĐÍCH\n1- Bảo đảm thống nhất.\n2- Bảo đảm công khai:\n"
        "a) Một;\nb) Hai;\nc) Ba;\nd) Bốn;\ne) Năm.\n"
        "II- TỔ CHỨC THỰC HIỆN\nCác cấp ủy thực hiện.\n"
    )
    doc = parse_text(text, source_name="hd.txt")
    assert [c.article for c in doc.chunks] == ["I.1", "I.2", "II"]
    assert "d) Bốn;\ne) Năm." in doc.chunks[1].text


def test_a_reference_to_an_article_inside_a_wrapped_sentence_is_not_a_heading() -> None:
    text = (
        "Điều 1. Phạm vi\nViệc xếp loại thực hiện theo quy định tại\nĐiều 5 Quy định này và các văn bản khác.\n"
        "Điều 2. Hiệu lực\nCó hiệu lực từ ngày ký."
    )
    doc = parse_text(text, source_name="x.txt")
    assert [c.article for c in doc.chunks] == [1, 2]
    assert "Điều 5 Quy định này" in doc.chunks[0].text


@pytest.mark.parametrize(
    "header",
    [
        "BỘ CHÍNH TRỊ ĐẢNG CỘNG SẢN VIỆT NAM\n*\nSố 65-QĐ/TW Hà Nội, ngày 28 tháng 4 năm 2022\n",
        "ĐẢNG CỘNG SẢN VIỆT NAM\nHà Nội, ngày 28 tháng 4 năm 2022\nBỘ CHÍNH TRỊ\n*\nSố: 65 -QĐ/TW\n",
        "BỘ CHÍNH TRỊ\t\tĐẢNG CỘNG SẢN VIỆT NAM\n*\t\t\nSố 65-QĐ/TW\t\tHà Nội, ngày 28 tháng 4 năm 2022\n",
    ],
)
def test_header_columns_in_any_order(header: str) -> None:
    doc = parse_text(
        header + "\nQUY ĐỊNH\nvề luân chuyển cán bộ\n\nĐiều 1. Phạm vi\nNội dung.", source_name="h.txt"
    )
    meta = doc.meta
    assert (meta.number, meta.issuer, meta.issued) == ("65-QĐ/TW", "BỘ CHÍNH TRỊ", date(2022, 4, 28))
    assert meta.place == "Hà Nội"
    assert (meta.doc_type, meta.title) == ("QUY ĐỊNH", "về luân chuyển cán bộ")
    assert [c.article for c in doc.chunks] == [1]


def test_quoted_articles_inside_an_amendment_do_not_break_the_numbering() -> None:
    text = (
        "Điều 1. Sửa đổi, bổ sung một số điều của Quy định số 3814-QĐ/TU như sau:\n"
        "1. Sửa đổi Điều 5 như sau:\n“Điều 5. Tỷ lệ xếp loại\nKhông quá 30%.”\n"
        "Điều 2. Hiệu lực\nCó hiệu lực từ ngày ký."
    )
    doc = parse_text(text, source_name="sd.txt")
    assert [c.article for c in doc.chunks] == [1, 2]
    assert "“Điều 5. Tỷ lệ xếp loại" in doc.chunks[0].text
    assert [(r.kind.value, r.target_number) for r in doc.meta.relations] == [("amends", "3814-QĐ/TU")]


WEB_COPY = """CHÍNH PHỦ
-------
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
---------------
Số: 138/2020/NĐ-CP
Hà Nội, ngày 27 tháng 11 năm 2020

NGHỊ ĐỊNH
QUY ĐỊNH VỀ TUYỂN DỤNG, SỬ DỤNG VÀ QUẢN LÝ CÔNG CHỨC
Căn cứ Luật Tổ chức Chính phủ ngày 19 tháng 6 năm 2015;
Chính phủ ban hành Nghị định quy định về tuyển dụng, sử dụng và quản lý công chức.
Chương I
QUY ĐỊNH CHUNG
Điều 1. Phạm vi điều chỉnh
Nghị định này quy định về tuyển dụng, sử dụng và quản lý công chức.
Chương II
ĐIỀU KHOẢN THI HÀNH
Điều 2. Hiệu lực thi hành
1. Nghị định này có hiệu lực thi hành kể từ ngày ký ban hành.
2. Các văn bản sau đây hết hiệu lực kể từ ngày Nghị định này có hiệu lực thi hành:
a) Nghị định số 24/2010/NĐ-CP ngày 15 tháng 3 năm 2010 của Chính phủ;
b) Nghị định số 93/2010/NĐ-CP ngày 31 tháng 8 năm 2010 của Chính phủ.

Nơi nhận:
- Ban Bí thư Trung ương Đảng;
TM. CHÍNH PHỦ
THỦ TƯỚNG
"""


def test_a_web_copy_of_a_decree() -> None:
    doc = parse_text(WEB_COPY, source_name="nd.txt")
    meta = doc.meta
    assert (meta.number, meta.doc_type, meta.issuer) == ("138/2020/NĐ-CP", "NGHỊ ĐỊNH", "CHÍNH PHỦ")
    assert meta.title == "quy định về tuyển dụng, sử dụng và quản lý công chức"
    assert meta.effective == meta.issued == date(2020, 11, 27)
    assert [(r.kind, r.target_number) for r in meta.relations] == [
        (RelationKind.REPLACES, "24/2010/NĐ-CP"),
        (RelationKind.REPLACES, "93/2010/NĐ-CP"),
    ]
    assert meta.relations[0].evidence.startswith("Các văn bản sau đây hết hiệu lực")
    assert [(c.article, c.clause) for c in doc.chunks] == [(None, None), (1, None), (2, "1"), (2, "2")]
    assert doc.chunks[0].text.startswith("Căn cứ Luật Tổ chức Chính phủ")
    repeals = doc.chunks[-1].text  # khoản 2 keeps its điểm a) and b)
    assert repeals.startswith("Điều 2. Hiệu lực thi hành\n2. Các văn bản sau đây hết hiệu lực")
    assert "a) Nghị định số 24/2010/NĐ-CP" in repeals and "b) Nghị định số 93/2010/NĐ-CP" in repeals
    assert "Ban Bí thư" not in doc.chunks[-1].text


def test_a_list_restarting_inside_a_section_stays_inside_it() -> None:
    text = (
        "KẾT LUẬN\ncủa Bộ Chính trị\n\n1. Đánh giá chung.\n2. Nhiệm vụ thời gian tới:\n"
        "1) Rà soát quy hoạch.\n2) Luân chuyển cán bộ.\n3. Tổ chức thực hiện.\n"
    )
    doc = parse_text(text, source_name="kl.txt")
    # the inner "1)", "2)" are khoản of section 2, not new sections
    assert [(c.article, c.clause) for c in doc.chunks] == [("1", None), ("2", "1"), ("2", "2"), ("3", None)]
    assert doc.chunks[1].text == "2. Nhiệm vụ thời gian tới:\n1) Rà soát quy hoạch."  # lead-in carried
    assert doc.chunks[2].text == "2) Luân chuyển cán bộ."


def test_a_letter_takes_its_subject_line_as_title_and_skips_site_noise() -> None:
    text = (
        "Trang chủ\nVăn bản pháp luật\nBản in\nTải về\n"
        "BAN TỔ CHỨC THÀNH ỦY\nSố 120-CV/BTCTU\nV/v đôn đốc đánh giá cán bộ tháng 10\n"
        "Hà Nội, ngày 2 tháng 11 năm 2023\n\nKính gửi: Các đảng bộ trực thuộc.\n"
        "1. Hoàn thành đánh giá trước ngày 5.\n2. Báo cáo kết quả về Ban Tổ chức."
    )
    doc = parse_text(text, source_name="cv.txt")
    meta = doc.meta
    assert (meta.number, meta.issuer, meta.title) == (
        "120-CV/BTCTU",
        "BAN TỔ CHỨC THÀNH ỦY",
        "V/v đôn đốc đánh giá cán bộ tháng 10",
    )
    assert meta.issued == date(2023, 11, 2)
    assert [c.article for c in doc.chunks] == [None, "1", "2"]


def test_the_effective_date_is_the_documents_own() -> None:
    text = (
        "QUY ĐỊNH\nvề kỷ luật\n\nĐiều 3. Hiệu lực của quyết định kỷ luật\n"
        "Quyết định kỷ luật có hiệu lực từ ngày ký.\n"
        "Điều 9. Thi hành\nQuy định này có hiệu lực từ ngày 01/01/2024."
    )
    assert parse_text(text, source_name="kl.txt").meta.effective == date(2024, 1, 1)


def test_history_told_about_other_documents_is_not_a_relation_of_this_one() -> None:
    text = (
        "BAN TỔ CHỨC THÀNH ỦY\nSố 09-HD/BTCTU\nHà Nội, ngày 3 tháng 3 năm 2023\n"
        "HƯỚNG DẪN\nmột số điểm về luân chuyển cán bộ\n\n"
        "I. CĂN CỨ\nQuy định số 65-QĐ/TW năm 2022 đã thay thế Quy định số 98-QĐ/TW năm 2017.\n"
        "II. HIỆU LỰC\nHướng dẫn này thay thế Hướng dẫn số 02-HD/BTCTU.\n"
        "Điều 5 của Quy định số 11-QĐ/TU được sửa đổi như sau:\n"
    )
    relations = parse_text(text, source_name="hd.txt").meta.relations
    assert [(r.kind, r.target_number) for r in relations] == [
        (RelationKind.REPLACES, "02-HD/BTCTU"),
        (RelationKind.AMENDS, "11-QĐ/TU"),
    ]


def test_inserted_articles_of_consolidated_texts() -> None:
    text = "Điều 21. Một\nNội dung.\nĐiều 21a. Hai\nNội dung bổ sung.\nĐiều 22. Ba\nNội dung."
    doc = parse_text(text, source_name="vbhn.txt")
    assert [c.article for c in doc.chunks] == [21, "21a", 22]
    assert doc.chunks[1].article_heading == "Điều 21a. Hai"


def test_central_guidance_with_parts_dashes_and_its_legal_basis() -> None:
    text = (
        "BAN CHẤP HÀNH TRUNG ƯƠNG\nBAN TỔ CHỨC\n*\nSố 21-HD/BTCTW\nĐẢNG CỘNG SẢN VIỆT NAM\n"
        "Hà Nội, ngày 20 tháng 3 năm 2019\nHƯỚNG DẪN\nmột số vấn đề về kiểm điểm\n-----\n"
        "Căn cứ Quy định số 132-QĐ/TW của Bộ Chính trị, Ban Tổ chức Trung ương hướng dẫn như sau:\n"
        "Phần thứ nhất\nKIỂM ĐIỂM\nI- ĐỐI VỚI TẬP THỂ\n1- Tập thể lãnh đạo\n1.1- Kiểm điểm theo nhiệm vụ.\n"
        "a) Thực hiện chủ trương;\nb) Lãnh đạo, chỉ đạo.\n"
        "Phần thứ hai\nXẾP LOẠI\nI- CÁ NHÂN\n1- Hoàn thành xuất sắc nhiệm vụ\nKhông quá 20%.\n"
    )
    doc = parse_text(text, source_name="hd21.txt")
    assert doc.meta.issuer == "BAN TỔ CHỨC TRUNG ƯƠNG"
    assert [(r.kind, r.target_number) for r in doc.meta.relations] == [(RelationKind.GUIDES, "132-QĐ/TW")]
    units = [(c.article, c.heading_path[0]) for c in doc.chunks if c.article]
    assert units == [("I.1", "Phần thứ nhất. KIỂM ĐIỂM"), ("I.1", "Phần thứ hai. XẾP LOẠI")]
    assert "1.1- Kiểm điểm theo nhiệm vụ.\na) Thực hiện chủ trương;" in doc.chunks[1].text


def test_points_written_with_a_dot() -> None:
    text = (
        "Điều 1. Đối tượng\n1. Gồm:\na. Cán bộ;\nb. Công chức.\n2. Khác.\nĐiều 2. Khác\nQ. Ba Đình thực hiện."
    )
    doc = parse_text(text, source_name="p.txt", max_chunk_chars=45)
    points = [(c.clause, c.point) for c in doc.chunks if c.article == 1]
    assert ("1", "a") in points and ("1", "b") in points
    assert next(c for c in doc.chunks if c.point == "b").text.endswith("\nb. Công chức.")
    assert doc.chunks[-1].text == "Điều 2. Khác\nQ. Ba Đình thực hiện."


def test_a_decision_issuing_a_guidance_written_in_sections() -> None:
    text = (
        "QUYẾT ĐỊNH\nban hành Hướng dẫn đánh giá cán bộ\n\n"
        "Điều 1. Ban hành kèm theo Quyết định này Hướng dẫn đánh giá cán bộ.\n"
        "Điều 2. Quyết định có hiệu lực từ ngày ký.\n\n"
        "HƯỚNG DẪN\nđánh giá cán bộ\n(Ban hành kèm theo Quyết định số 12-QĐ/TU ngày 5/5/2023)\n"
        "I. MỤC ĐÍCH\nĐánh giá đúng cán bộ.\nII. NỘI DUNG\n1. Tự đánh giá\nCán bộ tự chấm điểm.\n"
        "2. Nhận xét\nNgười quản lý nhận xét.\n"
    )
    doc = parse_text(text, source_name="qd.txt")
    assert (doc.meta.attachment_type, doc.meta.attachment_title) == ("HƯỚNG DẪN", "đánh giá cán bộ")
    assert [(c.article, c.in_attachment) for c in doc.chunks] == [
        (1, False),
        (2, False),
        ("I", True),
        ("II.1", True),
        ("II.2", True),
    ]


def test_a_lead_in_is_read_with_the_first_khoan_only_when_both_fit_in_a_chunk() -> None:
    words = "cán bộ luân chuyển đánh giá xếp loại hằng tháng nhiệm vụ Đảng ủy ban Thành ủy quy"
    short = "\n".join(["Điều 1. Phạm vi", "Điều này gồm các nội dung sau:", f"1. {words}.", f"2. {words}."])
    chunks = parse_text(short, source_name="a.txt").chunks
    assert [c.clause for c in chunks] == ["1", "2"]
    assert chunks[0].text.startswith("Điều 1. Phạm vi\nĐiều này gồm các nội dung sau:\n1. ")
    lead = [f"Phần mở đầu thứ {i} nói về {words}." for i in range(1, 4)]
    long_text = "\n".join(
        [f"Điều 1. {words}", *lead, f"1. {words}", *[f"{words.capitalize()}."] * 5, f"2. {words}"]
    )
    doc = parse_text(long_text, source_name="b.txt", max_chunk_chars=400)
    assert all(len(c.text) <= 400 for c in doc.chunks)
    # the lead-in stands on its own, not repeated on every piece of khoản 1
    assert all(line not in c.text for c in doc.chunks if c.clause for line in lead)
    assert all(sum(line in c.text for c in doc.chunks) == 1 for line in lead)


@pytest.mark.parametrize(
    ("label", "kind", "title"),
    [
        ("QUY ĐỊNH\n\nTiêu chí đánh giá công chức (KPI)\n", "QUY ĐỊNH", "tiêu chí đánh giá công chức (KPI)"),
        ("QUY CHẾ\nLÀM VIỆC CỦA BAN TỔ CHỨC\n", "QUY CHẾ", "làm việc của ban tổ chức"),
        ("HƯỚNG DẪN VỀ CHẾ ĐỘ BÁO CÁO\n", "HƯỚNG DẪN", "về chế độ báo cáo"),
    ],
    ids=["sentence-case", "capitals", "capitals-on-the-type-line"],
)
def test_an_attachment_title_in_sentence_case_or_capitals_keeps_its_kind(
    label: str, kind: str, title: str
) -> None:
    text = (
        "QUYẾT ĐỊNH\nban hành một văn bản\n\nĐiều 1. Ban hành kèm theo Quyết định này văn bản.\n"
        "Điều 2. Quyết định có hiệu lực từ ngày ký.\n\n"
        f"{label}(Ban hành kèm theo Quyết định số 12-QĐ/TU ngày 5/5/2023)\n\n"
        "Điều 1. Phạm vi\nÁp dụng trong cơ quan.\nĐiều 2. Chế độ họp\nHọp giao ban hằng tuần.\n"
    )
    doc = parse_text(text, source_name="qd.txt")
    assert (doc.meta.attachment_type, doc.meta.attachment_title) == (kind, title)
    assert [(c.article, c.in_attachment) for c in doc.chunks][-2:] == [(1, True), (2, True)]
