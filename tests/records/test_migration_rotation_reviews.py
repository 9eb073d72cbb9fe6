"""Migration 0008: reviews of a back-dated rotation recorded by an older version, already due on the day it was
entered, stop being pending (no reminders, not overdue); later ones and done ones are left as they are."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import select

from records.db import make_engine, session_scope
from records.migrate import current_revision, head_revision, upgrade
from records.people import find_person_by_code, find_unit_by_code
from records.roster import import_roster
from records.rotations import RotationInput, start_rotation
from records.rules import default_rules
from records.schema import RotationReview

ROSTER = """Mã cán bộ,Họ và tên,Số điện thoại,Chức vụ,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Mã người quản lý,Vai trò,Phạm vi
TU01,Nguyễn Văn Tổ,,Chuyên viên,TU,Thành ủy,,,staff,TU
BD01,Trần Văn Bình,,Bí thư,BD,Quận ủy Ba Đình,TU,,head,BD
HK01,Lê Thị Hoa,,Phó Bí thư,HK,Quận ủy Hoàn Kiếm,TU,,cadre,
"""


def test_old_pending_reviews_due_before_recording_become_not_required(empty_db_url: str) -> None:
    upgrade(empty_db_url, revision="0007")
    engine = make_engine(empty_db_url)
    recorded = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    try:
        with session_scope(engine) as session:
            import_roster(
                session, data=ROSTER.encode(), filename="roster.csv", now=datetime(2023, 1, 1, tzinfo=UTC)
            )
        with session_scope(engine) as session:
            staff = find_person_by_code(session, cadre_code="TU01")
            cadre = find_person_by_code(session, cadre_code="HK01")
            to_unit = find_unit_by_code(session, code="BD")
            assert staff is not None and cadre is not None and to_unit is not None
            view = start_rotation(
                session,
                actor_id=staff.id,
                data=RotationInput(
                    person_id=cadre.id,
                    to_unit_id=to_unit.id,
                    to_post="Phó Bí thư",
                    start_date=date(2025, 1, 1),
                ),
                rules=default_rules(),
                now=recorded,
            )
            rotation_id = view.id
        # What an older version stored: every review pending, one of the late ones already done.
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE rotation_review SET state = 'pending' WHERE rotation_id = :r"),
                {"r": rotation_id},
            )
            connection.execute(
                sa.text(
                    "UPDATE rotation_review SET state = 'evaluated' WHERE rotation_id = :r AND due_date = :d"
                ),
                {"r": rotation_id, "d": date(2025, 7, 1)},
            )
        upgrade(empty_db_url)
        assert current_revision(engine) == head_revision()
        with session_scope(engine) as session:
            reviews = session.exec(
                select(RotationReview)
                .where(RotationReview.rotation_id == rotation_id)
                .order_by(RotationReview.due_date)
            ).all()
            states = {r.due_date: r.state for r in reviews}
    finally:
        engine.dispose()
    assert states[date(2025, 7, 1)] == "evaluated"  # done: kept
    assert states[date(2026, 1, 1)] == "not_required"  # due before the rotation was entered
    assert states[date(2026, 7, 1)] == "not_required"
    later = [d for d in states if d >= date(2026, 12, 1)]
    assert later and all(states[d] == "pending" for d in later)  # still to be done
    upgrade(empty_db_url)  # twice: nothing more changes
