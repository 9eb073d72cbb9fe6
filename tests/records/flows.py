"""Test shortcuts that drive the real evaluation services (plan, submit, review) in their own transactions."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from records.db import session_scope
from records.evaluations import (
    TaskInput,
    TaskResultInput,
    approve_review,
    plan_tasks,
    submit_self_assessment,
)
from records.rules import Rules, default_rules
from records.schema import TaskResult
from records.views import EvaluationView

RULES = default_rules()
PLAN_TIME = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SUBMIT_TIME = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
GOOD = {"discipline": 18, "tasks": 60, "bonus": 5}  # 83 → B


def plan(
    engine: Engine,
    person_id: int,
    period: str = "2026-05",
    titles: tuple[str, ...] = ("Báo cáo quý", "Hồ sơ đảng viên"),
) -> EvaluationView:
    with session_scope(engine) as session:
        return plan_tasks(
            session,
            actor_id=person_id,
            person_id=person_id,
            period=period,
            tasks=[TaskInput(title=t, expected_result="Hoàn thành") for t in titles],
            rules=RULES,
            now=PLAN_TIME,
        )


def submit(
    engine: Engine,
    person_id: int,
    period: str = "2026-05",
    points: dict[str, float] | None = None,
    now: datetime = SUBMIT_TIME,
    rules: Rules = RULES,
) -> EvaluationView:
    view = plan(engine, person_id, period)
    with session_scope(engine) as session:
        return submit_self_assessment(
            session,
            actor_id=person_id,
            evaluation_id=view.id,
            results=[TaskResultInput(task_id=t.id, result=TaskResult.ON_TIME) for t in view.tasks],
            points=points or GOOD,
            comment="Hoàn thành các nhiệm vụ được giao",
            rules=rules,
            now=now,
        )


def review(
    engine: Engine, reviewer_id: int, evaluation_id: int, points: dict[str, float] | None = None
) -> EvaluationView:
    with session_scope(engine) as session:
        return approve_review(
            session,
            actor_id=reviewer_id,
            evaluation_id=evaluation_id,
            points=points,
            rules=RULES,
            now=SUBMIT_TIME,
        )
