"""A finished work plan goes to the direct manager once per change; the manager comments or asks for changes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.db import session_scope
from records.errors import ConcurrentUpdate, InvalidTransition, PermissionDenied, ValidationFailed
from records.evaluations import (
    TaskInput,
    comment_on_plan,
    evaluation_history,
    get_evaluation,
    may_give_plan_feedback,
    plan_tasks,
    request_plan_changes,
    send_plan,
)
from tests.records.flows import RULES, plan, submit
from tests.records.org import Org

AT = datetime(2026, 5, 5, 9, 0, tzinfo=UTC)


def _send(engine: Engine, actor: int, evaluation_id: int):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return send_plan(session, actor_id=actor, evaluation_id=evaluation_id, now=AT)


def _actions(engine: Engine, evaluation_id: int) -> list[str]:
    with Session(engine) as session:
        return [e.action for e in evaluation_history(session, actor_id=None, evaluation_id=evaluation_id)]


def test_a_plan_is_sent_once_per_change_to_the_direct_manager(db_engine: Engine, org: Org) -> None:
    dung = org.people["BD03"]
    view = plan(db_engine, dung)
    first = _send(db_engine, dung, view.id)
    assert first.outcome == "sent" and not first.update and first.reviewer_ids == (org.people["BD02"],)
    assert first.evaluation.plan_sent_at is not None
    assert _send(db_engine, dung, view.id).outcome == "unchanged"
    # Saved again with the same tasks (new ids): still unchanged.
    again = plan(db_engine, dung)
    assert again.version > first.evaluation.version
    assert _send(db_engine, dung, view.id).outcome == "unchanged"
    changed = plan(db_engine, dung, titles=("Báo cáo quý", "Hồ sơ đảng viên", "Rà soát quy hoạch"))
    second = _send(db_engine, dung, changed.id)
    assert second.outcome == "sent" and second.update
    assert _actions(db_engine, view.id).count("plan_sent") == 2
    # Only the cadre sends their own plan.
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        send_plan(session, actor_id=org.people["BD02"], evaluation_id=view.id)


def test_a_plan_without_a_manager_goes_to_the_reviewers_and_a_submitted_one_is_not_sent(
    db_engine: Engine, org: Org
) -> None:
    binh = org.people["BD01"]  # no manager on the roster: the reviewers over BD
    view = plan(db_engine, binh)
    assert _send(db_engine, binh, view.id).reviewer_ids == (org.people["BD02"],)
    submitted = submit(db_engine, org.people["BD04"])
    with session_scope(db_engine) as session, pytest.raises(InvalidTransition):
        send_plan(session, actor_id=org.people["BD04"], evaluation_id=submitted.id)


def test_two_taps_at_once_send_the_plan_once(db_engine: Engine, org: Org) -> None:
    dung = org.people["BD03"]
    view = plan(db_engine, dung)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def tap() -> None:
        barrier.wait()
        try:
            outcomes.append(_send(db_engine, dung, view.id).outcome)
        except ConcurrentUpdate:
            outcomes.append("lost")

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("sent") == 1, outcomes
    assert _actions(db_engine, view.id).count("plan_sent") == 1


def test_the_manager_comments_and_asks_for_changes_once_per_sent_plan(db_engine: Engine, org: Org) -> None:
    dung, cuong = org.people["BD03"], org.people["BD02"]
    view = plan(db_engine, dung)
    sent = _send(db_engine, dung, view.id).evaluation
    with Session(db_engine) as session:
        assert may_give_plan_feedback(session, actor_id=cuong, evaluation_id=view.id)
        for other in (org.people["BD04"], org.people["HK01"], dung, org.people["TU01"]):
            assert not may_give_plan_feedback(session, actor_id=other, evaluation_id=view.id)
    with session_scope(db_engine) as session:
        comment_on_plan(session, actor_id=cuong, evaluation_id=view.id, comment="  Nêu rõ sản phẩm  ", now=AT)
    for outsider in (org.people["BD04"], org.people["TU01"]):  # a peer; staff may read but not comment
        with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
            comment_on_plan(session, actor_id=outsider, evaluation_id=view.id, comment="x")
    with session_scope(db_engine) as session, pytest.raises(ValidationFailed):
        request_plan_changes(session, actor_id=cuong, evaluation_id=view.id, reason="  ")
    with session_scope(db_engine) as session, pytest.raises(ConcurrentUpdate) as stale:
        request_plan_changes(session, actor_id=cuong, evaluation_id=view.id, reason="x", sent_digest="0" * 16)
    assert stale.value.params["reason"] == "plan_changed"
    with session_scope(db_engine) as session:
        asked = request_plan_changes(
            session, actor_id=cuong, evaluation_id=view.id, reason="Thêm hạn cho việc 2",
            sent_digest=sent.plan_sent_digest, now=AT,
        )  # fmt: skip
    assert asked.plan_change_reason == "Thêm hạn cho việc 2"
    with session_scope(db_engine) as session, pytest.raises(ConcurrentUpdate) as twice:
        request_plan_changes(
            session,
            actor_id=cuong,
            evaluation_id=view.id,
            reason="Lần hai",
            sent_digest=sent.plan_sent_digest,
        )
    assert twice.value.params["reason"] == "already_requested"
    with Session(db_engine) as session:
        entries = evaluation_history(session, actor_id=None, evaluation_id=view.id)
    comment = next(e for e in entries if e.action == "plan_comment")
    assert comment.actor_id == cuong and comment.detail == {"comment": "Nêu rõ sản phẩm"}
    assert [e.detail for e in entries if e.action == "plan_change_request"] == [
        {"reason": "Thêm hạn cho việc 2"}
    ]
    # The cadre changes the plan and sends it: the request is settled and a new one may be made.
    with session_scope(db_engine) as session:
        current = get_evaluation(session, actor_id=dung, evaluation_id=view.id)
        plan_tasks(
            session, actor_id=dung, person_id=dung, period=current.period, rules=RULES,
            tasks=[*(TaskInput(id=t.id, title=t.title) for t in current.tasks), TaskInput(title="Việc mới")],
        )  # fmt: skip
    resent = _send(db_engine, dung, view.id)
    assert resent.outcome == "sent" and resent.evaluation.plan_change_reason is None
    with session_scope(db_engine) as session:
        request_plan_changes(
            session, actor_id=cuong, evaluation_id=view.id, reason="Gộp việc 1 và 3",
            sent_digest=resent.evaluation.plan_sent_digest,
        )  # fmt: skip
