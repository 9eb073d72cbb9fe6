"""The Excel list of a unit's public action programmes, handed to the Fatherland Front and the People's Councils.

One sheet, one row per commitment: the owner (name, post, unit), the term and state, the commitment, its target
and deadline, and its latest progress figure, date and note. Cells go through records/cells.py (text that looks
like a formula stays text); days are shown in the deployment's time zone.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from records import cells
from records.export_xlsx import BOLD, HEADER_ALIGN, HEADER_FILL, HEADER_FONT, TITLE_FONT, sheet_title
from records.localtime import DATE, format_date, format_local, local_date
from records.views import ProgrammeDigest, PublicProgrammes

log = logging.getLogger(__name__)

SHEET = "Chương trình công khai"
TITLE = "Chương trình hành động công khai — {unit} — lập ngày {day}"
SUBTITLE = (
    "Các chương trình hành động đã được thủ trưởng xác nhận, ở mức «Công khai rộng rãi», của {unit} ({code}) "
    "và các đơn vị trực thuộc; gửi Mặt trận Tổ quốc và Hội đồng nhân dân để giám sát."
)
COUNT = "Số chương trình: {count}; số cam kết: {items}."
EMPTY = "Chưa có chương trình hành động công khai nào đã được xác nhận."
HEADERS = (
    "STT",
    "Họ và tên",
    "Chức vụ",
    "Đơn vị",
    "Nhiệm kỳ",
    "Trạng thái",
    "Cam kết",
    "Chỉ tiêu",
    "Hạn hoàn thành",
    "Tiến độ (%)",
    "Cập nhật tiến độ ngày",
    "Ghi chú tiến độ",
)
WIDTHS = (6, 24, 30, 26, 24, 18, 44, 34, 14, 11, 14, 40)
STATES = {"confirmed": "Đang thực hiện", "closed": "Đã kết thúc nhiệm kỳ"}
NOT_YET = "Chưa cập nhật"
DAY_FORMAT = "dd/mm/yyyy"
HEADER_ROW = 5


def _rows(ws: WriteOnlyWorksheet, digest: ProgrammeDigest, start: int, tz: str) -> list[list[object]]:
    view = digest.programme
    term = f"{format_date(view.term_start)} – {format_date(view.term_end)}"
    unit = f"{digest.unit_name} ({digest.unit_code})"
    out: list[list[object]] = []
    for n, item in enumerate(view.items, start):
        latest = digest.latest.get(item.id)
        day: object = NOT_YET
        if latest is not None:
            day = cells.cell(ws, local_date(latest.at, tz), number_format=DAY_FORMAT)
        out.append(
            [
                n,
                view.person_name,
                view.post,
                unit,
                term,
                STATES.get(view.state, view.state),
                item.commitment,
                item.target,
                cells.cell(ws, item.deadline, number_format=DAY_FORMAT),
                item.progress_percent,
                day,
                latest.note if latest is not None else "",
            ]
        )
    return out


def build_public_programmes_workbook(data: PublicProgrammes, *, now: datetime, tz: str) -> Workbook:
    """A write-only workbook of `data`, dated `now` in the zone `tz` (e.g. "Asia/Ho_Chi_Minh")."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title(SHEET, set()))
    for col, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = f"C{HEADER_ROW + 1}"
    title = TITLE.format(unit=data.unit_name, day=format_local(now, tz, DATE))
    cells.append(ws, [cells.cell(ws, title, font=TITLE_FONT)])
    cells.append(ws, [SUBTITLE.format(unit=data.unit_name, code=data.unit_code)])
    items = sum(len(d.programme.items) for d in data.programmes)
    cells.append(ws, [cells.cell(ws, COUNT.format(count=len(data.programmes), items=items), font=BOLD)])
    cells.append(ws, [])
    ws.append(
        [cells.cell(ws, h, font=HEADER_FONT, fill=HEADER_FILL, alignment=HEADER_ALIGN) for h in HEADERS]
    )
    if not data.programmes:
        cells.append(ws, [EMPTY])
    n = 1
    for digest in data.programmes:
        for values in _rows(ws, digest, n, tz):
            cells.append(ws, values)
            n += 1
    return wb


def public_programmes_xlsx_bytes(data: PublicProgrammes, *, now: datetime, tz: str) -> bytes:
    """The workbook as bytes (to send as a Telegram document or write to a file)."""
    buf = io.BytesIO()
    build_public_programmes_workbook(data, now=now, tz=tz).save(buf)
    log.info("public programmes workbook built: programmes=%d bytes=%d", len(data.programmes), buf.tell())
    return buf.getvalue()


def write_public_programmes_xlsx(data: PublicProgrammes, path: Path, *, now: datetime, tz: str) -> Path:
    """Write the workbook to `path` (built in memory first: a bad path leaves no half-written file)."""
    path.write_bytes(public_programmes_xlsx_bytes(data, now=now, tz=tz))
    return path
