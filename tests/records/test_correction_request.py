"""A person's request to correct their data: recorded about them, handed to admins and staff over their unit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from records.access import grant_role
from records.db import session_scope
from records.errors import ValidationFailed
from records.people import set_person_active
from records.personal_data import CORRECTION_MAX_CHARS, export_person_data, request_correction
from tests.records.org import Org

NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def _corrections(engine: Engine, person_id: int) -> list[str]:
    with session_scope(engine) as session:
        data = export_person_data(
            session, person_id=person_id, actor_id=person_id, now=NOW, tz="Asia/Ho_Chi_Minh"
        )
    about = data["audit_about_person"]
    return [entry["detail"]["text"] for entry in about if entry["action"] == "correction_request"]


def test_a_request_reaches_admins_and_staff_over_the_unit_nearest_first(db_engine: Engine, org: Org) -> None:
    with session_scope(db_engine) as session:
        grant_role(
            session, actor_id=None, person_id=org.people["BD02"], role="staff", unit_id=org.units["BD"]
        )
        grant_role(
            session, actor_id=None, person_id=org.people["HK02"], role="staff", unit_id=org.units["HK"]
        )
        grant_role(
            session, actor_id=None, person_id=org.people["PX02"], role="admin", unit_id=org.units["PX"]
        )
    with session_scope(db_engine) as session:
        handlers = request_correction(
            session,
            person_id=org.people["PX02"],
            text="  Chức vụ của tôi ghi sai:   phải là Phó Bí thư ",
            now=NOW,
        )
    # Staff of Ba Đình (the parent unit) before the Thành ủy admin; not Hoàn Kiếm's staff; never the
    # requester, even though they are an admin of their own unit.
    assert handlers == [org.people["BD02"], org.people["TU01"]]
    assert _corrections(db_engine, org.people["PX02"]) == ["Chức vụ của tôi ghi sai: phải là Phó Bí thư"]


def test_inactive_handlers_are_skipped_and_bad_requests_record_nothing(db_engine: Engine, org: Org) -> None:
    with session_scope(db_engine) as session:
        set_person_active(session, actor_id=None, person_id=org.people["TU01"], active=False, now=NOW)
    for text, reason in (("sai", "too_short"), ("x" * (CORRECTION_MAX_CHARS + 1), "too_long")):
        with pytest.raises(ValidationFailed) as info, session_scope(db_engine) as session:
            request_correction(session, person_id=org.people["BD03"], text=text, now=NOW)
        assert info.value.params["reason"] == reason
    assert _corrections(db_engine, org.people["BD03"]) == []
    with session_scope(db_engine) as session:
        assert (
            request_correction(session, person_id=org.people["BD03"], text="Số điện thoại cũ, xin cập nhật")
            == []
        )
    assert _corrections(db_engine, org.people["BD03"]) == ["Số điện thoại cũ, xin cập nhật"]
