"""Upload abuse through the real bot: an admin sends a file over the size limit, a DOCX zip bomb, a PDF without
a text layer, an XLSX of a million rows, an XLSX zip bomb, a CSV in no Vietnamese encoding and binary data named
.csv. Each gets its own clear Vietnamese message; nothing saved changes and no roster is staged."""

from __future__ import annotations

import pytest

from bot import texts
from bot.localapi.markup import parse_html
from knowledge.loaders import MAX_DOCX_UNPACKED_BYTES
from records.roster import MAX_ROWS, MAX_UNPACKED_PARTS_BYTES
from tests.hostile.conftest import USERS, Arena
from tests.hostile.files import docx_bomb, xlsx_bomb, xlsx_rows
from tests.knowledge.files import make_docx, make_image_pdf

pytestmark = pytest.mark.slow

HEADER = ("Mã cán bộ", "Họ và tên", "Mã đơn vị", "Tên đơn vị")
ROW = ("A1", "Lê Thị Hoa", "TU", "Thành ủy Hà Nội")


def plain(html: str) -> str:
    """A reply template as the user reads it (tags gone, entities decoded)."""
    return parse_html(html).text


def roster_issue(code: str, value: str = "") -> str:
    return plain(texts.ROSTER_FILE_ERROR.format(message=texts.ROSTER_ISSUES[code].format(value=value)))


def test_abusive_uploads_get_their_own_message_and_change_nothing(arena: Arena) -> None:
    admin = USERS["QT01"]
    docx = make_docx(["QUY ĐỊNH", "Điều 1. Phạm vi điều chỉnh", "Quy định này áp dụng cho cán bộ."])
    cases: list[tuple[str, bytes, list[str]]] = [
        (
            "lon.pdf",
            b"%PDF-1.4\n" + b"0" * (21 * 1024 * 1024),
            [plain(texts.UPLOAD_TOO_LARGE.format(name="lon.pdf", size="21", limit=20))],
        ),
        (
            "bom.docx",
            docx_bomb(docx, MAX_DOCX_UNPACKED_BYTES + (1 << 20)),
            [plain(texts.UPLOAD_UNPACKED_TOO_LARGE.format(name="bom.docx"))],
        ),
        (
            "scan.pdf",
            make_image_pdf(pages=2),
            [plain(texts.UPLOAD_REFUSED.format(name="scan.pdf", reason=texts.describe_error("no_text")))],
        ),
        (
            "trieu-dong.xlsx",
            xlsx_rows(HEADER, ROW, 1_000_000),
            [
                plain(texts.ROSTER_REJECTED.format(name="trieu-dong.xlsx")),
                roster_issue("too_many_rows", str(MAX_ROWS)),
            ],
        ),
        (
            "bom.xlsx",
            xlsx_bomb("xl/styles.xml", MAX_UNPACKED_PARTS_BYTES + (1 << 20)),
            [roster_issue("unpacked_too_large")],
        ),
        (
            "ds.csv",
            b"Ma can bo,Ho va ten,Ma don vi\n" + "A1,山田太郎,TU\n".encode("shift_jis"),
            [roster_issue("bad_encoding")],
        ),
        (
            "anh.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,
            [roster_issue("unreadable")],
        ),
    ]
    before = arena.digest()
    for name, data, expected in cases:
        outcome = arena.upload(admin, data, name)
        for wording in expected:
            assert wording in outcome.everything, (name, outcome.texts)
        assert not any("Mã sự cố" in t for t in outcome.texts), (name, outcome.texts)
    assert arena.digest() == before


def test_a_non_admin_upload_is_refused_before_it_is_read(arena: Arena) -> None:
    before = arena.digest()
    outcome = arena.upload(USERS["HK04"], b"Ma can bo,Ho va ten,Ma don vi\nA1,B,TU\n", "ds.csv")
    assert "quản trị" in outcome.everything, outcome.texts
    assert arena.digest() == before
