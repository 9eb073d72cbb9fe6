"""Answer rendering from real retrieval citations: labels, escaping, superseded warnings, samples."""

from __future__ import annotations

from datetime import date

from bot.messages import TELEGRAM_LIMIT, split_message
from bot.render import article_button_label, render_answer, render_article, render_citation, where_label
from retrieval import Citation


def make_citation(**overrides: object) -> Citation:
    fields: dict[str, object] = {
        "doc_id": "65-qd-tw-2022",
        "doc_number": "65-QĐ/TW",
        "doc_title": "về luân chuyển cán bộ",
        "doc_type": "QUY ĐỊNH",
        "issued": date(2022, 4, 28),
        "article": 5,
        "article_heading": "Điều 5. Thời gian luân chuyển",
        "clause": "2",
        "point": None,
        "in_attachment": False,
        "attachment_title": None,
        "status": "in_force",
        "replaced_by": None,
        "is_sample": False,
        "score": 0.9,
        "text": "Thời gian luân chuyển ít nhất là 3 năm.",
        "chunk_id": "65-qd-tw-2022:7",
    }
    fields.update(overrides)
    return Citation(**fields)  # type: ignore[arg-type]


def test_citation_line_names_clause_article_document_and_date() -> None:
    line = render_citation(1, make_citation())
    assert line == "1. <b>Khoản 2 Điều 5</b> Quy định số 65-QĐ/TW ngày 28/4/2022"
    assert where_label(make_citation(point="a", clause="1", article=3)) == "Điểm a khoản 1 Điều 3"
    assert where_label(make_citation(clause=None, article="II.3")) == "Mục II.3"
    assert article_button_label(make_citation()) == "Điều 5 65-QĐ/TW"


def test_attachment_and_sample_are_named() -> None:
    citation = make_citation(
        in_attachment=True,
        attachment_title="đánh giá, xếp loại hằng tháng",
        attachment_type="QUY ĐỊNH",
        doc_type="QUYẾT ĐỊNH",
        doc_number="1841-QĐ/TU",
        is_sample=True,
    )
    line = render_citation(2, citation)
    assert line == (
        "2. <b>Khoản 2 Điều 5</b> Quy định đánh giá, xếp loại hằng tháng (ban hành kèm theo Quyết định số "
        "1841-QĐ/TU ngày 28/4/2022) <i>(văn bản mẫu)</i>"
    )


def test_an_attached_text_keeps_its_kind_without_a_title_line() -> None:
    """An attachment whose title was not found is still named, never cited as the decision's own Điều."""
    for kind, named in (("QUY CHẾ", "Quy chế"), ("HƯỚNG DẪN", "Hướng dẫn"), (None, "Quy định")):
        citation = make_citation(
            in_attachment=True, attachment_type=kind, doc_type="QUYẾT ĐỊNH", doc_number="12-QĐ/TU"
        )
        assert render_citation(1, citation) == (
            f"1. <b>Khoản 2 Điều 5</b> {named} (ban hành kèm theo Quyết định số 12-QĐ/TU ngày 28/4/2022)"
        )


def test_answer_escapes_document_text_and_warns_about_replaced_documents_once() -> None:
    old = make_citation(
        doc_number="98-QĐ/TW",
        status="superseded",
        replaced_by="65-QĐ/TW",
        issued=date(2017, 10, 7),
        clause=None,
    )
    # An LLM-written answer gets one warning per replaced document from the renderer.
    html = render_answer(
        found=True,
        answer="Theo Điều 5: «thời gian <3 năm> & hơn»",
        citations=[make_citation(), old, old],
        nearest=[],
        generated=True,
    )
    assert "«thời gian &lt;3 năm&gt; &amp; hơn»" in html
    assert html.count("đã được thay thế") == 1
    assert "Văn bản <b>98-QĐ/TW</b> đã được thay thế bởi văn bản <b>65-QĐ/TW</b>" in html
    assert "<b>Căn cứ:</b>" in html
    # An extractive answer already carries its warning: the renderer adds none (it was printed twice).
    extractive = "Theo Điều 5 …: «…»\n\n⚠️ Quy định số 98-QĐ/TW đã được thay thế bởi Quy định số 65-QĐ/TW."
    html = render_answer(found=True, answer=extractive, citations=[old], nearest=[])
    assert html.count("⚠️") == 1 and html.count("đã được thay thế") == 1


def test_a_refusal_names_documents_that_are_not_loaded() -> None:
    html = render_answer(
        found=False,
        answer="",
        citations=[],
        nearest=[make_citation()],
        missing_documents=["Luật <Viên chức>"],
    )
    assert "Văn bản «Luật &lt;Viên chức&gt;» chưa được nạp vào hệ thống." in html


def test_nothing_found_lists_nearest_articles() -> None:
    html = render_answer(found=False, answer="", citations=[], nearest=[make_citation()])
    assert html.startswith("Tôi chưa tìm thấy") and "Các điều gần nhất" in html and "65-QĐ/TW" in html


def test_nothing_found_names_what_the_documents_do_not_mention() -> None:
    html = render_answer(
        found=False, answer="", citations=[], nearest=[make_citation()], unmentioned=["phụ cấp", "<thu hút>"]
    )
    assert "Các văn bản đã nạp không nhắc đến «phụ cấp», «&lt;thu hút&gt;»." in html


def test_long_article_splits_into_valid_messages() -> None:
    text = "\n\n".join(f"{i}. " + "Cán bộ <được> luân chuyển & đánh giá. " * 30 for i in range(1, 40))
    parts = split_message(render_article(make_citation(), text))
    assert len(parts) > 1 and parts[0].startswith("📖 <b>Điều 5 Quy định số 65-QĐ/TW ngày 28/4/2022</b>")
    assert all(len(p) <= TELEGRAM_LIMIT + 2000 for p in parts)  # escaped entities count as one character
    assert "<được>" not in "".join(parts)
