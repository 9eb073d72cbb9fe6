"""The Excel workbook read back with openpyxl: sheet names, Vietnamese headers, totals, people rows, chart."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.export_xlsx import (
    DATE_FORMAT,
    PEOPLE_HEADERS,
    SUMMARY_SHEET,
    sheet_title,
    summary_xlsx_bytes,
    write_summary_xlsx,
)
from records.rules import default_rules
from records.summary import summarize_period, yearly_rollup
from tests.records.flows import RULES, submit
from tests.records.org import Org
from tests.records.test_summary import build_org

HANOI = "Asia/Ho_Chi_Minh"


def test_workbook_contents(db_engine: Engine, tmp_path: Path) -> None:
    org = build_org(db_engine)
    rules = default_rules()
    with Session(db_engine) as session:
        summary = summarize_period(
            session, unit_code="ROOT", period="2026-10", rules=rules, include_people=True
        )
        rollup = yearly_rollup(session, unit_code="ROOT", year=2026, rules=rules)
    path = write_summary_xlsx(summary, tmp_path / "tong-hop.xlsx", tz=HANOI, yearly=rollup)
    wb = load_workbook(path)
    assert wb.sheetnames == [
        SUMMARY_SHEET,
        "ROOT Quận ủy Thử nghiệm",
        "W1 Đảng ủy phường Một",
        "C1 Chi bộ khu dân cư số 1",
        "W2 Đảng ủy phường Hai",
        "W3 Đảng ủy phường Ba",
        "Cả năm 2026",
    ]
    ws = wb[SUMMARY_SHEET]
    assert ws["A1"].value == "TỔNG HỢP ĐÁNH GIÁ, XẾP LOẠI KỲ 2026-10"
    header = [c.value for c in ws[5]]
    assert header[:9] == [
        "Mã đơn vị", "Tên đơn vị", "Cấp", "Số người", "Đã nộp", "Nộp muộn", "Chưa nộp", "Đã nhận xét", "Đã quyết định",
    ]  # fmt: skip
    assert header[9:13] == ["Loại A", "Loại B", "Loại C", "Loại D"]
    assert ws.freeze_panes == "C6"
    assert ws.column_dimensions["B"].width >= 30
    rows = {r[0]: r for r in ws.iter_rows(min_row=6, max_row=10, values_only=True)}
    assert rows["W1"][3:13] == (10, 10, 1, 0, 9, 9, 4, 3, 1, 1)
    total = next(r for r in ws.iter_rows(min_row=6, values_only=True) if r[1] == "Tổng cộng")
    assert total[3:13] == (29, 26, 2, 3, 24, 23, 8, 12, 2, 1)
    # Per-unit sums add up to the totals row.
    assert sum(r[3] for r in rows.values()) == 29
    assert len(ws._charts) == 1
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("Đảng ủy phường Một (W1): 4 người loại A" in t for t in texts)
    assert any(t == "Kỳ 2026-09" for t in texts)
    # A unit sheet: headers, one row per expected person, states in Vietnamese.
    w1 = wb["W1 Đảng ủy phường Một"]
    assert [c.value for c in w1[2]] == list(PEOPLE_HEADERS)
    people = list(w1.iter_rows(min_row=3, values_only=True))
    assert len(people) == 10
    assert sorted(r[10] for r in people if r[10]) == sorted("AAAABBBCD")
    late_row = next(r for r in people if r[6] == "Có")
    assert late_row[5] == "Đã nộp, chờ nhận xét"
    assert w1.freeze_panes == "D3"
    c1_states = {r[5] for r in wb["C1 Chi bộ khu dân cư số 1"].iter_rows(min_row=3, values_only=True)}
    assert c1_states == {"Trả lại để hoàn thiện", "Đã nhận xét, chờ quyết định", "Đang soạn, chưa nộp"}
    year = wb["Cả năm 2026"]
    assert [c.value for c in year[2]][:4] == ["Mã cán bộ", "Họ và tên", "Mã đơn vị", "2026-01"]
    assert year.max_row - 2 == len(rollup.people) and org.people


def test_sheet_titles_are_safe_and_unique() -> None:
    taken: set[str] = set()
    first = sheet_title("CB/01 Chi bộ [khu] dân cư số 1: rất dài tên đơn vị", taken)
    second = sheet_title("CB/01 Chi bộ [khu] dân cư số 1: rất dài tên đơn vị", taken)
    assert len(first) <= 31 and len(second) <= 31 and first != second
    assert not set("[]:*?/\\") & set(first + second)


def test_times_are_written_in_the_configured_zone(db_engine: Engine, org: Org) -> None:
    """A 09:00 submission in Hà Nội is stored as 02:00 UTC: the sheet shows 09:00, and «Lập lúc» the given clock."""
    submit(db_engine, org.people["BD03"], now=datetime(2026, 6, 2, 2, 0, tzinfo=UTC))
    made = datetime(2026, 6, 10, 17, 30, tzinfo=UTC)  # 00:30 on 11 June in Hà Nội
    with Session(db_engine) as session:
        summary = summarize_period(
            session, unit_code="BD", period="2026-05", rules=RULES, include_people=True, now=made
        )
    wb = load_workbook(io.BytesIO(summary_xlsx_bytes(summary, tz=HANOI)))
    assert wb[SUMMARY_SHEET]["A3"].value == "Lập lúc: 11/06/2026 00:30"
    sheet = wb["BD Quận ủy Ba Đình"]
    column = PEOPLE_HEADERS.index("Thời điểm nộp") + 1
    cell = next(row[column - 1] for row in sheet.iter_rows(min_row=3) if row[1].value == "BD03")
    assert cell.value == datetime(2026, 6, 2, 9, 0) and cell.number_format == DATE_FORMAT
    # Another zone, the same instants: the zone is the caller's, not a constant.
    tokyo = load_workbook(io.BytesIO(summary_xlsx_bytes(summary, tz="Asia/Tokyo")))
    assert tokyo[SUMMARY_SHEET]["A3"].value == "Lập lúc: 11/06/2026 02:30"
    row = next(
        r for r in tokyo["BD Quận ủy Ba Đình"].iter_rows(min_row=3, values_only=True) if r[1] == "BD03"
    )
    assert row[column - 1] == datetime(2026, 6, 2, 11, 0)
