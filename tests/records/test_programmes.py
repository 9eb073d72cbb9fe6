"""Action programmes: draft → submitted → confirmed or returned, progress, closing, evidence, visibility."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.access import revoke_role
from records.db import session_scope
from records.errors import ConcurrentUpdate, InvalidTransition, PermissionDenied, ValidationFailed
from records.evaluations import TaskInput, plan_tasks
from records.programmes import (
    ItemInput,
    ProgrammeInput,
    close_programme,
    confirm_programme,
    create_programme,
    evidence_for_period,
    get_programme,
    list_progress,
    list_waiting_confirmations,
    programme_history,
    progress_followers,
    record_progress,
    return_programme,
    submit_programme,
    update_programme,
)
from records.schema import Publicity
from tests.records.flows import RULES
from tests.records.org import Org


def _input(publicity: Publicity = Publicity.INTERNAL, extra: tuple[ItemInput, ...] = ()) -> ProgrammeInput:
    return ProgrammeInput(
        post="Phó Bí thư Phường Phúc Xá",
        term_start=date(2026, 1, 1),
        term_end=date(2030, 12, 31),
        publicity=publicity,
        items=(
            ItemInput(
                commitment="Giải quyết đơn thư tồn đọng",
                target="100% đơn thư trong 30 ngày",
                deadline=date(2026, 12, 31),
            ),
            ItemInput(
                commitment="Chuyển đổi số hồ sơ đảng viên",
                target="90% hồ sơ số hoá",
                deadline=date(2027, 6, 30),
            ),
            *extra,
        ),
    )


def test_programme_lifecycle_with_progress_and_evidence(db_engine: Engine, org: Org) -> None:
    giang, head = org.people["PX02"], org.people["PX01"]
    with session_scope(db_engine) as session:
        draft = create_programme(session, actor_id=giang, person_id=giang, data=_input())
    assert draft.state == "draft" and len(draft.items) == 2
    with session_scope(db_engine) as session:
        submit_programme(session, actor_id=giang, programme_id=draft.id)
    with Session(db_engine) as session:
        assert [p.id for p in list_waiting_confirmations(session, head_id=head)] == [draft.id]
        assert list_waiting_confirmations(session, head_id=org.people["HK01"]) == []
    with session_scope(db_engine) as session:
        returned = return_programme(
            session, actor_id=head, programme_id=draft.id, reason="Chỉ tiêu chưa đo được"
        )
    assert returned.state == "returned" and returned.return_reason == "Chỉ tiêu chưa đo được"
    with session_scope(db_engine) as session:
        edited = update_programme(
            session,
            actor_id=giang,
            programme_id=draft.id,
            data=_input(
                extra=(ItemInput(commitment="Tiếp dân", target="2 buổi/tháng", deadline=date(2026, 6, 30)),)
            ),
        )
        submit_programme(session, actor_id=giang, programme_id=draft.id)
    assert len(edited.items) == 3
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        confirm_programme(session, actor_id=giang, programme_id=draft.id)  # not one's own
    with session_scope(db_engine) as session:
        confirmed = confirm_programme(session, actor_id=head, programme_id=draft.id)
    assert confirmed.state == "confirmed" and confirmed.confirmed_by_id == head
    with session_scope(db_engine) as session, pytest.raises(ConcurrentUpdate):
        confirm_programme(session, actor_id=org.people["BD01"], programme_id=draft.id)  # already confirmed
    item = confirmed.items[0]
    with session_scope(db_engine) as session:
        record_progress(session, actor_id=giang, item_id=item.id, percent=40, note="Đã xử lý 12/30 đơn")
        record_progress(session, actor_id=giang, item_id=item.id, percent=75)
        with pytest.raises(ValidationFailed):
            record_progress(session, actor_id=giang, item_id=item.id, percent=120)
    with Session(db_engine) as session:
        assert [p.percent for p in list_progress(session, actor_id=head, item_id=item.id)] == [40, 75]
        evidence = evidence_for_period(session, person_id=giang, period="2026-05")
        assert [(e.commitment, e.progress_percent) for e in evidence][:2] == [
            ("Tiếp dân", 0),
            ("Giải quyết đơn thư tồn đọng", 75),
        ]
        assert evidence_for_period(session, person_id=giang, period="2031-01") == []
    with session_scope(db_engine) as session:
        closed = close_programme(
            session, actor_id=giang, programme_id=draft.id, closing_assessment="Hoàn thành 3/3 cam kết"
        )
    assert closed.state == "closed"
    with session_scope(db_engine) as session, pytest.raises(InvalidTransition):
        record_progress(session, actor_id=giang, item_id=item.id, percent=100)
    with Session(db_engine) as session:
        history = programme_history(session, actor_id=head, programme_id=draft.id)
    assert [h.action for h in history] == [
        "create",
        "submit",
        "return",
        "update",
        "submit",
        "confirm",
        "close",
    ]


def test_visibility_follows_publicity(db_engine: Engine, org: Org) -> None:
    giang = org.people["PX02"]
    ids = {}
    with session_scope(db_engine) as session:
        for level in Publicity:
            ids[level] = create_programme(session, actor_id=giang, person_id=giang, data=_input(level)).id
    outsider, same_unit = org.people["HK02"], org.people["PX01"]
    with Session(db_engine) as session:
        assert (
            get_programme(session, actor_id=outsider, programme_id=ids[Publicity.PUBLIC]).id
            == ids[Publicity.PUBLIC]
        )
        for level in (Publicity.INTERNAL, Publicity.PARTY_CELL):
            with pytest.raises(PermissionDenied):
                get_programme(session, actor_id=outsider, programme_id=ids[level])
        assert get_programme(session, actor_id=same_unit, programme_id=ids[Publicity.PARTY_CELL]).id


def test_bad_programmes_are_refused(db_engine: Engine, org: Org) -> None:
    with pytest.raises(ValidationError):
        ProgrammeInput(post="X", term_start=date(2026, 1, 1), term_end=date(2025, 1, 1), items=())
    with pytest.raises(ValidationError):  # item deadline outside the term
        ProgrammeInput(
            post="X",
            term_start=date(2026, 1, 1),
            term_end=date(2027, 1, 1),
            items=(ItemInput(commitment="a", target="b", deadline=date(2028, 1, 1)),),
        )
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        create_programme(session, actor_id=org.people["PX01"], person_id=org.people["PX02"], data=_input())


def test_tasks_link_only_to_the_cadres_own_programme_items(db_engine: Engine, org: Org) -> None:
    giang = org.people["PX02"]
    with session_scope(db_engine) as session:
        programme = create_programme(session, actor_id=giang, person_id=giang, data=_input())
    item_id = programme.items[0].id
    with session_scope(db_engine) as session:
        view = plan_tasks(
            session,
            actor_id=giang,
            person_id=giang,
            period="2026-05",
            rules=RULES,
            tasks=[TaskInput(title="Xử lý đơn thư tháng 5", action_item_id=item_id)],
        )
    assert view.tasks[0].action_item_id == item_id
    with session_scope(db_engine) as session, pytest.raises(ValidationFailed) as info:
        plan_tasks(
            session,
            actor_id=org.people["HK02"],
            person_id=org.people["HK02"],
            period="2026-05",
            rules=RULES,
            tasks=[TaskInput(title="Mượn cam kết", action_item_id=item_id)],
        )
    assert info.value.params["field"] == "action_item_id"


def test_progress_is_followed_by_the_confirming_head_then_the_nearest_heads(
    db_engine: Engine, org: Org
) -> None:
    giang, head = org.people["PX02"], org.people["PX01"]
    with session_scope(db_engine) as session:
        pid = create_programme(session, actor_id=giang, person_id=giang, data=_input()).id
        submit_programme(session, actor_id=giang, programme_id=pid)
        confirm_programme(session, actor_id=head, programme_id=pid)
    with Session(db_engine) as session:
        assert progress_followers(session, programme_id=pid) == [head]
    with session_scope(db_engine) as session:  # the confirming head no longer heads Phúc Xá
        revoke_role(session, actor_id=None, person_id=head, role="head", unit_id=org.units["PX"])
    with Session(db_engine) as session:
        assert progress_followers(session, programme_id=pid) == [org.people["BD01"]]
