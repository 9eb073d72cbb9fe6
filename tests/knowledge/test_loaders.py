"""Loaders on real files of every supported format, and every kind of refusal."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import docx
import pytest

from knowledge import SUPPORTED_SUFFIXES, load_document, load_documents
from knowledge.errors import (
    ClassifiedDocument,
    EmptyDocument,
    FileTooLarge,
    KnowledgeError,
    NoTextLayer,
    UnreadableFile,
    UnsupportedFormat,
)
from knowledge.loaders import decode_text, read_text
from tests.knowledge.files import encrypt_pdf, make_docx, make_image_pdf, make_text_pdf

REGULATION = """BỘ CHÍNH TRỊ
Số 12-QĐ/TW
Hà Nội, ngày 3 tháng 2 năm 2023

QUY ĐỊNH
về thử nghiệm bộ đọc văn bản

Điều 1. Phạm vi
Quy định này dùng để kiểm tra việc đọc tệp có dấu tiếng Việt: ủy, ưu tiên, Đảng, Ngữ.

Điều 2. Thời gian
1. Thời gian luân chuyển ít nhất là 3 năm.
2. Đánh giá định kỳ 6 tháng một lần.
"""

_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: base letters precomposed, tone marks combining."""
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in _TONE_MARKS))
        out.append(base + "".join(p for p in parts if p in _TONE_MARKS))
    return "".join(out).encode("cp1258")


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def assert_regulation(parsed_text: str, number: str = "12-QĐ/TW") -> None:
    assert "Đảng" in parsed_text and "ưu tiên" in parsed_text
    assert unicodedata.is_normalized("NFC", parsed_text)


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("utf-8", lambda text: text.encode("utf-8")),
        ("utf-8-bom", lambda text: b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("utf-16", lambda text: text.encode("utf-16")),
        ("utf-16-le-no-bom", lambda text: text.encode("utf-16-le")),
        ("cp1258", to_cp1258),
    ],
)
def test_txt_encodings_decode_to_the_same_document(tmp_path: Path, encoding: str, encode) -> None:
    doc = load_document(write(tmp_path, f"quy-dinh-{encoding}.txt", encode(REGULATION)))
    assert doc.meta.number == "12-QĐ/TW"
    assert doc.meta.title == "về thử nghiệm bộ đọc văn bản"
    # one chunk for Điều 1 (no khoản), one per khoản of Điều 2
    assert [(c.article, c.clause) for c in doc.chunks] == [(1, None), (2, "1"), (2, "2")]
    assert "ủy, ưu tiên, Đảng, Ngữ" in doc.chunks[0].text
    assert doc.chunks[1].text == "Điều 2. Thời gian\n1. Thời gian luân chuyển ít nhất là 3 năm."
    assert doc.chunks[2].text == "Điều 2. Thời gian\n2. Đánh giá định kỳ 6 tháng một lần."
    assert_regulation(doc.text)
    assert doc.source_format == "txt"


def test_cp1258_really_differs_from_utf8() -> None:
    raw = to_cp1258("Điều lệ Đảng, ủy ban")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert decode_text(raw) != "Điều lệ Đảng, ủy ban"  # combining marks until NFC
    assert unicodedata.normalize("NFC", decode_text(raw)) == "Điều lệ Đảng, ủy ban"


def test_markdown_syntax_is_stripped(tmp_path: Path) -> None:
    text = (
        "# QUY ĐỊNH\n\n**về thử nghiệm Markdown**\n\n## Điều 1. Phạm vi\n\n"
        "Áp dụng cho [cán bộ](https://example.invalid) và *công chức*.\n\n"
        "| Loại | Điểm |\n|---|---|\n| A | 90 |\n"
    )
    doc = load_document(write(tmp_path, "md-test.md", text))
    assert doc.meta.doc_type == "QUY ĐỊNH"
    assert doc.meta.title == "về thử nghiệm Markdown"
    chunk = doc.chunks[0]
    assert chunk.article == 1 and chunk.article_heading == "Điều 1. Phạm vi"
    assert "Áp dụng cho cán bộ và công chức." in chunk.text
    assert "A | 90" in chunk.text
    assert "*" not in chunk.text and "](" not in chunk.text and "#" not in chunk.text


def test_docx_renders_word_numbering_and_tables(tmp_path: Path) -> None:
    data = make_docx(
        [
            "BAN TỔ CHỨC TRUNG ƯƠNG",
            "Số 21-HD/BTCTW",
            "Hà Nội, ngày 20 tháng 3 năm 2019",
            "HƯỚNG DẪN",
            "về thử nghiệm tệp Word",
            "Điều 1. Mức xếp loại",
            ("Hoàn thành xuất sắc nhiệm vụ.", "List Number"),
            ("Hoàn thành tốt nhiệm vụ.", "List Number"),
            ("Hoàn thành nhiệm vụ.", "List Number"),
            "Điều 2. Bảng điểm",
        ],
        table=[["Mức", "Điểm"], ["HTXSNV", "90 - 100"]],
    )
    doc = load_document(write(tmp_path, "word.docx", data))
    assert doc.meta.number == "21-HD/BTCTW"
    assert doc.meta.doc_type == "HƯỚNG DẪN"
    # Word's automatic numbering is rendered as "1.", "2.", "3.": one chunk per khoản under its heading
    assert [(c.article, c.clause) for c in doc.chunks] == [(1, "1"), (1, "2"), (1, "3"), (2, None)]
    assert [c.text for c in doc.chunks[:3]] == [
        "Điều 1. Mức xếp loại\n1. Hoàn thành xuất sắc nhiệm vụ.",
        "Điều 1. Mức xếp loại\n2. Hoàn thành tốt nhiệm vụ.",
        "Điều 1. Mức xếp loại\n3. Hoàn thành nhiệm vụ.",
    ]
    assert "HTXSNV | 90 - 100" in doc.chunks[3].text
    assert doc.source_format == "docx"


def test_pdf_text_layer_with_running_header_page_numbers_and_wrapping(tmp_path: Path) -> None:
    long_line = "Cán bộ luân chuyển được đánh giá định kỳ sáu tháng và hằng năm bởi cơ quan nơi"
    first_page = [
        *[
            "BỘ CHÍNH TRỊ",
            "Số 33-QĐ/TW",
            "Hà Nội, ngày 9 tháng 9 năm 2024",
            "QUY ĐỊNH",
            "về thử nghiệm PDF",
            "",
        ],
        *["Điều 1. Đánh giá cán bộ", f"1. {long_line}", "đến công tác theo quy định."],
        *["2. Thời gian luân chuy-", "ển ít nhất là ba năm."],
    ]
    pages = [
        first_page,
        ["Điều 2. Trách nhiệm", "Ban Tổ chức hướng dẫn thực hiện Quy định này."],
        ["Điều 3. Hiệu lực", "Quy định này có hiệu lực từ ngày ký."],
    ]
    data = make_text_pdf(pages, header="Tài liệu họp Ban Thường vụ", footer_numbers=True)
    doc = load_document(write(tmp_path, "scan-text.pdf", data))
    assert doc.meta.number == "33-QĐ/TW"
    assert doc.meta.issued is not None and doc.meta.issued.isoformat() == "2024-09-09"
    assert "Tài liệu họp" not in doc.text  # running header removed
    assert "- 2 -" not in doc.text  # page numbers removed
    first, second = doc.chunks[0], doc.chunks[1]
    assert (first.article, first.clause, second.article, second.clause) == (1, "1", 1, "2")
    # wrapped line re-joined; hyphenation fixed
    assert first.text == f"Điều 1. Đánh giá cán bộ\n1. {long_line} đến công tác theo quy định."
    assert second.text == "Điều 1. Đánh giá cán bộ\n2. Thời gian luân chuyển ít nhất là ba năm."
    assert [c.article for c in doc.chunks] == [1, 1, 2, 3]
    assert doc.meta.effective == doc.meta.issued


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    data = encrypt_pdf(make_text_pdf([["Điều 1. Nội dung mật khẩu"]]))
    with pytest.raises(UnreadableFile) as caught:
        load_document(write(tmp_path, "protected.pdf", data))
    assert caught.value.code == "unreadable"
    assert caught.value.params["reason"] == "encrypted"
    assert "password" in caught.value.detail


def test_scanned_pdf_without_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NoTextLayer) as caught:
        load_document(write(tmp_path, "scan.pdf", make_image_pdf()))
    assert caught.value.code == "no_text"
    assert caught.value.params["pages"] == 2


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage \x00\x01\x02", "corrupt"),
        ("broken.docx", b"this is not a zip archive at all, just words", "corrupt"),
        ("broken-zip.docx", b"PK\x03\x04" + b"\x00" * 64, "corrupt"),
        ("legacy.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "encrypted_or_legacy"),
        ("binary.txt", bytes(range(256)) * 4, "binary"),
    ],
)
def test_corrupt_files_are_refused(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFile) as caught:
        load_document(write(tmp_path, name, data))
    assert caught.value.params["reason"] == reason
    assert caught.value.params["file"] == name


@pytest.mark.parametrize("content", [b"", b"   \n\n\t  \n", "\ufeff  \n".encode()])
def test_empty_files_are_refused(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(EmptyDocument) as caught:
        load_document(write(tmp_path, "empty.txt", content))
    assert caught.value.code == "empty"


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", REGULATION * 50)
    with pytest.raises(FileTooLarge) as caught:
        load_document(path, max_bytes=1024)
    assert caught.value.params["max_bytes"] == 1024
    assert caught.value.params["size"] == path.stat().st_size


@pytest.mark.parametrize("name", ["quyet-dinh.doc", "bang.xlsx", "anh.jpg", "khong-duoi"])
def test_unsupported_extensions_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsupportedFormat) as caught:
        load_document(write(tmp_path, name, REGULATION))
    assert caught.value.code == "unsupported_format"
    assert set(caught.value.params["supported"]) == SUPPORTED_SUFFIXES
    hint = str(caught.value.params["hint"])
    assert hint in caught.value.detail
    if name.endswith(".doc"):
        assert ".docx" in hint
    if name.endswith(".jpg"):
        assert "OCR" in hint


@pytest.mark.parametrize(("name", "detected"), [("really-pdf.txt", "pdf"), ("really-pdf.docx", "pdf")])
def test_content_that_contradicts_the_extension_is_refused(tmp_path: Path, name: str, detected: str) -> None:
    data = make_text_pdf([["Điều 1. Nội dung"]])
    with pytest.raises(UnsupportedFormat) as caught:
        load_document(write(tmp_path, name, data))
    assert caught.value.params["detected"] == detected


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile) as caught:
        load_document(tmp_path / "khong-co.txt")
    assert caught.value.params["reason"] == "missing"


def test_html_drops_scripts_and_keeps_blocks(tmp_path: Path) -> None:
    html = (
        "<html><head><title>x</title><script>var a = 'Điều 9. Sai';</script></head><body>"
        "<nav>Trang chủ | Tin tức</nav><p>QUY ĐỊNH</p><p>về thử nghiệm <b>HTML</b></p>"
        "<div>Điều 1. Phạm vi</div><p>Áp dụng cho <span>cán bộ</span>, công chức.</p>"
        "<style>p { color: red }</style></body></html>"
    )
    doc = load_document(write(tmp_path, "trang.html", html))
    assert doc.meta.title == "về thử nghiệm HTML"
    assert [c.article for c in doc.chunks] == [1]
    assert "Áp dụng cho cán bộ, công chức." in doc.chunks[0].text
    assert "Sai" not in doc.text and "color" not in doc.text and "Trang chủ" not in doc.text


def test_a_batch_loads_the_good_files_and_reports_the_bad(tmp_path: Path) -> None:
    good = write(tmp_path, "a.txt", REGULATION)
    empty = write(tmp_path, "b.txt", b"")
    scan = write(tmp_path, "c.pdf", make_image_pdf(1))
    other = write(tmp_path, "d.md", REGULATION.replace("12-QĐ/TW", "13-QĐ/TW"))
    loaded, refused = load_documents([good, empty, scan, other])
    assert [doc.meta.number for doc in loaded] == ["12-QĐ/TW", "13-QĐ/TW"]
    assert [(path.name, error.code) for path, error in refused] == [("b.txt", "empty"), ("c.pdf", "no_text")]
    assert all(isinstance(error, KnowledgeError) for _, error in refused)


def test_read_text_reports_format_and_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "x.htm", "<p>Điều 1. Nội dung</p>")
    text, fmt, data = read_text(path, max_bytes=10_000)
    assert (text, fmt) == ("Điều 1. Nội dung", "html")
    assert data == path.read_bytes()


def test_a_classification_stamp_on_every_pdf_page_is_not_dropped_as_a_running_header(tmp_path: Path) -> None:
    body = [
        "BỘ CHÍNH TRỊ",
        "Số 77-QĐ/TW",
        "QUY ĐỊNH",
        "về nội dung bảo vệ",
        "",
        "Điều 1. Phạm vi",
        "Văn bản.",
    ]
    pages = [body, ["Điều 2. Trách nhiệm", "Thực hiện."], ["Điều 3. Hiệu lực", "Từ ngày ký."]]
    path = write(tmp_path, "stamped.pdf", make_text_pdf(pages, header="MẬT"))
    with pytest.raises(ClassifiedDocument) as caught:
        load_document(path)
    assert caught.value.params["classification"] == "MẬT"
    allowed = load_document(path, allow_classified=True)
    assert allowed.meta.classification == "MẬT"
    assert [c.article for c in allowed.chunks] == [1, 2, 3]


def test_a_classification_stamp_in_the_word_page_header_counts(tmp_path: Path) -> None:
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "TỐI MẬT"
    for text in ["BỘ CHÍNH TRỊ", "Số 78-QĐ/TW", "QUY ĐỊNH", "về nội dung", "Điều 1. Phạm vi", "Văn bản."]:
        document.add_paragraph(text)
    path = tmp_path / "stamped.docx"
    document.save(str(path))
    with pytest.raises(ClassifiedDocument) as caught:
        load_document(path)
    assert caught.value.params["classification"] == "TỐI MẬT"


def test_a_web_page_with_site_chrome_around_the_document(tmp_path: Path) -> None:
    menu = "".join(f"<div>Chuyên mục {i}</div>" for i in range(30))
    html = (
        f"<html><body><header><h1>Cổng thông tin</h1></header><div class='menu'>{menu}</div>"
        "<p>Tin mới nhất hôm nay</p><p>Văn bản chỉ đạo</p>"
        "<table><tr><td>BỘ CHÍNH TRỊ</td><td>ĐẢNG CỘNG SẢN VIỆT NAM</td></tr>"
        "<tr><td>Số 65-QĐ/TW</td><td>Hà Nội, ngày 28 tháng 4 năm 2022</td></tr></table>"
        "<p>QUY ĐỊNH</p><p>về luân chuyển cán bộ</p>"
        "<p>Điều 1. Phạm vi</p><p>Quy định này áp dụng cho cán bộ lãnh đạo.</p>"
        "<footer>Bản quyền thuộc về cổng thông tin</footer></body></html>"
    )
    doc = load_document(write(tmp_path, "trang-tin.html", html))
    assert (doc.meta.number, doc.meta.issuer, doc.meta.title) == (
        "65-QĐ/TW",
        "BỘ CHÍNH TRỊ",
        "về luân chuyển cán bộ",
    )
    assert [c.article for c in doc.chunks] == [1]
    assert "Chuyên mục" not in "\n".join(c.text for c in doc.chunks)
    assert "Bản quyền" not in doc.text and "Cổng thông tin" not in doc.text


def test_pdf_two_column_header_merged_on_one_line(tmp_path: Path) -> None:
    page = [
        "BAN CHẤP HÀNH TRUNG ƯƠNG\tĐẢNG CỘNG SẢN VIỆT NAM",
        "*",
        "Số 65-QĐ/TW\tHà Nội, ngày 28 tháng 4 năm 2022",
        "QUY ĐỊNH",
        "về luân chuyển cán bộ",
        "",
        "Điều 1. Phạm vi",
        "Quy định này áp dụng cho cán bộ lãnh đạo, quản lý.",
    ]
    doc = load_document(write(tmp_path, "hai-cot.pdf", make_text_pdf([page])))
    meta = doc.meta
    assert (meta.number, meta.issuer, meta.place) == ("65-QĐ/TW", "BAN CHẤP HÀNH TRUNG ƯƠNG", "Hà Nội")
    assert meta.issued is not None and meta.issued.isoformat() == "2022-04-28"
    assert (meta.doc_type, meta.title) == ("QUY ĐỊNH", "về luân chuyển cán bộ")
    assert [c.article for c in doc.chunks] == [1]


_NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
)


def _box(lines: list[str]) -> str:
    paragraphs = "".join(f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in lines)
    return f"<w:txbxContent>{paragraphs}</w:txbxContent>"


def test_docx_text_boxes_and_content_controls_are_read(tmp_path: Path) -> None:
    from docx.oxml import parse_xml

    document = docx.Document()
    anchor = document.add_paragraph()
    header = ["BỘ CHÍNH TRỊ", "Số 12-QĐ/TW", "Hà Nội, ngày 3 tháng 2 năm 2023"]
    # a modern text box with its legacy VML copy: read once
    anchor._p.append(
        parse_xml(
            f"<w:r {_NS}><mc:AlternateContent><mc:Choice Requires='wps'><w:drawing><wps:txbx>{_box(header)}"
            f"</wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{_box(header)}"
            "</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
        )
    )
    for text in ["QUY ĐỊNH", "về hộp văn bản", "Điều 1. Phạm vi", "Nội dung thứ nhất."]:
        document.add_paragraph(text)
    control = parse_xml(
        f"<w:sdt {_NS}><w:sdtContent><w:p><w:r><w:t>Điều 2. Trong điều khiển nội dung</w:t></w:r></w:p>"
        "<w:p><w:r><w:t>Nội dung thứ hai.</w:t></w:r></w:p></w:sdtContent></w:sdt>"
    )
    document.element.body.insert(len(document.element.body) - 1, control)  # before sectPr
    path = tmp_path / "hop.docx"
    document.save(str(path))
    doc = load_document(path)
    assert (doc.meta.number, doc.meta.issuer) == ("12-QĐ/TW", "BỘ CHÍNH TRỊ")
    assert doc.text.count("Số 12-QĐ/TW") == 1
    assert [c.article for c in doc.chunks] == [1, 2]
    assert doc.chunks[1].text == "Điều 2. Trong điều khiển nội dung\nNội dung thứ hai."
