"""Two reviewers acting on the same record at once: one wins, the other gets ConcurrentUpdate."""

from __future__ import annotations

import threading
import time

from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.access import grant_role
from records.db import session_scope
from records.errors import ConcurrentUpdate
from records.evaluations import approve_review, get_evaluation, return_for_revision
from tests.records.flows import RULES, submit
from tests.records.org import Org


def _second_reviewer(engine: Engine, org: Org) -> int:
    with session_scope(engine) as session:
        grant_role(
            session, actor_id=None, person_id=org.people["PX01"], role="reviewer", unit_id=org.units["BD"]
        )
    return org.people["PX01"]


def test_loser_waits_for_the_winner_and_gets_concurrent_update(db_engine: Engine, org: Org) -> None:
    """The winner holds its transaction open; the loser's version claim waits, then matches nothing."""
    other = _second_reviewer(db_engine, org)
    view = submit(db_engine, org.people["BD03"])
    outcome: dict[str, object] = {}

    def loser() -> None:
        try:
            with session_scope(db_engine) as session:
                return_for_revision(session, actor_id=other, evaluation_id=view.id, reason="Thiếu minh chứng")
            outcome["result"] = "returned"
        except ConcurrentUpdate as exc:
            outcome["result"] = exc

    winner = Session(db_engine, expire_on_commit=False)
    try:
        approve_review(
            winner, actor_id=org.people["BD02"], evaluation_id=view.id, rules=RULES
        )  # flushed, not committed
        thread = threading.Thread(target=loser)
        thread.start()
        time.sleep(0.4)  # the loser reads the old version and blocks on the row / write lock
        assert thread.is_alive()
        winner.commit()
    finally:
        winner.close()
    thread.join(timeout=30)
    assert isinstance(outcome["result"], ConcurrentUpdate)
    with Session(db_engine) as session:
        final = get_evaluation(session, actor_id=None, evaluation_id=view.id)
    assert (
        final.state == "reviewed"
        and final.reviewer_id == org.people["BD02"]
        and final.version == view.version + 1
    )


def _race(engine: Engine, reviewers: tuple[int, int], evaluation_id: int, version: int) -> list[object]:
    barrier = threading.Barrier(len(reviewers))
    results: list[object] = []
    lock = threading.Lock()

    def act(reviewer: int) -> None:
        barrier.wait()
        outcome: object
        try:
            with session_scope(engine) as session:
                approve_review(
                    session,
                    actor_id=reviewer,
                    evaluation_id=evaluation_id,
                    rules=RULES,
                    expected_version=version,
                )
            outcome = reviewer
        except ConcurrentUpdate as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=act, args=(r,)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_racing_threads_exactly_one_wins(db_engine: Engine, org: Org) -> None:
    other = _second_reviewer(db_engine, org)
    for index in range(5):
        person = org.people["BD03"] if index % 2 == 0 else org.people["BD04"]
        view = submit(db_engine, person, period=f"2026-{index + 1:02d}")
        results = _race(db_engine, (org.people["BD02"], other), view.id, view.version)
        winners = [r for r in results if isinstance(r, int)]
        losers = [r for r in results if isinstance(r, ConcurrentUpdate)]
        assert len(winners) == 1 and len(losers) == 1, results
        with Session(db_engine) as session:
            assert get_evaluation(session, actor_id=None, evaluation_id=view.id).reviewer_id == winners[0]
