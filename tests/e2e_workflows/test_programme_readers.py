"""Who reads an action programme besides its owner (issue #11), through the real bot on SQLite and Postgres.

Three confirmed programmes in Ba Đình, one per publicity level, and a draft: «👥 Chương trình của đơn vị» and
`/chuongtrinh MÃ_ĐƠN_VỊ` list what `may_read_programme` allows — a public one to anyone signed in, a party-cell
one to the unit, an internal one to the head, reviewer and staff over the unit only — and never a draft.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from records.db import make_engine, session_scope
from records.people import find_person_by_code
from records.programmes import (
    ItemInput,
    ProgrammeInput,
    close_programme,
    confirm_programme,
    create_programme,
    record_progress,
    submit_programme,
)
from records.schema import Publicity
from tests.e2e_workflows.conftest import USERS, Flow, running_flow

pytestmark = pytest.mark.slow

SEEDED = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
INTERNAL = "Phó Bí thư chi bộ số 1"  # BD03, «Nội bộ»
PARTY_CELL = "Bí thư chi bộ số 2"  # BD04, «Công khai trong chi bộ»
PUBLIC = "Trưởng ban công tác Mặt trận khu dân cư"  # BD02, «Công khai rộng rãi»
DRAFT = "Tổ trưởng tổ dân phố số 7"  # BD04, public but never submitted


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def rflow(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_cluster").create_database(f"t_prog_{uuid.uuid4().hex[:10]}")
    root = tmp_path_factory.mktemp(f"programme-readers-{request.param}")
    with running_flow(root, start="2026-10-06T09:00:00+07:00", database_url=url) as world:
        seed_programme(world, "BD03", INTERNAL, Publicity.INTERNAL)
        seed_programme(world, "BD04", PARTY_CELL, Publicity.PARTY_CELL)
        seed_programme(world, "BD02", PUBLIC, Publicity.PUBLIC, progress=(40, "đã họp 3 buổi với Mặt trận"))
        seed_programme(world, "BD04", DRAFT, Publicity.PUBLIC, confirm=False)
        yield world


def seed_programme(
    flow: Flow,
    code: str,
    post: str,
    publicity: Publicity,
    *,
    confirm: bool = True,
    head_code: str | None = "BD01",
    progress: tuple[int, str] | None = None,
    closed: datetime | None = None,
) -> None:
    """A programme of `code` written through records: confirmed by `head_code` (None: by the operator); with
    `closed`, then closed by its owner at that moment (its term ended)."""
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            view = create_programme(
                session,
                actor_id=person.id,
                person_id=person.id,
                data=ProgrammeInput(
                    post=post,
                    term_start=date(2026, 10, 1),
                    term_end=date(2029, 9, 30),
                    publicity=publicity,
                    items=(
                        ItemInput(
                            commitment=f"Cam kết của {code}: nâng chất lượng sinh hoạt",
                            target="95% đảng viên dự họp",
                            deadline=date(2027, 12, 31),
                        ),
                    ),
                ),
                now=SEEDED,
            )
            if not confirm:
                return
            head = find_person_by_code(session, cadre_code=head_code) if head_code else None
            submit_programme(session, actor_id=person.id, programme_id=view.id, now=SEEDED)
            confirm_programme(session, actor_id=head.id if head else None, programme_id=view.id, now=SEEDED)
            if progress is not None:
                record_progress(
                    session,
                    actor_id=person.id,
                    item_id=view.items[0].id,
                    percent=progress[0],
                    note=progress[1],
                    now=SEEDED,
                )
            if closed is not None:
                close_programme(
                    session,
                    actor_id=person.id,
                    programme_id=view.id,
                    closing_assessment="Đã hoàn thành các cam kết của nhiệm kỳ",
                    now=closed,
                )
    finally:
        engine.dispose()


def listed(body: str) -> set[str]:
    return {post for post in (INTERNAL, PARTY_CELL, PUBLIC, DRAFT) if post in body}


def unit_listing(flow: Flow, code: str) -> str:
    """The user's «👥 Chương trình của đơn vị» listing, pressed on /chuongtrinh."""
    sent = flow.telegram.world.send_text(USERS[code], "/chuongtrinh")
    menu = flow.telegram.wait_for(
        USERS[code], lambda m: "👥 Chương trình của đơn vị" in m.button_texts, after=sent.message_id
    )
    return flow.press(code, menu, "👥 Chương trình của đơn vị", "👥").body


def test_the_unit_reads_public_and_party_cell_programmes_not_an_internal_one(rflow: Flow) -> None:
    bd03 = unit_listing(rflow, "BD03")
    assert "Quận ủy Ba Đình (BD)" in bd03
    assert listed(bd03) == {PARTY_CELL, PUBLIC}  # not their own, not the draft
    assert "Hoàng Văn Em (BD04, BD)" in bd03 and "Công khai trong chi bộ" in bd03
    bd04 = unit_listing(rflow, "BD04")
    assert listed(bd04) == {PUBLIC}  # BD03's internal programme stays hidden from a colleague


def test_outside_the_unit_only_a_public_programme_is_read(rflow: Flow) -> None:
    outside = rflow.say("HK02", "/chuongtrinh bd", "Chương trình hành động — Quận ủy Ba Đình (BD)")
    assert listed(outside.body) == {PUBLIC}
    assert "Lê Văn Cường (BD02, BD) — " + PUBLIC in outside.body
    assert "tiến độ 40%" in outside.body
    assert "Cập nhật 05/10/2026 09:00: đã họp 3 buổi với Mặt trận" in outside.body
    own = unit_listing(rflow, "HK02")
    assert "Chưa có chương trình hành động nào của Quận ủy Hoàn Kiếm (HK)" in own and not listed(own)
    unknown = rflow.say("HK02", "/chuongtrinh XY", "Không có đơn vị mã «XY»")
    assert not listed(unknown.body)


def test_the_head_reviewer_and_staff_over_the_unit_read_every_level_but_no_draft(rflow: Flow) -> None:
    head = unit_listing(rflow, "BD01")
    assert listed(head) == {INTERNAL, PARTY_CELL, PUBLIC}
    assert "Chưa cập nhật tiến độ." in head and "đã xác nhận, đang thực hiện" in head
    reviewer = unit_listing(rflow, "BD02")
    assert listed(reviewer) == {INTERNAL, PARTY_CELL}  # every level, their own programme aside
    staff = rflow.say("TU01", "/chuongtrinh BD", "Chương trình hành động — Quận ủy Ba Đình (BD)")
    assert listed(staff.body) == {INTERNAL, PARTY_CELL, PUBLIC}
    # Staff of another district read Ba Đình as outsiders do.
    other = rflow.say("HK03", "/chuongtrinh BD", "Chương trình hành động — Quận ủy Ba Đình (BD)")
    assert listed(other.body) == {PUBLIC}


def test_a_progress_update_reaches_the_confirming_head_who_follows_it_in_the_unit_listing(
    rflow: Flow,
) -> None:
    card = rflow.say("BD03", "/chuongtrinh", INTERNAL)
    rflow.press("BD03", card, "📈 Tiến độ mục 1", "Gõ tiến độ mới")
    heads_before = {code: rflow.last_id(code) for code in ("BD01", "BD02", "HK01", "TU01")}
    saved = rflow.say("BD03", "60 đã họp 3 buổi, còn 2 chi bộ", "Đã cập nhật tiến độ mục 1: 60%")
    assert "Đã báo cho: Trần Thị Bình." in saved.body
    notice = rflow.wait("BD01", "📈 Phạm Thị Dung cập nhật tiến độ", after=heads_before["BD01"])
    assert f"({INTERNAL})" in notice.body
    assert "Mục 1. Cam kết của BD03: nâng chất lượng sinh hoạt: 0% → 60%" in notice.body
    assert "Ghi chú: đã họp 3 buổi, còn 2 chi bộ" in notice.body
    for code in ("BD02", "HK01", "TU01"):  # only the head who confirmed it
        assert not [
            m
            for m in rflow.telegram.world.bot_messages(USERS[code])
            if m.message_id > heads_before[code] and "cập nhật tiến độ" in m.body
        ]
    listing = rflow.press("BD01", notice, "👥 Chương trình của đơn vị", "👥").body
    block = listing.split("👤 ")[2]  # BD02, then BD03
    assert block.startswith("Phạm Thị Dung (BD03, BD)")
    assert "tiến độ 60%" in block and "Cập nhật 06/10/2026 09:00: đã họp 3 buổi, còn 2 chi bộ" in block
    opened = rflow.press("BD01", notice, "🎯 Mở chương trình", "Phạm Thị Dung (BD03, BD)")
    log = rflow.press("BD01", opened, "🕘 Nhật ký tiến độ", "Nhật ký tiến độ")
    assert "06/10/2026 09:00: 60% — đã họp 3 buổi, còn 2 chi bộ" in log.body


def test_the_cadre_reads_their_own_progress_notes(rflow: Flow) -> None:
    card = rflow.say("BD03", "/chuongtrinh", INTERNAL)
    log = rflow.press("BD03", card, "🕘 Nhật ký tiến độ", "Nhật ký tiến độ")
    assert f"Nhật ký tiến độ — {INTERNAL} (Phạm Thị Dung)" in log.body
    assert "1. Cam kết của BD03: nâng chất lượng sinh hoạt" in log.body
    assert "06/10/2026 09:00: 60% — đã họp 3 buổi, còn 2 chi bộ" in log.body


def test_without_a_confirming_head_the_unit_head_hears_of_progress(rflow: Flow) -> None:
    seed_programme(rflow, "HK02", "Phó Chủ nhiệm Ủy ban kiểm tra", Publicity.PUBLIC, head_code=None)
    card = rflow.say("HK02", "/chuongtrinh", "Phó Chủ nhiệm Ủy ban kiểm tra")
    rflow.press("HK02", card, "📈 Tiến độ mục 1", "Gõ tiến độ mới")
    before = rflow.last_id("HK01")
    saved = rflow.say("HK02", "25", "Đã cập nhật tiến độ mục 1: 25%")
    assert "Đã báo cho: Bùi Thị Hà." in saved.body
    notice = rflow.wait("HK01", "📈 Ngô Văn Khoa cập nhật tiến độ", after=before)
    assert "0% → 25%" in notice.body and "Ghi chú: (không ghi chú)" in notice.body
