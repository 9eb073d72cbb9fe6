"""Excel workbooks of a period summary: a summary sheet with a chart, one sheet per unit, a yearly roll-up."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from records.summary import PeriodSummary, PersonStatus, UnitSummary, YearlyRollup

log = logging.getLogger(__name__)

SUMMARY_SHEET = "Tổng hợp"
OTHER_UNITS_SHEET = "Các đơn vị khác"
STATE_LABELS = {
    "missing": "Chưa nộp",
    "draft": "Đang soạn, chưa nộp",
    "submitted": "Đã nộp, chờ nhận xét",
    "returned": "Trả lại để hoàn thiện",
    "reviewed": "Đã nhận xét, chờ quyết định",
    "decided": "Đã quyết định xếp loại",
}
UNIT_HEADERS = ("Mã đơn vị", "Tên đơn vị", "Cấp", "Số người", "Đã nộp", "Nộp muộn", "Chưa nộp", "Đã nhận xét")
PEOPLE_HEADERS = (
    "STT",
    "Mã cán bộ",
    "Họ và tên",
    "Chức vụ",
    "Mã đơn vị",
    "Trạng thái",
    "Nộp muộn",
    "Thời điểm nộp",
    "Tổng điểm",
    "Tự xếp loại",
    "Xếp loại cuối cùng",
)
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
WARN_FONT = Font(bold=True, color="C00000")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_title(text: str, taken: set[str]) -> str:
    """An Excel-safe, unique (case-insensitive) sheet name of at most 31 characters."""
    base = _BAD_SHEET_CHARS.sub("-", text).strip("' ") or "Sheet"
    base = base[:31]
    name, n = base, 2
    while name.casefold() in taken:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name.casefold())
    return name


def _header_row(ws: Worksheet, row: int, headers: Sequence[str]) -> None:
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=col, value=text)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _widths(ws: Worksheet, widths: Sequence[float]) -> None:
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _unit_row(unit: UnitSummary, grade_codes: Sequence[str]) -> list[object]:
    c = unit.counts
    row: list[object] = [unit.code, "    " * unit.depth + unit.name, unit.depth, c.expected, c.submitted]
    row += [c.late, c.missing, c.reviewed, c.decided]
    row += [c.grades.get(code, 0) for code in grade_codes]
    return row


def _write_summary_sheet(ws: Worksheet, summary: PeriodSummary) -> None:
    codes = list(summary.grade_codes)
    ws.cell(row=1, column=1, value=f"TỔNG HỢP ĐÁNH GIÁ, XẾP LOẠI KỲ {summary.period}").font = TITLE_FONT
    ws.cell(row=2, column=1, value=f"Đơn vị: {summary.unit_name} ({summary.unit_code})")
    if summary.generated_at is not None:
        ws.cell(row=3, column=1, value=f"Lập lúc: {summary.generated_at:%d/%m/%Y %H:%M}")
    headers = [*UNIT_HEADERS, "Đã quyết định", *[f"Loại {c}" for c in codes]]
    header_row = 5
    _header_row(ws, header_row, headers)
    row = header_row
    for unit in summary.units:
        row += 1
        for col, value in enumerate(_unit_row(unit, codes), start=1):
            ws.cell(row=row, column=col, value=value)
    row += 1
    t = summary.total
    totals: list[object] = [
        "",
        "Tổng cộng",
        "",
        t.expected,
        t.submitted,
        t.late,
        t.missing,
        t.reviewed,
        t.decided,
    ]
    totals += [t.grades.get(c, 0) for c in codes]
    for col, value in enumerate(totals, start=1):
        ws.cell(row=row, column=col, value=value).font = BOLD
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
    _widths(ws, [16, 44, 6, 10, 10, 10, 10, 12, 14, *[10] * len(codes)])
    ws.row_dimensions[header_row].height = 32

    # Distribution block, the chart's data: grade, name, this period, previous period.
    row += 2
    dist_header = row
    prev_label = f"Kỳ {summary.previous_period}" if summary.previous is not None else "Kỳ trước"
    _header_row(ws, dist_header, ["Loại", "Mức xếp loại", f"Kỳ {summary.period}", prev_label, "Tăng/giảm"])
    for code in codes:
        row += 1
        now = t.grades.get(code, 0)
        before = summary.previous.grades.get(code, 0) if summary.previous is not None else None
        values: list[object] = [code, summary.grade_names.get(code, code), now, before]
        values.append(now - before if before is not None else None)
        for col, value in enumerate(values, start=1):
            ws.cell(row=row, column=col, value=value)
    if summary.previous is not None:
        for label, now_v, before_v in (
            ("Đã nộp", t.submitted, summary.previous.submitted),
            ("Nộp muộn", t.late, summary.previous.late),
            ("Chưa nộp", t.missing, summary.previous.missing),
        ):
            row += 1
            for col, value in enumerate(["", label, now_v, before_v, now_v - before_v], start=1):
                ws.cell(row=row, column=col, value=value)

    chart = BarChart()
    chart.type = "col"
    chart.title = f"Kết quả xếp loại kỳ {summary.period}"
    chart.y_axis.title = "Số người"
    chart.x_axis.title = "Loại"
    last_col = 4 if summary.previous is not None else 3
    data = Reference(ws, min_col=3, max_col=last_col, min_row=dist_header, max_row=dist_header + len(codes))
    cats = Reference(ws, min_col=1, min_row=dist_header + 1, max_row=dist_header + len(codes))
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    chart.height, chart.width = 7.5, 14
    ws.add_chart(chart, f"G{dist_header}")

    row += 2
    ws.cell(row=row, column=1, value="Kiểm tra tỷ lệ xếp loại").font = BOLD
    if not summary.breaches:
        ws.cell(row=row + 1, column=1, value="Không có đơn vị vượt mức quy định.")
    for i, breach in enumerate(summary.breaches, start=1):
        ws.cell(row=row + i, column=1, value=breach.describe()).font = WARN_FONT


def _person_row(n: int, p: PersonStatus) -> list[object]:
    return [
        n,
        p.code,
        p.full_name,
        p.position,
        p.unit_code,
        STATE_LABELS.get(p.state, p.state),
        "Có" if p.late else "",
        p.submitted_at.replace(tzinfo=None) if p.submitted_at is not None else None,
        p.total_points,
        p.proposed_grade,
        p.final_grade,
    ]


def _write_people_sheet(ws: Worksheet, title: str, people: Sequence[PersonStatus]) -> None:
    ws.cell(row=1, column=1, value=title).font = BOLD
    _header_row(ws, 2, PEOPLE_HEADERS)
    for n, person in enumerate(people, start=1):
        ws.append(_person_row(n, person))
    for (cell,) in ws.iter_rows(min_row=3, min_col=8, max_col=8):
        cell.number_format = "dd/mm/yyyy hh:mm"
    ws.freeze_panes = "D3"
    _widths(ws, [6, 14, 28, 24, 14, 26, 10, 17, 10, 11, 14])
    ws.auto_filter.ref = f"A2:{get_column_letter(len(PEOPLE_HEADERS))}{len(people) + 2}"


def _write_yearly_sheet(ws: Worksheet, rollup: YearlyRollup) -> None:
    codes = list(rollup.grade_codes)
    ws.cell(row=1, column=1, value=f"Kết quả xếp loại năm {rollup.year} — {rollup.unit_name}").font = BOLD
    headers = ["Mã cán bộ", "Họ và tên", "Mã đơn vị", *rollup.periods, *[f"Số lần {c}" for c in codes]]
    _header_row(ws, 2, headers)
    for person in rollup.people:
        ws.append(
            [
                person.code,
                person.full_name,
                person.unit_code,
                *[person.grades.get(p) for p in rollup.periods],
                *[person.count(c) for c in codes],
            ]
        )
    ws.freeze_panes = "D3"
    _widths(ws, [14, 28, 14, *[9] * len(rollup.periods), *[9] * len(codes)])


def build_summary_workbook(
    summary: PeriodSummary, *, yearly: YearlyRollup | None = None, max_unit_sheets: int = 100
) -> Workbook:
    """The workbook: "Tổng hợp" first, one sheet per unit with people (the first `max_unit_sheets`),
    the rest of the people on "Các đơn vị khác", then the yearly roll-up when given."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    taken: set[str] = set()
    ws.title = sheet_title(SUMMARY_SHEET, taken)
    _write_summary_sheet(ws, summary)
    units = [u for u in summary.units if u.people]
    for unit in units[:max_unit_sheets]:
        sheet = wb.create_sheet(sheet_title(f"{unit.code} {unit.name}", taken))
        _write_people_sheet(sheet, f"{unit.name} ({unit.code}) — kỳ {summary.period}", unit.people)
    overflow = [p for u in units[max_unit_sheets:] for p in u.people]
    if overflow:
        sheet = wb.create_sheet(sheet_title(OTHER_UNITS_SHEET, taken))
        _write_people_sheet(
            sheet, f"{len(units) - max_unit_sheets} đơn vị khác — kỳ {summary.period}", overflow
        )
    if yearly is not None:
        _write_yearly_sheet(wb.create_sheet(sheet_title(f"Cả năm {yearly.year}", taken)), yearly)
    return wb


def summary_xlsx_bytes(summary: PeriodSummary, *, yearly: YearlyRollup | None = None) -> bytes:
    """The workbook as bytes (e.g. to send as a Telegram document)."""
    buf = io.BytesIO()
    build_summary_workbook(summary, yearly=yearly).save(buf)
    return buf.getvalue()


def write_summary_xlsx(summary: PeriodSummary, path: Path, *, yearly: YearlyRollup | None = None) -> Path:
    """Write the workbook to `path`."""
    wb = build_summary_workbook(summary, yearly=yearly)
    wb.save(path)
    log.info("wrote summary workbook: period=%s sheets=%d", summary.period, len(wb.sheetnames))
    return path
