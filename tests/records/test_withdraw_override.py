"""Withdrawing a submitted self-assessment, and a head's decision over an enforced quota with a reason."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.db import session_scope
from records.errors import (
    ConcurrentUpdate,
    InvalidTransition,
    PermissionDenied,
    QuotaExceeded,
    ValidationFailed,
)
from records.evaluations import (
    TaskResultInput,
    approve_review,
    decide_evaluation,
    evaluation_history,
    get_evaluation,
    list_waiting_reviews,
    submit_self_assessment,
    withdraw_submission,
)
from records.schema import TaskResult
from tests.records.flows import GOOD, RULES, SUBMIT_TIME, review, submit
from tests.records.org import Org

LATE_TIME = datetime(2026, 6, 20, 9, 0, tzinfo=UTC)


def test_owner_withdraws_edits_and_resubmits(db_engine: Engine, org: Org) -> None:
    dung, cuong = org.people["BD03"], org.people["BD02"]
    view = submit(db_engine, dung)
    with Session(db_engine) as session:
        assert view.id in [w.evaluation_id for w in list_waiting_reviews(session, reviewer_id=cuong)]
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        withdraw_submission(session, actor_id=cuong, evaluation_id=view.id)
    with session_scope(db_engine) as session:
        draft = withdraw_submission(
            session, actor_id=dung, evaluation_id=view.id, now=SUBMIT_TIME, expected_version=view.version
        )
    assert draft.state == "draft" and draft.version == view.version + 1
    assert draft.self_points == view.self_points  # nothing typed is lost
    with Session(db_engine) as session:
        assert view.id not in [w.evaluation_id for w in list_waiting_reviews(session, reviewer_id=cuong)]
        last = evaluation_history(session, actor_id=dung, evaluation_id=view.id)[-1]
    assert (last.action, last.from_state, last.to_state, last.actor_id) == (
        "withdraw",
        "submitted",
        "draft",
        dung,
    )
    with session_scope(db_engine) as session, pytest.raises(InvalidTransition):  # already a draft
        withdraw_submission(session, actor_id=dung, evaluation_id=view.id, expected_version=view.version)
    # Re-submitting after the deadline is marked late.
    with session_scope(db_engine) as session:
        again = submit_self_assessment(
            session,
            actor_id=dung,
            evaluation_id=view.id,
            results=[TaskResultInput(task_id=t.id, result=TaskResult.ON_TIME) for t in view.tasks],
            points={**GOOD, "bonus": 2},
            rules=RULES,
            now=LATE_TIME,
        )
    assert again.state == "submitted" and again.late and again.self_total == view.self_total - 3


def test_withdraw_after_review_reports_already_reviewed(db_engine: Engine, org: Org) -> None:
    dung = org.people["BD03"]
    view = submit(db_engine, dung)
    review(db_engine, org.people["BD02"], view.id)
    with session_scope(db_engine) as session, pytest.raises(ConcurrentUpdate) as info:
        withdraw_submission(session, actor_id=dung, evaluation_id=view.id)
    assert info.value.code == ConcurrentUpdate.code and info.value.params["state"] == "reviewed"
    with Session(db_engine) as session:
        assert get_evaluation(session, actor_id=None, evaluation_id=view.id).state == "reviewed"


def _race(engine: Engine, org: Org, evaluation_id: int, version: int) -> dict[str, object]:
    """The cadre withdraws and the reviewer approves the same version at once."""
    dung, cuong = org.people["BD03"], org.people["BD02"]
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def act(who: str) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                if who == "cadre":
                    withdraw_submission(
                        session, actor_id=dung, evaluation_id=evaluation_id, expected_version=version
                    )
                else:
                    approve_review(
                        session,
                        actor_id=cuong,
                        evaluation_id=evaluation_id,
                        rules=RULES,
                        expected_version=version,
                    )
            results[who] = "won"
        except (ConcurrentUpdate, InvalidTransition) as exc:  # the loser read the winner's state
            results[who] = exc

    threads = [threading.Thread(target=act, args=(w,)) for w in ("cadre", "reviewer")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_withdraw_races_review_exactly_one_wins(db_engine: Engine, org: Org) -> None:
    for index in range(4):
        view = submit(db_engine, org.people["BD03"], period=f"2026-{index + 1:02d}")
        results = _race(db_engine, org, view.id, view.version)
        winners = [w for w, r in results.items() if r == "won"]
        assert len(winners) == 1 and len(results) == 2, results
        with Session(db_engine) as session:
            final = get_evaluation(session, actor_id=None, evaluation_id=view.id)
        assert final.state == ("draft" if winners == ["cadre"] else "reviewed")
        assert final.version == view.version + 1


def test_quota_breach_decided_with_a_reason(db_engine: Engine, org: Org) -> None:
    binh = org.people["BD01"]
    excellent = {"discipline": 20, "tasks": 68, "bonus": 8}
    ids = []
    for code in ("BD02", "BD03", "BD04"):  # 30% of 3 → no grade A allowed
        view = submit(db_engine, org.people[code], points=excellent)
        reviewer = binh if code == "BD02" else org.people["BD02"]
        ids.append(review(db_engine, reviewer, view.id).id)
    for blank in ("", "   "):
        with session_scope(db_engine) as session, pytest.raises(ValidationFailed) as bad:
            decide_evaluation(
                session, actor_id=binh, evaluation_id=ids[0], rules=RULES, quota_override_reason=blank
            )
        assert bad.value.params["field"] == "quota_override_reason"
    with session_scope(db_engine) as session, pytest.raises(QuotaExceeded):
        decide_evaluation(session, actor_id=binh, evaluation_id=ids[0], rules=RULES)
    with session_scope(db_engine) as session:
        decided = decide_evaluation(
            session,
            actor_id=binh,
            evaluation_id=ids[0],
            rules=RULES,
            quota_override_reason="  Thành tích đột xuất được Thành ủy khen  ",
        )
    assert decided.state == "decided" and decided.final_grade == "A"
    with Session(db_engine) as session:
        last = evaluation_history(session, actor_id=binh, evaluation_id=ids[0])[-1]
    assert last.action == "decide" and last.detail is not None
    override = last.detail["quota_override"]
    assert override["reason"] == "Thành tích đột xuất được Thành ủy khen"
    assert override["breaches"][0]["grade"] == "A" and override["breaches"][0]["allowed"] == 0
    # Within quota the reason is not needed and nothing is recorded as an override.
    with session_scope(db_engine) as session:
        decide_evaluation(
            session,
            actor_id=binh,
            evaluation_id=ids[1],
            rules=RULES,
            final_grade="B",
            quota_override_reason="x",
        )
    with Session(db_engine) as session:
        last = evaluation_history(session, actor_id=binh, evaluation_id=ids[1])[-1]
    assert last.detail == {"grade": "B"}
