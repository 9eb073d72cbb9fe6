"""The public programmes of a unit as an Excel file for the Fatherland Front and People's Councils, through the
real bot on SQLite and Postgres: `/chuongtrinh MÃ_ĐƠN_VỊ công khai` and the «📄» button of the unit listing.

Ba Đình has a confirmed programme at each publicity level and a public draft; Hoàn Kiếm has a public one. Staff
and heads over Ba Đình get a workbook holding only Ba Đình's confirmed public programme, with its progress, even
though they read every level in the listing; staff of another district and cadres are refused in Vietnamese.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import openpyxl
import pytest
from sqlmodel import Session

from bot import texts_workflows as tw
from bot.localapi import ChatMessage
from records.db import make_engine
from records.people import find_unit_by_code
from records.schema import Publicity
from tests.e2e_workflows.conftest import USERS, Flow, running_flow
from tests.e2e_workflows.test_programme_readers import seed_programme

pytestmark = pytest.mark.slow

INTERNAL = "Phó Bí thư chi bộ số 1"  # BD03
PARTY_CELL = "Bí thư chi bộ số 2"  # BD04
PUBLIC = "Trưởng ban công tác Mặt trận khu dân cư"  # BD02, with progress
DRAFT = "Tổ trưởng tổ dân phố số 7"  # BD04, public, never submitted
HOAN_KIEM = "Phó Trưởng phòng Nội vụ Hoàn Kiếm"  # HK02, public, another district
ENDED = "Phó Trưởng ban Tuyên giáo Quận ủy"  # BD03, public, its term ended (closed)
CLOSED = datetime(2026, 10, 5, 18, 0, tzinfo=UTC)  # already 06/10/2026 in Hà Nội
LEFT_OUT = "Không gồm 1 chương trình đã kết thúc nhiệm kỳ."
CAPTION = "Chương trình hành động công khai — Quận ủy Ba Đình (BD)"
TITLE = "Chương trình hành động công khai — Quận ủy Ba Đình — lập ngày 06/10/2026"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pflow(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_cluster").create_database(f"t_pub_{uuid.uuid4().hex[:10]}")
    root = tmp_path_factory.mktemp(f"programme-public-{request.param}")
    with running_flow(root, start="2026-10-06T09:00:00+07:00", database_url=url) as world:
        seed_programme(world, "BD03", INTERNAL, Publicity.INTERNAL)
        seed_programme(world, "BD04", PARTY_CELL, Publicity.PARTY_CELL)
        seed_programme(world, "BD02", PUBLIC, Publicity.PUBLIC, progress=(40, "đã họp 3 buổi với Mặt trận"))
        seed_programme(world, "BD04", DRAFT, Publicity.PUBLIC, confirm=False)
        seed_programme(world, "HK02", HOAN_KIEM, Publicity.PUBLIC, head_code="HK01")
        seed_programme(world, "BD03", ENDED, Publicity.PUBLIC, closed=CLOSED)
        yield world


def rows_of(doc: ChatMessage, name: str = "chuong-trinh-cong-khai-BD.xlsx") -> list[tuple[object, ...]]:
    assert doc.document is not None and doc.document.file_name == name
    workbook = openpyxl.load_workbook(io.BytesIO(doc.document.data))
    return list(workbook.worksheets[0].iter_rows(values_only=True))


def assert_only_the_public_programme(rows: list[tuple[object, ...]]) -> None:
    assert rows[0][0] == TITLE
    assert rows[2][0] == "Số chương trình: 1; số cam kết: 1."
    assert str(rows[3][0]).startswith(LEFT_OUT) and "/chuongtrinh BD công khai tất cả" in str(rows[3][0])
    body = rows[5:]
    assert len(body) == 1
    row = body[0]
    assert row[1:4] == ("Lê Văn Cường", PUBLIC, "Quận ủy Ba Đình (BD)")
    assert row[5:8] == (
        "Đang thực hiện",
        "Cam kết của BD02: nâng chất lượng sinh hoạt",
        "95% đảng viên dự họp",
    )
    assert row[8] == datetime(2027, 12, 31)
    assert row[9:] == (40, datetime(2026, 10, 5), "đã họp 3 buổi với Mặt trận")
    everything = " ".join(str(c) for r in rows for c in r if c is not None)
    for hidden in (INTERNAL, PARTY_CELL, DRAFT, HOAN_KIEM, ENDED):
        assert hidden not in everything


def test_staff_get_the_public_list_by_command(pflow: Flow) -> None:
    doc = pflow.say("TU01", "/chuongtrinh bd công khai", CAPTION)
    assert doc.caption is not None and "1 chương trình đang thực hiện, 1 cam kết" in doc.caption
    assert "Mặt trận Tổ quốc và Hội đồng nhân dân" in doc.caption
    assert LEFT_OUT in doc.caption and "/chuongtrinh BD công khai tất cả" in doc.caption
    assert_only_the_public_programme(rows_of(doc))
    # Without the marks it is the same request.
    again = pflow.say("TU01", "/chuongtrinh BD Cong Khai", CAPTION)
    assert_only_the_public_programme(rows_of(again))


def test_staff_ask_for_the_ended_programmes_too_with_or_without_marks(pflow: Flow) -> None:
    for typed in ("/chuongtrinh BD công khai tất cả", "/chuongtrinh bd cong khai tat ca"):
        doc = pflow.say("TU01", typed, CAPTION)
        assert doc.caption is not None
        assert "2 chương trình (trong đó 1 đã kết thúc nhiệm kỳ), 2 cam kết" in doc.caption
        assert "Không gồm" not in doc.caption
        rows = rows_of(doc, "chuong-trinh-cong-khai-BD-tat-ca.xlsx")
        assert rows[2][0] == "Số chương trình: 2 (đang thực hiện: 1; đã kết thúc nhiệm kỳ: 1); số cam kết: 2."
        assert rows[4][5:7] == ("Trạng thái", "Ngày kết thúc")
        assert [(r[2], r[5], r[6]) for r in rows[5:]] == [
            (PUBLIC, "Đang thực hiện", None),
            (ENDED, "Đã kết thúc nhiệm kỳ", datetime(2026, 10, 6)),
        ]
    # A word more than the command knows gets the usage, naming both forms.
    usage = pflow.say("TU01", "/chuongtrinh BD công khai hết", "/chuongtrinh BD công khai tất cả")
    assert usage.document is None


def test_the_head_gets_it_from_the_unit_listing_which_shows_every_level(pflow: Flow) -> None:
    sent = pflow.telegram.world.send_text(USERS["BD01"], "/chuongtrinh")
    menu = pflow.telegram.wait_for(
        USERS["BD01"], lambda m: "👥 Chương trình của đơn vị" in m.button_texts, after=sent.message_id
    )
    listing = pflow.press(
        "BD01", menu, "👥 Chương trình của đơn vị", "Chương trình hành động — Quận ủy Ba Đình"
    )
    assert INTERNAL in listing.body and PARTY_CELL in listing.body  # the head reads them here…
    doc = pflow.press("BD01", listing, "📄 Excel chương trình công khai", CAPTION)
    assert_only_the_public_programme(rows_of(doc))  # …but they never leave in the public list
    assert doc.caption is not None and LEFT_OUT in doc.caption  # the button gives the default list too


def test_other_districts_staff_and_cadres_are_refused(pflow: Flow) -> None:
    refused = pflow.say("HK03", "/chuongtrinh BD công khai", "nằm ngoài phạm vi bạn phụ trách")
    assert "Đơn vị «BD»" in refused.body and refused.document is None
    listing = pflow.say("HK03", "/chuongtrinh BD", "Chương trình hành động — Quận ủy Ba Đình (BD)")
    assert not any(b.startswith("📄") for b in listing.button_texts)  # no button outside the scope
    cadre = pflow.say("BD03", "/chuongtrinh BD công khai", "nằm ngoài phạm vi bạn phụ trách")
    assert "/chuongtrinh BD" in cadre.body
    unknown = pflow.say("TU01", "/chuongtrinh XY công khai", "Không có đơn vị mã «XY»")
    assert unknown.document is None
    own = pflow.say(
        "HK03", "/chuongtrinh HK công khai", "Chương trình hành động công khai — Quận ủy Hoàn Kiếm (HK)"
    )
    assert own.document is not None
    rows = list(
        openpyxl.load_workbook(io.BytesIO(own.document.data)).worksheets[0].iter_rows(values_only=True)
    )
    assert [r[2] for r in rows[5:]] == [HOAN_KIEM]
    assert own.caption is not None and "Không gồm" not in own.caption  # nothing ended in Hoàn Kiếm
    everything = pflow.say("HK03", "/chuongtrinh HK công khai tất cả", "Quận ủy Hoàn Kiếm (HK)")
    assert everything.caption is not None
    assert "1 chương trình (không có chương trình nào đã kết thúc nhiệm kỳ), 1 cam kết" in everything.caption
    for code in ("HK03", "BD03"):  # neither ever received Ba Đình's workbook
        names = [m.document.file_name for m in pflow.telegram.world.messages(USERS[code]) if m.document]
        assert "chuong-trinh-cong-khai-BD.xlsx" not in names


def test_a_forged_button_for_a_unit_outside_the_scope_is_refused(pflow: Flow) -> None:
    """A modified client sends «📄»'s callback with Ba Đình's unit id: refused like the command."""
    engine = make_engine(pflow.db_url)
    try:
        with Session(engine) as session:
            unit = find_unit_by_code(session, code="BD")
            assert unit is not None
    finally:
        engine.dispose()
    for code in ("HK03", "BD03"):
        uid = USERS[code]
        anchor = pflow.say(code, "/chuongtrinh", "chương trình")
        after = pflow.last_id(code)
        pflow.telegram.world.forge_callback(uid, uid, anchor.message_id, f"ct:xls:{unit.id}")
        refused = pflow.wait(code, "nằm ngoài phạm vi bạn phụ trách", after=after)
        assert "Đơn vị «BD»" in refused.body
        names = [m.document.file_name for m in pflow.telegram.world.messages(uid) if m.document]
        assert "chuong-trinh-cong-khai-BD.xlsx" not in names
    # A button for a unit that no longer exists says so.
    after = pflow.last_id("TU01")
    anchor = pflow.say("TU01", "/chuongtrinh", "chương trình")
    pflow.telegram.world.forge_callback(USERS["TU01"], USERS["TU01"], anchor.message_id, "ct:xls:999999")
    pflow.wait("TU01", tw.RECORD_GONE, after=after)
