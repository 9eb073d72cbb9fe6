"""Hostile text in every workbook the bot sends (issues #11, #13), through the real bot on SQLite and Postgres.

A roster whose cells hold control characters and text that a spreadsheet takes for a formula (names and
positions starting with «=», «-», «@», «+»), a plan task typed in chat starting with «=» and «+», a chat message
with a control character (refused, nothing saved): then the cadre's own-data export (/dulieu) and the staff
summary (/tonghop) arrive as workbooks that openpyxl reads back with the text intact (minus what a worksheet
cannot hold), not one formula, and every such text a string cell with Excel's quote prefix.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select

from bot import texts
from records.db import make_engine, session_scope
from records.schema import Evaluation, Person
from tests.e2e_workflows.conftest import ROSTER_CSV, USERS, Flow, running_flow

NAME_IN_FILE = "=1+1 Phạm\x01Thị\x1f Dung"  # \x1f is whitespace to the roster reader; \x01 is not
NAME_STORED = "=1+1 Phạm\x01Thị Dung"
NAME_IN_WORKBOOK = "=1+1 PhạmThị Dung"
POSITION = "@Chuyên viên"
OTHER_NAME = "-Hoàng Văn Em"  # «-» and «+» are formulas to Excel once the cell is edited, not to openpyxl
OTHER_POSITION = "+84 Chuyên viên"
TASK = "=SUM(A1:A9) báo cáo quý"

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgres"])
def hostile_flow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flow]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    roster = ROSTER_CSV.replace(
        "Phạm Thị Dung,0904000004,Chuyên viên", f"{NAME_IN_FILE},0904000004,{POSITION}"
    )
    roster = roster.replace(
        "Hoàng Văn Em,0905000005,Chuyên viên", f"{OTHER_NAME},0905000005,{OTHER_POSITION}"
    )
    assert roster.count(POSITION) == roster.count(OTHER_POSITION) == 1
    with running_flow(tmp_path, start="2026-10-02T09:00:00+07:00", database_url=url, roster=roster) as world:
        yield world


def _workbook_texts(data: bytes) -> tuple[list[str], list[str]]:
    """Every text cell of the workbook, and every cell a spreadsheet would evaluate: one openpyxl reads as a
    formula, or text starting with «=», «+», «-» or «@» without the quote prefix that keeps it text in Excel."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    values, formulas = [], []
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    formulas.append(f"{ws.title}!{c.coordinate}={c.value}")
                elif isinstance(c.value, str):
                    values.append(c.value)
                    if c.value.startswith(("=", "+", "-", "@")) and not (
                        c.data_type == "s" and c.quotePrefix
                    ):
                        formulas.append(f"{ws.title}!{c.coordinate}: {c.value!r} without a quote prefix")
    return values, formulas


def _document(flow: Flow, code: str, name: str, after: int) -> bytes:
    doc = flow.telegram.wait_for(
        USERS[code],
        lambda m: m.document is not None and m.document.file_name == name,
        after=after,
        timeout=60,
    )
    assert doc.document is not None
    return doc.document.data


def test_hostile_text_reaches_every_workbook_as_text(hostile_flow: Flow) -> None:
    flow = hostile_flow
    # A chat message with a control character is refused before anything is saved.
    refused = flow.say("BD03", "Quy định\x00 về bổ nhiệm?", "ký tự điều khiển")
    assert refused.body == texts.CONTROL_CHARACTERS
    # A plan task that a spreadsheet would take for a formula is ordinary text for the bot.
    plan = flow.say("BD03", "/kehoach", "Kế hoạch công việc kỳ 2026-10")
    flow.press("BD03", plan, "➕ Thêm việc", "Gõ một việc theo mẫu")
    saved = flow.say("BD03", f"{TASK} | +84 kết quả | 25/10", "Đã lưu việc")
    flow.press("BD03", saved, "✅ Xong", "Đã lưu kế hoạch kỳ 2026-10")
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            records = session.exec(select(Evaluation).where(Evaluation.period == "2026-10")).all()
            assert len(records) == 1  # saved once
            person = session.exec(select(Person).where(Person.cadre_code == "BD03")).one()
            assert person.full_name == NAME_STORED  # the roster kept the odd character: the writer must cope
    finally:
        engine.dispose()

    before = flow.last_id("BD03")
    flow.say("BD03", "/dulieu", "Đang chuẩn bị dữ liệu cá nhân")
    values, formulas = _workbook_texts(_document(flow, "BD03", "du-lieu-ca-nhan.xlsx", before))
    assert formulas == []
    assert NAME_IN_WORKBOOK in values and POSITION in values and TASK in values
    assert "+84 kết quả" in values
    assert not any(ch in v for v in values for ch in "\x00\x01\x1f")

    before = flow.last_id("TU01")
    flow.say("TU01", "/tonghop 2026-10 BD", "TỔNG HỢP ĐÁNH GIÁ, XẾP LOẠI KỲ 2026-10")
    values, formulas = _workbook_texts(_document(flow, "TU01", "tong-hop-BD-2026-10.xlsx", before))
    assert formulas == []
    assert {NAME_IN_WORKBOOK, POSITION, OTHER_NAME, OTHER_POSITION} <= set(values)
    assert not any(ch in v for v in values for ch in "\x00\x01\x1f")
