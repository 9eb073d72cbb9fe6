"""Rotations: the move, the 6-monthly and final reviews, permissions, due reminders and the counts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.db import session_scope
from records.due import list_due, list_reminders
from records.errors import ConcurrentUpdate, InvalidTransition, PermissionDenied, ValidationFailed
from records.people import get_person
from records.rotations import (
    RotationInput,
    comment_rotation_review,
    complete_rotation,
    evaluate_rotation_review,
    review_schedule,
    rotation_counts,
    rotation_history,
    start_rotation,
    submit_rotation_self_review,
)
from tests.records.flows import RULES
from tests.records.org import Org


def test_review_schedule_every_six_months_and_at_the_end() -> None:
    dates = review_schedule(date(2026, 3, 1), date(2029, 3, 1), 6)
    assert (
        len(dates) == 6
        and dates[0] == (date(2026, 9, 1), "periodic")
        and dates[-1] == (date(2029, 3, 1), "final")
    )


def test_rotation_down_to_grassroots_with_reviews(db_engine: Engine, org: Org) -> None:
    staff, cuong = org.people["TU01"], org.people["BD02"]
    data = RotationInput(
        person_id=cuong, to_unit_id=org.units["PX"], to_post="Phó Bí thư", start_date=date(2026, 3, 1)
    )
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        start_rotation(
            session, actor_id=org.people["BD01"], data=data, rules=RULES
        )  # a head is not the committee
    with session_scope(db_engine) as session, pytest.raises(ValidationFailed) as info:
        start_rotation(
            session,
            actor_id=staff,
            data=data.model_copy(update={"planned_end": date(2027, 3, 1)}),
            rules=RULES,
        )
    assert info.value.params["min_months"] == 36
    with session_scope(db_engine) as session:  # recorded the day it starts: every review is still to come
        rotation = start_rotation(
            session, actor_id=staff, data=data, rules=RULES, now=datetime(2026, 3, 1, 2, tzinfo=UTC)
        )
    assert (
        rotation.direction == "down"
        and rotation.planned_end == date(2029, 3, 1)
        and rotation.from_post == "Trưởng phòng"
    )
    assert len(rotation.reviews) == 6 and rotation.reviews[-1].kind == "final"
    with Session(db_engine) as session:
        moved = get_person(session, person_id=cuong)
        assert (moved.unit_code, moved.position) == ("PX", "Phó Bí thư")
        due = [
            i for i in list_due(session, on=date(2026, 8, 20), rules=RULES) if i.kind.startswith("rotation")
        ]
    assert [(i.kind, i.recipient_id, i.deadline) for i in due] == [
        ("rotation_self_review", cuong, date(2026, 9, 1))
    ]
    first = rotation.reviews[0].id
    with session_scope(db_engine) as session:
        submit_rotation_self_review(session, actor_id=cuong, review_id=first, text="Đã nắm địa bàn")
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        comment_rotation_review(session, actor_id=org.people["HK01"], review_id=first, text="x")
    with Session(db_engine) as session:
        due = [i for i in list_due(session, on=date(2026, 9, 2), rules=RULES) if i.kind == "rotation_comment"]
    assert {i.recipient_id for i in due} == {
        org.people["PX01"],
        org.people["BD01"],
    }  # heads over the receiving unit
    with session_scope(db_engine) as session:
        comment_rotation_review(session, actor_id=org.people["PX01"], review_id=first, text="Tích cực")
    with session_scope(db_engine) as session, pytest.raises(ConcurrentUpdate):
        comment_rotation_review(session, actor_id=org.people["BD01"], review_id=first, text="Muộn")
    with session_scope(db_engine) as session:
        done = evaluate_rotation_review(
            session, actor_id=staff, review_id=first, text="Hoàn thành tốt", grade="b", rules=RULES
        )
    assert done.state == "evaluated" and done.evaluation_grade == "B"
    with Session(db_engine) as session:
        counts = rotation_counts(
            session, actor_id=staff, unit_id=org.units["TU"], start=date(2026, 1, 1), end=date(2026, 12, 31)
        )
        assert (counts.started, counts.down, counts.up, counts.active, counts.reviews_overdue) == (
            1,
            1,
            0,
            1,
            0,
        )
        later = rotation_counts(
            session, actor_id=staff, unit_id=org.units["TU"], start=date(2026, 1, 1), end=date(2027, 4, 1)
        )
        assert later.reviews_overdue == 1  # the March 2027 review is late
        with pytest.raises(PermissionDenied):
            rotation_counts(
                session,
                actor_id=cuong,
                unit_id=org.units["TU"],
                start=date(2026, 1, 1),
                end=date(2026, 12, 31),
            )
    with session_scope(db_engine) as session:
        completed = complete_rotation(
            session, actor_id=staff, rotation_id=rotation.id, ended_on=date(2029, 3, 1)
        )
    assert completed.state == "completed"
    with Session(db_engine) as session:
        actions = [h.action for h in rotation_history(session, actor_id=cuong, rotation_id=rotation.id)]
        assert actions == ["create", "self_review", "comment", "evaluate", "complete"]
        assert not [
            i for i in list_due(session, on=date(2027, 3, 5), rules=RULES) if i.kind.startswith("rotation")
        ]


def test_rotation_up_to_the_city_and_one_at_a_time(db_engine: Engine, org: Org) -> None:
    staff = org.people["TU01"]
    giang = org.people["PX02"]
    data = RotationInput(
        person_id=giang, to_unit_id=org.units["HK"], to_post="Chuyên viên", start_date=date(2026, 2, 1)
    )
    with session_scope(db_engine) as session:
        assert start_rotation(session, actor_id=staff, data=data, rules=RULES).direction == "up"
    with session_scope(db_engine) as session, pytest.raises(ValidationFailed):
        start_rotation(
            session, actor_id=staff, data=data.model_copy(update={"to_unit_id": org.units["BD"]}), rules=RULES
        )


def test_a_back_dated_rotation_asks_only_for_the_reviews_from_the_day_it_is_recorded(
    db_engine: Engine, org: Org
) -> None:
    """Started 05/11/2023, recorded 30/10/2026: the five 6-monthly reviews already past are not required."""
    staff, khoa = org.people["TU01"], org.people["HK02"]
    data = RotationInput(
        person_id=khoa, to_unit_id=org.units["BD"], to_post="Phó Trưởng ban", start_date=date(2023, 11, 5)
    )
    recorded = datetime(2026, 10, 29, 18, 30, tzinfo=UTC)  # 01:30 on 30/10 in Hà Nội
    with session_scope(db_engine) as session:
        rotation = start_rotation(session, actor_id=staff, data=data, rules=RULES, now=recorded)
    assert [(r.due_date, r.kind, r.state) for r in rotation.reviews] == [
        (date(2024, 5, 5), "periodic", "not_required"),
        (date(2024, 11, 5), "periodic", "not_required"),
        (date(2025, 5, 5), "periodic", "not_required"),
        (date(2025, 11, 5), "periodic", "not_required"),
        (date(2026, 5, 5), "periodic", "not_required"),
        (date(2026, 11, 5), "final", "pending"),
    ]
    with Session(db_engine) as session:
        due = [
            i for i in list_due(session, on=date(2026, 10, 30), rules=RULES) if i.kind.startswith("rotation")
        ]
        assert [(i.kind, i.recipient_id, i.deadline) for i in due] == [
            ("rotation_self_review", khoa, date(2026, 11, 5))
        ]
        late = [
            i
            for i in list_reminders(session, on=date(2026, 11, 8), rules=RULES)
            if i.kind.startswith("rotation")
        ]
        assert [i.deadline for i in late] == [date(2026, 11, 5)]  # reminded after the final's deadline only
        counts = rotation_counts(
            session, actor_id=staff, unit_id=org.units["TU"], start=date(2023, 1, 1), end=date(2026, 10, 30)
        )
        assert counts.reviews_overdue == 0
    with session_scope(db_engine) as session, pytest.raises(InvalidTransition):
        submit_rotation_self_review(
            session, actor_id=khoa, review_id=rotation.reviews[0].id, text="Sáu tháng đầu"
        )
    with session_scope(db_engine) as session:
        done = submit_rotation_self_review(
            session, actor_id=khoa, review_id=rotation.reviews[-1].id, text="Hoàn thành nhiệm vụ"
        )
    assert done.state == "self_reviewed"
    with Session(db_engine) as session:
        [entry] = rotation_history(session, actor_id=staff, rotation_id=rotation.id)[:1]
    assert entry.detail is not None and entry.detail["reviews_not_required"] == 5


def test_a_review_due_on_the_day_of_recording_is_still_to_do(db_engine: Engine, org: Org) -> None:
    data = RotationInput(
        person_id=org.people["HK02"],
        to_unit_id=org.units["BD"],
        to_post="Phó Trưởng ban",
        start_date=date(2026, 4, 30),
    )
    with session_scope(db_engine) as session:
        rotation = start_rotation(
            session,
            actor_id=org.people["TU01"],
            data=data,
            rules=RULES,
            now=datetime(2026, 10, 30, 2, tzinfo=UTC),
        )
    assert rotation.reviews[0].due_date == date(2026, 10, 30) and rotation.reviews[0].state == "pending"
