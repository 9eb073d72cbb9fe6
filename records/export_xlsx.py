"""Excel workbooks of a period summary: a summary sheet with a chart, one sheet per unit, a yearly roll-up."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from records import cells
from records.localtime import format_local, local_wall_time
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
OVERRIDE_HEADERS = (
    "Mã đơn vị",
    "Tên đơn vị",
    "Mã cán bộ",
    "Họ và tên",
    "Xếp loại",
    "Người quyết định",
    "Thời điểm quyết định",
    "Lý do",
)
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
WARN_FONT = Font(bold=True, color="C00000")
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
DATE_FORMAT = "dd/mm/yyyy hh:mm"
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


def _append(ws: WriteOnlyWorksheet, values: Sequence[object]) -> None:
    cells.append(ws, values)


def _styled(ws: WriteOnlyWorksheet, value: object, *, font: Font | None = None, header: bool = False) -> Cell:
    if header:
        return cells.cell(ws, value, font=HEADER_FONT, fill=HEADER_FILL, alignment=HEADER_ALIGN)
    return cells.cell(ws, value, font=font)


def _header(ws: WriteOnlyWorksheet, headers: Sequence[str]) -> list[Cell]:
    return [_styled(ws, text, header=True) for text in headers]


def _widths(ws: WriteOnlyWorksheet, widths: Sequence[float]) -> None:
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _unit_row(unit: UnitSummary, grade_codes: Sequence[str]) -> list[object]:
    c = unit.counts
    row: list[object] = [unit.code, "    " * unit.depth + unit.name, unit.depth, c.expected, c.submitted]
    row += [c.late, c.missing, c.reviewed, c.decided]
    row += [c.grades.get(code, 0) for code in grade_codes]
    return row


def _write_summary_sheet(ws: WriteOnlyWorksheet, summary: PeriodSummary, tz: str) -> None:
    """Rows are streamed in order: title, unit table with totals, distribution block (+ chart), quota check."""
    codes = list(summary.grade_codes)
    header_row = 5
    _widths(ws, [16, 44, 6, 10, 10, 10, 10, 12, 14, *[10] * len(codes)])
    ws.freeze_panes = f"C{header_row + 1}"
    _append(ws, [_styled(ws, f"TỔNG HỢP ĐÁNH GIÁ, XẾP LOẠI KỲ {summary.period}", font=TITLE_FONT)])
    _append(ws, [f"Đơn vị: {summary.unit_name} ({summary.unit_code})"])
    made = summary.generated_at
    _append(ws, [f"Lập lúc: {format_local(made, tz)}" if made is not None else None])
    _append(ws, [])
    _append(ws, _header(ws, [*UNIT_HEADERS, "Đã quyết định", *[f"Loại {c}" for c in codes]]))
    row = header_row
    for unit in summary.units:
        _append(ws, _unit_row(unit, codes))
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
    _append(ws, [_styled(ws, v, font=BOLD) for v in totals])
    _append(ws, [])
    row += 2

    # Distribution block, the chart's data: grade, name, this period, previous period, change.
    _append(ws, [])
    dist_header = row + 1
    prev_label = f"Kỳ {summary.previous_period}" if summary.previous is not None else "Kỳ trước"
    _append(ws, _header(ws, ["Loại", "Mức xếp loại", f"Kỳ {summary.period}", prev_label, "Tăng/giảm"]))
    for code in codes:
        now = t.grades.get(code, 0)
        before = summary.previous.grades.get(code, 0) if summary.previous is not None else None
        _append(
            ws,
            [
                code,
                summary.grade_names.get(code, code),
                now,
                before,
                now - before if before is not None else None,
            ],
        )
    if summary.previous is not None:
        for label, now_v, before_v in (
            ("Đã nộp", t.submitted, summary.previous.submitted),
            ("Nộp muộn", t.late, summary.previous.late),
            ("Chưa nộp", t.missing, summary.previous.missing),
        ):
            _append(ws, ["", label, now_v, before_v, now_v - before_v])
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
    chart.anchor = f"G{dist_header}"
    ws.add_chart(chart)

    _append(ws, [])
    _append(ws, [_styled(ws, "Kiểm tra tỷ lệ xếp loại", font=BOLD)])
    if not summary.breaches:
        _append(ws, ["Không có đơn vị vượt mức quy định."])
    for breach in summary.breaches:
        _append(ws, [_styled(ws, breach.describe(), font=WARN_FONT)])
    if summary.overrides:
        _append(ws, [])
        _append(ws, [_styled(ws, "Quyết định xếp loại vượt tỷ lệ đã được xác nhận", font=BOLD)])
        _append(ws, _header(ws, OVERRIDE_HEADERS))
        for o in summary.overrides:
            decided = cells.cell(ws, local_wall_time(o.decided_at, tz), number_format=DATE_FORMAT)
            _append(
                ws,
                [
                    o.unit_code,
                    o.unit_name,
                    o.person_code,
                    o.person_name,
                    o.grade,
                    o.decided_by or "Quản trị hệ thống",
                    decided,
                    o.reason,
                ],
            )


def _write_people_sheet(ws: WriteOnlyWorksheet, title: str, people: Sequence[PersonStatus], tz: str) -> None:
    _widths(ws, [6, 14, 28, 24, 14, 26, 10, 17, 10, 11, 14])
    ws.freeze_panes = "D3"
    ws.auto_filter.ref = f"A2:{get_column_letter(len(PEOPLE_HEADERS))}{len(people) + 2}"
    _append(ws, [_styled(ws, title, font=BOLD)])
    _append(ws, _header(ws, PEOPLE_HEADERS))
    for n, p in enumerate(people, start=1):
        submitted: Cell | None = None
        if p.submitted_at is not None:
            submitted = cells.cell(ws, local_wall_time(p.submitted_at, tz), number_format=DATE_FORMAT)
        _append(
            ws,
            [
                n,
                p.code,
                p.full_name,
                p.position,
                p.unit_code,
                STATE_LABELS.get(p.state, p.state),
                "Có" if p.late else "",
                submitted,
                p.total_points,
                p.proposed_grade,
                p.final_grade,
            ],
        )


def _write_yearly_sheet(ws: WriteOnlyWorksheet, rollup: YearlyRollup) -> None:
    codes = list(rollup.grade_codes)
    _widths(ws, [14, 28, 14, *[9] * len(rollup.periods), *[9] * len(codes)])
    ws.freeze_panes = "D3"
    _append(ws, [_styled(ws, f"Kết quả xếp loại năm {rollup.year} — {rollup.unit_name}", font=BOLD)])
    _append(
        ws,
        _header(
            ws, ["Mã cán bộ", "Họ và tên", "Mã đơn vị", *rollup.periods, *[f"Số lần {c}" for c in codes]]
        ),
    )
    for person in rollup.people:
        _append(
            ws,
            [
                person.code,
                person.full_name,
                person.unit_code,
                *[person.grades.get(p) for p in rollup.periods],
                *[person.count(c) for c in codes],
            ],
        )


def build_summary_workbook(
    summary: PeriodSummary, *, tz: str, yearly: YearlyRollup | None = None, max_unit_sheets: int = 100
) -> Workbook:
    """A streaming (write-only) workbook, to be saved once: "Tổng hợp" first, one sheet per unit with people
    (the first `max_unit_sheets`), the rest of the people on "Các đơn vị khác", then the yearly roll-up.

    Every time in it is the wall-clock time of the time zone `tz` (e.g. "Asia/Ho_Chi_Minh")."""
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    _write_summary_sheet(wb.create_sheet(sheet_title(SUMMARY_SHEET, taken)), summary, tz)
    units = [u for u in summary.units if u.people]
    for unit in units[:max_unit_sheets]:
        sheet = wb.create_sheet(sheet_title(f"{unit.code} {unit.name}", taken))
        _write_people_sheet(sheet, f"{unit.name} ({unit.code}) — kỳ {summary.period}", unit.people, tz)
    overflow = [p for u in units[max_unit_sheets:] for p in u.people]
    if overflow:
        sheet = wb.create_sheet(sheet_title(OTHER_UNITS_SHEET, taken))
        _write_people_sheet(
            sheet, f"{len(units) - max_unit_sheets} đơn vị khác — kỳ {summary.period}", overflow, tz
        )
    if yearly is not None:
        _write_yearly_sheet(wb.create_sheet(sheet_title(f"Cả năm {yearly.year}", taken)), yearly)
    return wb


def summary_xlsx_bytes(summary: PeriodSummary, *, tz: str, yearly: YearlyRollup | None = None) -> bytes:
    """The workbook as bytes (e.g. to send as a Telegram document), its times in the zone `tz`."""
    buf = io.BytesIO()
    wb = build_summary_workbook(summary, tz=tz, yearly=yearly)
    sheets = len(wb.sheetnames)
    wb.save(buf)
    log.info("summary workbook built: period=%s sheets=%d bytes=%d", summary.period, sheets, buf.tell())
    return buf.getvalue()


def write_summary_xlsx(
    summary: PeriodSummary, path: Path, *, tz: str, yearly: YearlyRollup | None = None
) -> Path:
    """Write the workbook to `path` (built in memory first: a bad path leaves no half-written file)."""
    data = summary_xlsx_bytes(summary, tz=tz, yearly=yearly)
    path.write_bytes(data)
    return path
