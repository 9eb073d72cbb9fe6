"""The self-assessment save/submit path: few statements, nothing written before the version claim."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.audit import list_audit
from records.db import session_scope
from records.errors import ConcurrentUpdate, ValidationFailed
from records.evaluations import (
    TaskResultInput,
    get_evaluation,
    save_self_assessment,
    submit_self_assessment,
)
from records.schema import Evaluation, TaskResult
from tests.records.flows import GOOD, RULES, SUBMIT_TIME, plan
from tests.records.org import Org


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(" ".join(statement.split()[:3]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_submit_reads_once_and_writes_the_record_with_its_version_claim(db_engine: Engine, org: Org) -> None:
    person = org.people["BD03"]
    view = plan(db_engine, person)
    with _statements(db_engine) as seen, session_scope(db_engine) as session:
        submitted = submit_self_assessment(
            session,
            actor_id=person,
            evaluation_id=view.id,
            results=[TaskResultInput(task_id=t.id, result=TaskResult.ON_TIME) for t in view.tasks],
            points=GOOD,
            rules=RULES,
            now=SUBMIT_TIME,
        )
    # One SELECT (record + person + tasks), then the claim UPDATE carrying the record's changes, the audit row,
    # and the task results (one executemany); the view is built from what was loaded, nothing is read again.
    assert seen == [
        "SELECT evaluation.id, evaluation.person_id,",
        "UPDATE evaluation SET",
        "INSERT INTO audit_log",
        "UPDATE evaluation_task SET",
    ]
    # ...and the view is what a fresh read gives.
    with Session(db_engine) as session:
        fresh = get_evaluation(session, actor_id=person, evaluation_id=view.id)
    assert fresh == submitted
    assert fresh.state == "submitted" and fresh.version == view.version + 1
    assert [t.result for t in fresh.tasks] == ["on_time"] * len(view.tasks)


def test_a_stale_save_writes_nothing_and_the_winner_stays(db_engine: Engine, org: Org) -> None:
    person = org.people["BD03"]
    view = plan(db_engine, person)
    first, second = view.tasks[0].id, view.tasks[1].id
    stale = Session(db_engine, expire_on_commit=False)
    try:
        loaded = stale.get(Evaluation, view.id)  # loaded (and kept) at version v
        assert loaded is not None and loaded.version == view.version
        with session_scope(db_engine) as session:  # someone else saves in between: v + 1
            save_self_assessment(
                session,
                actor_id=person,
                evaluation_id=view.id,
                results=[TaskResultInput(task_id=first, result=TaskResult.LATE)],
                rules=RULES,
                now=SUBMIT_TIME,
            )
        with pytest.raises(ConcurrentUpdate):
            save_self_assessment(
                stale,
                actor_id=person,
                evaluation_id=view.id,
                results=[TaskResultInput(task_id=second, result=TaskResult.NOT_DONE)],
                points={"discipline": 10},
                rules=RULES,
                now=SUBMIT_TIME,
            )
        stale.rollback()
    finally:
        stale.close()
    with Session(db_engine) as session:
        final = get_evaluation(session, actor_id=person, evaluation_id=view.id)
        history = [entry.action for entry in list_audit(session, entity="evaluation", entity_id=view.id)]
    assert final.version == view.version + 1 and final.self_points is None
    assert {t.id: t.result for t in final.tasks} == {first: "late", second: None}
    assert history.count("save_draft") == 1


def test_an_invalid_submit_changes_nothing(db_engine: Engine, org: Org) -> None:
    person = org.people["BD03"]
    view = plan(db_engine, person)
    with _statements(db_engine) as seen, pytest.raises(ValidationFailed), session_scope(db_engine) as session:
        submit_self_assessment(
            session,
            actor_id=person,
            evaluation_id=view.id,
            results=[
                TaskResultInput(task_id=view.tasks[0].id, result=TaskResult.ON_TIME)
            ],  # one task missing
            points=GOOD,
            rules=RULES,
            now=SUBMIT_TIME,
        )
    assert not [
        s for s in seen if s.split()[0] in {"UPDATE", "INSERT", "DELETE"}
    ]  # rejected before any write
    with Session(db_engine) as session:
        again = get_evaluation(session, actor_id=person, evaluation_id=view.id)
    assert again == view
