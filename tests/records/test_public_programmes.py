"""The public programmes of a unit subtree for the Fatherland Front and People's Councils, and their workbook.

Only «Công khai rộng rãi» programmes that a head confirmed leave through this list: a party-cell and an internal
programme of the same unit stay out even when a head (who reads them) makes it, and so do drafts and other
districts. Each item carries its latest progress figure, date and note.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.db import session_scope
from records.errors import NotFound, PermissionDenied
from records.export_programmes import public_programmes_xlsx_bytes
from records.programmes import (
    ItemInput,
    ProgrammeInput,
    close_programme,
    confirm_programme,
    create_programme,
    list_public_programmes,
    list_unit_programmes,
    record_progress,
    submit_programme,
)
from records.schema import Publicity
from tests.records.org import Org

PUBLIC = "Phó Bí thư Phường Phúc Xá"  # PX02, public, with progress
PARTY_CELL = "Bí thư chi bộ khu dân cư số 2"  # PX02, party cell
INTERNAL = "Tổ trưởng tổ công tác số hóa"  # PX02, internal
BD_PUBLIC = "Trưởng ban Dân vận Quận ủy"  # BD04, public, no progress yet
DRAFT = "Tổ trưởng tổ dân phố số 7"  # BD03, public but only submitted
OTHER_DISTRICT = "Phó Chủ tịch Quận Hoàn Kiếm"  # HK02, public, outside Ba Đình
HOSTILE = '=HYPERLINK("http://x","bấm vào đây")'
AT = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
MADE = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)  # already 07/12/2026 in Hà Nội


def _programme(
    engine: Engine, org: Org, code: str, post: str, publicity: Publicity, *, head: str | None, commitment: str
) -> list[int]:
    """A programme of `code`, confirmed by `head` (None: left submitted); its item ids."""
    owner = org.people[code]
    with session_scope(engine) as session:
        view = create_programme(
            session,
            actor_id=owner,
            person_id=owner,
            data=ProgrammeInput(
                post=post,
                term_start=date(2026, 10, 1),
                term_end=date(2029, 9, 30),
                publicity=publicity,
                items=(
                    ItemInput(
                        commitment=commitment, target="100% hồ sơ đúng hạn", deadline=date(2027, 6, 30)
                    ),
                    ItemInput(
                        commitment="Họp dân định kỳ", target="12 buổi mỗi năm", deadline=date(2027, 12, 31)
                    ),
                ),
            ),
            now=AT,
        )
        submit_programme(session, actor_id=owner, programme_id=view.id, now=AT)
        if head is not None:
            confirm_programme(session, actor_id=org.people[head], programme_id=view.id, now=AT)
    return [i.id for i in view.items]


@pytest.fixture
def seeded(db_engine: Engine, org: Org) -> list[int]:
    items = _programme(db_engine, org, "PX02", PUBLIC, Publicity.PUBLIC, head="PX01", commitment=HOSTILE)
    _programme(db_engine, org, "PX02", PARTY_CELL, Publicity.PARTY_CELL, head="PX01", commitment="Chi bộ")
    _programme(db_engine, org, "PX02", INTERNAL, Publicity.INTERNAL, head="PX01", commitment="Nội bộ")
    _programme(db_engine, org, "BD04", BD_PUBLIC, Publicity.PUBLIC, head="BD01", commitment="Dân vận khéo")
    _programme(db_engine, org, "BD03", DRAFT, Publicity.PUBLIC, head=None, commitment="Chưa xác nhận")
    _programme(db_engine, org, "HK02", OTHER_DISTRICT, Publicity.PUBLIC, head="HK01", commitment="Hoàn Kiếm")
    with session_scope(db_engine) as session:
        pid = org.people["PX02"]
        record_progress(session, actor_id=pid, item_id=items[0], percent=30, note="bước đầu", now=AT)
        later = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)  # already 00:30 on the 21st in Hà Nội
        record_progress(
            session, actor_id=pid, item_id=items[0], percent=65, note="đã số hóa 650 hồ sơ", now=later
        )
    return items


def test_only_public_confirmed_programmes_of_the_subtree_with_their_latest_progress(
    db_engine: Engine, org: Org, seeded: list[int]
) -> None:
    with Session(db_engine) as session:
        # The head of Ba Đình reads every level in a listing, but the public list keeps the public ones only.
        readable = {
            d.programme.post
            for d in list_unit_programmes(session, actor_id=org.people["BD01"], unit_id=org.units["BD"])
        }
        assert {PUBLIC, PARTY_CELL, INTERNAL, BD_PUBLIC} <= readable
        listed = list_public_programmes(session, actor_id=org.people["BD01"], unit_id=org.units["BD"])
    assert (listed.unit_code, listed.unit_name) == ("BD", "Quận ủy Ba Đình")
    assert [d.programme.post for d in listed.programmes] == [BD_PUBLIC, PUBLIC]  # by unit code: BD, then PX
    bd, px = listed.programmes
    assert (px.programme.person_name, px.unit_code, px.unit_name) == ("Đỗ Văn Giang", "PX", "Phường Phúc Xá")
    assert [i.progress_percent for i in px.programme.items] == [65, 0]
    latest = px.latest[seeded[0]]
    assert (latest.percent, latest.note) == (65, "đã số hóa 650 hồ sơ")
    assert seeded[1] not in px.latest and bd.latest == {}
    with Session(db_engine) as session:
        ward = list_public_programmes(session, actor_id=org.people["PX01"], unit_id=org.units["PX"])
        operator = list_public_programmes(session, actor_id=None, unit_id=org.units["TU"])
    assert [d.programme.post for d in ward.programmes] == [PUBLIC]
    assert [d.programme.post for d in operator.programmes] == [BD_PUBLIC, OTHER_DISTRICT, PUBLIC]


def test_only_staff_heads_and_admins_over_the_unit_make_the_list(
    db_engine: Engine, org: Org, seeded: list[int]
) -> None:
    with Session(db_engine) as session:
        assert list_public_programmes(
            session, actor_id=org.people["TU01"], unit_id=org.units["BD"]
        ).programmes
        for outsider in ("HK01", "PX02", "BD02"):  # another district's head, a cadre, a reviewer
            with pytest.raises(PermissionDenied):
                list_public_programmes(session, actor_id=org.people[outsider], unit_id=org.units["BD"])
        with pytest.raises(NotFound):
            list_public_programmes(session, actor_id=None, unit_id=999_999)


def test_the_workbook_names_the_unit_and_the_local_day_and_keeps_formulas_as_text(
    db_engine: Engine, org: Org, seeded: list[int]
) -> None:
    with Session(db_engine) as session:
        listed = list_public_programmes(session, actor_id=None, unit_id=org.units["BD"])
    book = load_workbook(io.BytesIO(public_programmes_xlsx_bytes(listed, now=MADE, tz="Asia/Ho_Chi_Minh")))
    ws = book.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Chương trình hành động công khai — Quận ủy Ba Đình — lập ngày 07/12/2026"
    assert rows[2][0] == "Số chương trình: 2; số cam kết: 4."
    assert rows[4][:4] == ("STT", "Họ và tên", "Chức vụ", "Đơn vị")
    body = rows[5:]
    assert [r[2] for r in body] == [BD_PUBLIC, BD_PUBLIC, PUBLIC, PUBLIC]
    assert all(INTERNAL not in str(r) and PARTY_CELL not in str(r) and DRAFT not in str(r) for r in rows)
    first = body[2]
    assert first[0] == 3 and first[1] == "Đỗ Văn Giang" and first[3] == "Phường Phúc Xá (PX)"
    assert first[4] == "01/10/2026 – 30/09/2029" and first[5] == "Đang thực hiện"
    assert first[6] == HOSTILE and first[7] == "100% hồ sơ đúng hạn"
    assert first[8] == datetime(2027, 6, 30)
    assert (first[9], first[10], first[11]) == (65, datetime(2026, 11, 21), "đã số hóa 650 hồ sơ")
    assert body[3][9:] == (0, "Chưa cập nhật", None)
    hostile = ws.cell(row=8, column=7)
    assert hostile.data_type == "s" and hostile.value == HOSTILE  # text, never a formula


def test_a_unit_without_public_programmes_gets_a_workbook_saying_so(db_engine: Engine, org: Org) -> None:
    with Session(db_engine) as session:
        listed = list_public_programmes(session, actor_id=None, unit_id=org.units["HK"])
    assert listed.programmes == ()
    ws = load_workbook(io.BytesIO(public_programmes_xlsx_bytes(listed, now=MADE, tz="UTC"))).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Chương trình hành động công khai — Quận ủy Hoàn Kiếm — lập ngày 06/12/2026"
    assert rows[5][0] == "Chưa có chương trình hành động công khai nào đã được xác nhận."


CLOSED = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # already 01/12/2026 in Hà Nội


def _close_bd_public(db_engine: Engine, org: Org) -> None:
    with Session(db_engine) as session:
        bd = list_public_programmes(session, actor_id=None, unit_id=org.units["BD"]).programmes[0]
    assert bd.programme.post == BD_PUBLIC
    with session_scope(db_engine) as session:
        close_programme(
            session,
            actor_id=org.people["BD04"],
            programme_id=bd.programme.id,
            closing_assessment="Hoàn thành các cam kết",
            now=CLOSED,
        )


def test_a_closed_public_programme_is_left_out_by_default_and_the_list_says_so(
    db_engine: Engine, org: Org, seeded: list[int]
) -> None:
    """The supervisors follow what cadres are committed to now: an ended programme is not listed, but counted."""
    _close_bd_public(db_engine, org)
    with Session(db_engine) as session:
        listed = list_public_programmes(session, actor_id=org.people["BD01"], unit_id=org.units["BD"])
        ward = list_public_programmes(session, actor_id=org.people["PX01"], unit_id=org.units["PX"])
    assert [(d.programme.post, d.programme.state) for d in listed.programmes] == [(PUBLIC, "confirmed")]
    assert (listed.include_ended, listed.ended_left_out) == (False, 1)
    assert ward.ended_left_out == 0  # Ba Đình's ended programme is not in Phúc Xá's subtree
    rows = list(
        load_workbook(io.BytesIO(public_programmes_xlsx_bytes(listed, now=MADE, tz="UTC")))
        .worksheets[0]
        .iter_rows(values_only=True)
    )
    assert "đang thực hiện" in str(rows[1][0])
    assert rows[2][0] == "Số chương trình: 1; số cam kết: 2."
    assert rows[3][0] == (
        "Không gồm 1 chương trình đã kết thúc nhiệm kỳ. Muốn có cả các chương trình đó: gõ "
        "«/chuongtrinh BD công khai tất cả» trong bot, hoặc chạy "
        "«canbo programmes export-public --unit BD --include-ended --out TỆP»."
    )
    assert rows[4][5] == "Trạng thái" and rows[4][6] == "Cam kết"  # no end-day column
    assert [r[5] for r in rows[5:]] == ["Đang thực hiện", "Đang thực hiện"]
    assert all(BD_PUBLIC not in str(r) for r in rows)
    # Nothing ended: the fourth row stays empty.
    ward_rows = list(
        load_workbook(io.BytesIO(public_programmes_xlsx_bytes(ward, now=MADE, tz="UTC")))
        .worksheets[0]
        .iter_rows(values_only=True)
    )
    assert all(c is None for c in ward_rows[3])


def test_only_ended_programmes_give_an_empty_list_that_says_why(db_engine: Engine, org: Org) -> None:
    _programme(db_engine, org, "BD04", BD_PUBLIC, Publicity.PUBLIC, head="BD01", commitment="Dân vận khéo")
    _close_bd_public(db_engine, org)
    with Session(db_engine) as session:
        listed = list_public_programmes(session, actor_id=None, unit_id=org.units["BD"])
    assert listed.programmes == () and listed.ended_left_out == 1
    rows = list(
        load_workbook(io.BytesIO(public_programmes_xlsx_bytes(listed, now=MADE, tz="UTC")))
        .worksheets[0]
        .iter_rows(values_only=True)
    )
    assert str(rows[3][0]).startswith("Không gồm 1 chương trình đã kết thúc nhiệm kỳ.")
    assert rows[5][0] == "Không có chương trình hành động công khai nào đang thực hiện."


def test_with_the_ended_ones_each_row_shows_the_state_and_the_end_day(
    db_engine: Engine, org: Org, seeded: list[int]
) -> None:
    _close_bd_public(db_engine, org)
    with Session(db_engine) as session:
        listed = list_public_programmes(
            session, actor_id=org.people["BD01"], unit_id=org.units["BD"], include_ended=True
        )
    assert [(d.programme.post, d.programme.state) for d in listed.programmes] == [
        (BD_PUBLIC, "closed"),
        (PUBLIC, "confirmed"),
    ]
    assert (listed.include_ended, listed.ended_left_out) == (True, 0)
    book = load_workbook(io.BytesIO(public_programmes_xlsx_bytes(listed, now=MADE, tz="Asia/Ho_Chi_Minh")))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert "gồm cả chương trình đã kết thúc nhiệm kỳ" in str(rows[1][0])
    assert rows[2][0] == ("Số chương trình: 2 (đang thực hiện: 1; đã kết thúc nhiệm kỳ: 1); số cam kết: 4.")
    assert all(c is None for c in rows[3])  # nothing left out
    assert rows[4][5:8] == ("Trạng thái", "Ngày kết thúc", "Cam kết")
    body = rows[5:]
    assert [(r[2], r[5], r[6]) for r in body] == [
        (BD_PUBLIC, "Đã kết thúc nhiệm kỳ", datetime(2026, 12, 1)),  # the local day of the closing
        (BD_PUBLIC, "Đã kết thúc nhiệm kỳ", datetime(2026, 12, 1)),
        (PUBLIC, "Đang thực hiện", None),
        (PUBLIC, "Đang thực hiện", None),
    ]
    assert body[2][7] == HOSTILE and body[2][10:] == (65, datetime(2026, 11, 21), "đã số hóa 650 hồ sơ")
