"""Roster files a careless or hostile admin may send: Windows-1258 and UTF-16 text, bytes of no Vietnamese
encoding, binary data named .csv, an XLSX of a million rows or 16,384 columns, an XLSX zip bomb. Each is read
right or refused with one file-level issue; nothing is written for a refused file."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from records.db import session_scope
from records.errors import ImportRejected
from records.people import find_person_by_code
from records.roster import MAX_ROWS, MAX_UNPACKED_PARTS_BYTES, import_roster, parse_roster
from records.schema import Person
from tests.hostile.files import cp1258, xlsx_bomb, xlsx_rows, xlsx_wide

HEADER = ("Mã cán bộ", "Họ và tên", "Mã đơn vị", "Tên đơn vị")
ROW = ("A1", "Lê Thị Hoa", "U1", "Chi bộ Phường Đội Cấn")


def _issues(data: bytes, filename: str) -> list[tuple[str, str | None]]:
    rows, issues = parse_roster(data, filename)
    assert rows == [] or issues
    return [(i.code, i.value) for i in issues]


def test_windows_vietnamese_csv_is_read_with_precomposed_letters(db_engine: Engine) -> None:
    text = ";".join(HEADER) + "\n" + ";".join(ROW) + "\n"
    data = cp1258(text)
    assert b"\xd2" in data or b"\xf2" in data  # a combining tone mark really is in the file
    with session_scope(db_engine) as session:
        report = import_roster(session, data=data, filename="ds.csv")
    assert report.people_created == 1
    with Session(db_engine) as session:
        hoa = find_person_by_code(session, cadre_code="A1")
        assert hoa is not None
        assert hoa.full_name == "Lê Thị Hoa"  # NFC, equal to the same name typed on a phone
        assert hoa.unit_name == "Chi bộ Phường Đội Cấn"


def test_excel_unicode_text_utf16_with_tabs_is_read() -> None:
    text = "\t".join(HEADER) + "\r\n" + "\t".join(ROW) + "\r\n"
    rows, issues = parse_roster(text.encode("utf-16"), "ds.txt")
    assert issues == []
    assert [r.values["full_name"] for r in rows] == ["Lê Thị Hoa"]


def test_bytes_of_no_vietnamese_encoding_and_binary_data_are_refused(db_engine: Engine) -> None:
    shift_jis = b"Ma can bo,Ho va ten,Ma don vi\n" + "A1,山田太郎,U1\n".encode("shift_jis")
    assert _issues(shift_jis, "ds.csv") == [("bad_encoding", "ds.csv")]
    binary = b"PK\x00\x00" + bytes(range(256)) * 40  # NUL bytes: a spreadsheet renamed .csv
    assert _issues(binary, "ds.csv") == [("unreadable", "ds.csv")]
    with session_scope(db_engine) as session:
        before = session.exec(select(func.count()).select_from(Person)).one()
    for data in (shift_jis, binary):
        with pytest.raises(ImportRejected), session_scope(db_engine) as session:
            import_roster(session, data=data, filename="ds.csv")
    with session_scope(db_engine) as session:
        assert session.exec(select(func.count()).select_from(Person)).one() == before


def test_a_million_row_xlsx_is_refused_as_a_whole_after_reading_past_the_limit_only() -> None:
    data = xlsx_rows(HEADER, ROW, 1_000_000)
    assert len(data) < 20 * 1024 * 1024  # it fits under the upload limit, so the parser must cope
    assert _issues(data, "ds.xlsx") == [("too_many_rows", str(MAX_ROWS))]


def test_a_sheet_claiming_16384_columns_reads_the_roster_columns() -> None:
    rows, issues = parse_roster(xlsx_wide(HEADER, ROW), "ds.xlsx")
    assert issues == []
    assert [(r.values["cadre_code"], r.values["full_name"]) for r in rows] == [("A1", "Lê Thị Hoa")]


def test_an_xlsx_zip_bomb_is_refused_unread() -> None:
    data = xlsx_bomb("xl/styles.xml", MAX_UNPACKED_PARTS_BYTES + (1 << 20))  # parts read whole into memory
    assert len(data) < 1024 * 1024
    assert _issues(data, "ds.xlsx") == [("unpacked_too_large", "ds.xlsx")]
