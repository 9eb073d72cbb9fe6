"""The Excel list of a unit's public action programmes, handed to the Fatherland Front and the People's Councils.

One sheet, one row per commitment: the owner (name, post, unit), the term and state, the commitment, its target
and deadline, and its latest progress figure, date and note. By default only programmes in progress are listed,
and the fourth row says how many ended ones were left out and how to include them; a list with the ended ones
adds a «Ngày kết thúc» column (the day the closing self-assessment was made) beside the state. Cells go through records/cells.py (text that looks
like a formula stays text); days are shown in the deployment's time zone.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from records import cells
from records.export_xlsx import BOLD, HEADER_ALIGN, HEADER_FILL, HEADER_FONT, TITLE_FONT, sheet_title
from records.localtime import DATE, format_date, format_local, local_date
from records.views import ProgrammeDigest, PublicProgrammes

log = logging.getLogger(__name__)
T = TypeVar("T")

SHEET = "Chương trình công khai"
TITLE = "Chương trình hành động công khai — {unit} — lập ngày {day}"
SUBTITLE = (
    "Các chương trình hành động đang thực hiện (đã được thủ trưởng xác nhận, chưa kết thúc nhiệm kỳ), ở mức "
    "«Công khai rộng rãi», của {unit} ({code}) và các đơn vị trực thuộc; gửi Mặt trận Tổ quốc và Hội đồng nhân "
    "dân để giám sát."
)
SUBTITLE_ENDED = (
    "Các chương trình hành động đã được thủ trưởng xác nhận, ở mức «Công khai rộng rãi», của {unit} ({code}) "
    "và các đơn vị trực thuộc, gồm cả chương trình đã kết thúc nhiệm kỳ; gửi Mặt trận Tổ quốc và Hội đồng nhân "
    "dân để giám sát."
)
COUNT = "Số chương trình: {count}; số cam kết: {items}."
COUNT_ENDED = "Số chương trình: {count} (đang thực hiện: {running}; đã kết thúc nhiệm kỳ: {ended}); số cam kết: {items}."
LEFT_OUT = (
    "Không gồm {ended} chương trình đã kết thúc nhiệm kỳ. Muốn có cả các chương trình đó: gõ "
    "«/chuongtrinh {code} công khai tất cả» trong bot, hoặc chạy "
    "«canbo programmes export-public --unit {code} --include-ended --out TỆP»."
)
EMPTY = "Chưa có chương trình hành động công khai nào đã được xác nhận."
EMPTY_RUNNING = "Không có chương trình hành động công khai nào đang thực hiện."
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
STATE_COLUMN = HEADERS.index("Trạng thái")
ENDED_HEADER = "Ngày kết thúc"  # with the ended programmes: after the state
ENDED_WIDTH = 14
STATES = {"confirmed": "Đang thực hiện", "closed": "Đã kết thúc nhiệm kỳ"}
NOT_YET = "Chưa cập nhật"
DAY_FORMAT = "dd/mm/yyyy"
HEADER_ROW = 5


def _with_ended(values: Sequence[T], ended: T) -> list[T]:
    """`values` laid out for a list with the ended programmes: the end day right after the state."""
    return [*values[: STATE_COLUMN + 1], ended, *values[STATE_COLUMN + 1 :]]


def _rows(
    ws: WriteOnlyWorksheet, digest: ProgrammeDigest, start: int, tz: str, *, include_ended: bool
) -> list[list[object]]:
    view = digest.programme
    ended: object = ""
    if view.closed_at is not None:
        ended = cells.cell(ws, local_date(view.closed_at, tz), number_format=DAY_FORMAT)
    term = f"{format_date(view.term_start)} – {format_date(view.term_end)}"
    unit = f"{digest.unit_name} ({digest.unit_code})"
    out: list[list[object]] = []
    for n, item in enumerate(view.items, start):
        latest = digest.latest.get(item.id)
        day: object = NOT_YET
        if latest is not None:
            day = cells.cell(ws, local_date(latest.at, tz), number_format=DAY_FORMAT)
        values = (
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
        )
        out.append(_with_ended(values, ended) if include_ended else list(values))
    return out


def build_public_programmes_workbook(data: PublicProgrammes, *, now: datetime, tz: str) -> Workbook:
    """A write-only workbook of `data`, dated `now` in the zone `tz` (e.g. "Asia/Ho_Chi_Minh")."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title(SHEET, set()))
    headers, widths = list(HEADERS), list(WIDTHS)
    if data.include_ended:
        headers, widths = _with_ended(HEADERS, ENDED_HEADER), _with_ended(WIDTHS, ENDED_WIDTH)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = f"C{HEADER_ROW + 1}"
    title = TITLE.format(unit=data.unit_name, day=format_local(now, tz, DATE))
    cells.append(ws, [cells.cell(ws, title, font=TITLE_FONT)])
    subtitle = SUBTITLE_ENDED if data.include_ended else SUBTITLE
    cells.append(ws, [subtitle.format(unit=data.unit_name, code=data.unit_code)])
    items = sum(len(d.programme.items) for d in data.programmes)
    ended = sum(1 for d in data.programmes if d.programme.closed_at is not None)
    count = (
        COUNT_ENDED.format(
            count=len(data.programmes), running=len(data.programmes) - ended, ended=ended, items=items
        )
        if data.include_ended
        else COUNT.format(count=len(data.programmes), items=items)
    )
    cells.append(ws, [cells.cell(ws, count, font=BOLD)])
    if data.ended_left_out:
        cells.append(ws, [LEFT_OUT.format(ended=data.ended_left_out, code=data.unit_code)])
    else:
        cells.append(ws, [])
    ws.append(
        [cells.cell(ws, h, font=HEADER_FONT, fill=HEADER_FILL, alignment=HEADER_ALIGN) for h in headers]
    )
    if not data.programmes:
        cells.append(ws, [EMPTY_RUNNING if data.ended_left_out else EMPTY])
    n = 1
    for digest in data.programmes:
        for values in _rows(ws, digest, n, tz, include_ended=data.include_ended):
            cells.append(ws, values)
            n += 1
    return wb


def public_programmes_xlsx_bytes(data: PublicProgrammes, *, now: datetime, tz: str) -> bytes:
    """The workbook as bytes (to send as a Telegram document or write to a file)."""
    buf = io.BytesIO()
    build_public_programmes_workbook(data, now=now, tz=tz).save(buf)
    log.info(
        "public programmes workbook built: programmes=%d ended_left_out=%d bytes=%d",
        len(data.programmes),
        data.ended_left_out,
        buf.tell(),
    )
    return buf.getvalue()


def write_public_programmes_xlsx(data: PublicProgrammes, path: Path, *, now: datetime, tz: str) -> Path:
    """Write the workbook to `path` (built in memory first: a bad path leaves no half-written file)."""
    path.write_bytes(public_programmes_xlsx_bytes(data, now=now, tz=tz))
    return path
