"""The evaluation workflow end to end, its permissions, quotas, reopen and history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.access import grant_role
from records.db import session_scope
from records.errors import (
    ConcurrentUpdate,
    InvalidTransition,
    PermissionDenied,
    QuotaExceeded,
    ValidationFailed,
)
from records.evaluations import (
    TaskInput,
    TaskResultInput,
    allowed_actions,
    copy_unfinished_tasks,
    decide_evaluation,
    evaluation_history,
    evaluation_history_runs,
    get_evaluation,
    list_waiting_decisions,
    list_waiting_reviews,
    next_actors,
    plan_tasks,
    preview_quota,
    reopen_evaluation,
    return_for_revision,
    save_self_assessment,
    submit_self_assessment,
)
from records.people import set_unit_outstanding
from records.rules import parse_rules
from records.schema import TaskResult
from tests.records.flows import GOOD, RULES, SUBMIT_TIME, plan, review, submit
from tests.records.org import Org

LATE_TIME = datetime(2026, 6, 20, 9, 0, tzinfo=UTC)


def test_plan_draft_submit_review_decide_lock(db_engine: Engine, org: Org) -> None:
    dung, cuong, binh = org.people["BD03"], org.people["BD02"], org.people["BD01"]
    view = plan(db_engine, dung)
    assert view.state == "draft" and [t.title for t in view.tasks] == ["Báo cáo quý", "Hồ sơ đảng viên"]
    assert view.plan_registered_at is not None
    with session_scope(db_engine) as session:
        draft = save_self_assessment(
            session,
            actor_id=dung,
            evaluation_id=view.id,
            results=[TaskResultInput(task_id=view.tasks[0].id, result=TaskResult.ON_TIME, note="Đã nộp")],
            points={"discipline": 19},
            rules=RULES,
            now=SUBMIT_TIME,
        )
    assert draft.state == "draft" and draft.self_points == {"discipline": 19} and draft.proposed_grade is None
    with session_scope(db_engine) as session:
        submitted = submit_self_assessment(
            session,
            actor_id=dung,
            evaluation_id=view.id,
            results=[TaskResultInput(task_id=view.tasks[1].id, result=TaskResult.LATE)],
            points={"tasks": 65, "bonus": 8},
            rules=RULES,
            now=SUBMIT_TIME,
        )
    assert submitted.state == "submitted" and submitted.self_total == 92 and submitted.proposed_grade == "A"
    assert not submitted.late
    with Session(db_engine) as session:
        waiting = list_waiting_reviews(session, reviewer_id=cuong)
    assert [w.evaluation_id for w in waiting] == [view.id]
    reviewed = review(db_engine, cuong, view.id, points={"tasks": 55})
    assert reviewed.state == "reviewed" and reviewed.review_total == 82 and reviewed.review_grade == "B"
    assert reviewed.reviewer_id == cuong
    with Session(db_engine) as session:
        assert [w.evaluation_id for w in list_waiting_decisions(session, head_id=binh)] == [view.id]
    with session_scope(db_engine) as session:
        decided = decide_evaluation(
            session, actor_id=binh, evaluation_id=view.id, rules=RULES, now=SUBMIT_TIME
        )
    assert decided.state == "decided" and decided.final_grade == "B" and decided.locked
    # Locked: neither the cadre nor the reviewer can change it.
    with session_scope(db_engine) as session, pytest.raises(InvalidTransition):
        save_self_assessment(session, actor_id=dung, evaluation_id=view.id, points={"bonus": 10}, rules=RULES)
    with session_scope(db_engine) as session, pytest.raises(ConcurrentUpdate) as info:
        review(db_engine, cuong, view.id)
    assert "already" in info.value.detail
    with Session(db_engine) as session:
        history = evaluation_history(session, actor_id=dung, evaluation_id=view.id)
    assert [(h.action, h.from_state, h.to_state) for h in history] == [
        ("create", None, "draft"),
        ("plan", None, None),
        ("save_draft", None, None),
        ("submit", "draft", "submitted"),
        ("approve", "submitted", "reviewed"),
        ("decide", "reviewed", "decided"),
    ]
    assert (
        history[-1].actor_id == binh
        and history[4].detail is not None
        and history[4].detail["adjusted"] == ["tasks"]
    )


def test_return_for_revision_and_resubmit(db_engine: Engine, org: Org) -> None:
    dung, cuong = org.people["BD03"], org.people["BD02"]
    view = submit(db_engine, dung)
    with session_scope(db_engine) as session, pytest.raises(ValidationFailed):
        return_for_revision(session, actor_id=cuong, evaluation_id=view.id, reason="  ")
    with session_scope(db_engine) as session:
        returned = return_for_revision(
            session, actor_id=cuong, evaluation_id=view.id, reason="Bổ sung minh chứng"
        )
    assert returned.state == "returned" and returned.return_reason == "Bổ sung minh chứng"
    with session_scope(db_engine) as session:
        again = submit_self_assessment(
            session, actor_id=dung, evaluation_id=view.id, points={"bonus": 2}, rules=RULES, now=SUBMIT_TIME
        )
    assert again.state == "submitted" and again.self_total == 80
    with Session(db_engine) as session:
        states = [
            (h.from_state, h.to_state)
            for h in evaluation_history(session, actor_id=None, evaluation_id=view.id)
            if h.to_state
        ]
    assert states[-3:] == [("draft", "submitted"), ("submitted", "returned"), ("returned", "submitted")]


def test_permissions_follow_roles_managers_and_scopes(db_engine: Engine, org: Org) -> None:
    dung = org.people["BD03"]
    view = submit(db_engine, dung)
    for outsider in (org.people["BD04"], org.people["HK01"], dung):  # a peer, a head elsewhere, oneself
        with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
            review(db_engine, outsider, view.id)
    with Session(db_engine) as session:
        with pytest.raises(PermissionDenied):
            get_evaluation(session, actor_id=org.people["BD04"], evaluation_id=view.id)
        assert (
            get_evaluation(session, actor_id=org.people["TU01"], evaluation_id=view.id).id == view.id
        )  # staff
        assert list_waiting_reviews(session, reviewer_id=org.people["HK01"]) == []
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        plan_tasks(
            session,
            actor_id=org.people["BD02"],
            person_id=dung,
            period="2026-06",
            tasks=[TaskInput(title="x")],
            rules=RULES,
        )
    review(db_engine, org.people["BD02"], view.id)
    for not_head in (org.people["BD02"], org.people["HK01"], org.people["TU01"]):
        with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
            decide_evaluation(session, actor_id=not_head, evaluation_id=view.id, rules=RULES)


def test_head_of_a_lower_unit_is_decided_by_the_head_above(db_engine: Engine, org: Org) -> None:
    phuong = org.people["PX01"]  # head of PX, manager BD01
    view = submit(db_engine, phuong)
    review(db_engine, org.people["BD01"], view.id)
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        decide_evaluation(session, actor_id=phuong, evaluation_id=view.id, rules=RULES)
    with session_scope(db_engine) as session:
        assert (
            decide_evaluation(session, actor_id=org.people["BD01"], evaluation_id=view.id, rules=RULES).state
            == "decided"
        )


def test_late_submission_is_accepted_marked_and_listed_in_order(db_engine: Engine, org: Org) -> None:
    late = submit(db_engine, org.people["BD04"], now=LATE_TIME)
    early = submit(db_engine, org.people["BD03"], now=SUBMIT_TIME)
    assert late.late and not early.late and late.state == "submitted"
    with Session(db_engine) as session:
        waiting = list_waiting_reviews(session, reviewer_id=org.people["BD02"])
    assert [(w.evaluation_id, w.late) for w in waiting] == [(early.id, False), (late.id, True)]


def test_reopen_needs_the_head_and_a_reason(db_engine: Engine, org: Org) -> None:
    view = submit(db_engine, org.people["BD03"])
    review(db_engine, org.people["BD02"], view.id)
    binh = org.people["BD01"]
    with session_scope(db_engine) as session:
        decide_evaluation(session, actor_id=binh, evaluation_id=view.id, rules=RULES, final_grade="C")
    with session_scope(db_engine) as session, pytest.raises(ValidationFailed):
        reopen_evaluation(session, actor_id=binh, evaluation_id=view.id, reason="")
    with session_scope(db_engine) as session, pytest.raises(PermissionDenied):
        reopen_evaluation(session, actor_id=org.people["BD02"], evaluation_id=view.id, reason="Sai sót")
    with session_scope(db_engine) as session:
        reopened = reopen_evaluation(
            session, actor_id=binh, evaluation_id=view.id, reason="Nhầm mức xếp loại"
        )
    assert reopened.state == "reviewed" and reopened.final_grade is None and reopened.reopen_count == 1
    with session_scope(db_engine) as session:
        redecided = decide_evaluation(session, actor_id=binh, evaluation_id=view.id, rules=RULES)
    assert redecided.final_grade == "B"
    with session_scope(db_engine) as session:
        back = reopen_evaluation(
            session, actor_id=binh, evaluation_id=view.id, reason="Cần bổ sung", to_state="returned"
        )
    assert back.state == "returned"
    with Session(db_engine) as session:
        reopen = [
            h
            for h in evaluation_history(session, actor_id=None, evaluation_id=view.id)
            if h.action == "reopen"
        ]
    assert reopen[0].detail == {"reason": "Nhầm mức xếp loại", "previous_grade": "C"}


def test_points_are_checked_against_the_rules(db_engine: Engine, org: Org) -> None:
    view = plan(db_engine, org.people["BD03"])
    bad_points: list[dict[str, float]] = [
        {"discipline": 21},
        {"tasks": -1},
        {"charm": 5},
        {"bonus": float("nan")},
    ]
    for points in bad_points:
        with session_scope(db_engine) as session, pytest.raises(ValidationFailed) as info:
            save_self_assessment(
                session, actor_id=org.people["BD03"], evaluation_id=view.id, points=points, rules=RULES
            )
        assert info.value.params["field"] == "points"
    with session_scope(db_engine) as session, pytest.raises(ValidationFailed) as info:
        submit_self_assessment(
            session,
            actor_id=org.people["BD03"],
            evaluation_id=view.id,
            points={"discipline": 20},
            rules=RULES,
        )
    assert info.value.params["field"] == "results"  # tasks without a result
    with session_scope(db_engine) as session, pytest.raises(ValidationFailed) as info:
        plan_tasks(
            session,
            actor_id=org.people["BD03"],
            person_id=org.people["BD03"],
            period="2026-Q2",
            tasks=[TaskInput(title="x")],
            rules=RULES,
        )
    assert info.value.params["field"] == "period"


def test_copy_unfinished_tasks_from_the_previous_period(db_engine: Engine, org: Org) -> None:
    dung = org.people["BD03"]
    view = plan(db_engine, dung, titles=("Xong đúng hạn", "Chậm", "Chưa làm"))
    results = [TaskResult.ON_TIME, TaskResult.LATE, TaskResult.NOT_DONE]
    with session_scope(db_engine) as session:
        submit_self_assessment(
            session,
            actor_id=dung,
            evaluation_id=view.id,
            rules=RULES,
            points=GOOD,
            now=SUBMIT_TIME,
            results=[
                TaskResultInput(task_id=t.id, result=r) for t, r in zip(view.tasks, results, strict=True)
            ],
        )
    for _ in range(2):  # twice: copied once only
        with session_scope(db_engine) as session:
            june = copy_unfinished_tasks(
                session, actor_id=dung, person_id=dung, period="2026-06", rules=RULES
            )
    assert [t.title for t in june.tasks] == ["Chậm", "Chưa làm"]
    assert [t.copied_from_id for t in june.tasks] == [view.tasks[1].id, view.tasks[2].id]
    # Editing the plan keeps tasks by id and audits removals.
    with session_scope(db_engine) as session:
        edited = plan_tasks(
            session,
            actor_id=dung,
            person_id=dung,
            period="2026-06",
            rules=RULES,
            tasks=[TaskInput(id=june.tasks[1].id, title="Chưa làm (tiếp)"), TaskInput(title="Việc mới")],
        )
    assert [(t.id == june.tasks[1].id, t.title) for t in edited.tasks] == [
        (True, "Chưa làm (tiếp)"),
        (False, "Việc mới"),
    ]
    with Session(db_engine) as session:
        last = evaluation_history(session, actor_id=dung, evaluation_id=edited.id)[-1]
    assert last.detail is not None and last.detail["removed"] == [{"id": june.tasks[0].id, "title": "Chậm"}]


def test_a_task_copied_into_the_next_period_can_still_be_removed_from_its_own(
    db_engine: Engine, org: Org
) -> None:
    dung = org.people["BD03"]
    may = plan(db_engine, dung, titles=("Còn dở", "Giữ lại"))  # a draft: nothing marked done on time
    with session_scope(db_engine) as session:
        june = copy_unfinished_tasks(session, actor_id=dung, person_id=dung, period="2026-06", rules=RULES)
    assert [t.copied_from_id for t in june.tasks] == [may.tasks[0].id, may.tasks[1].id]
    with session_scope(db_engine) as session:  # the May plan drops the task June copied
        may = plan_tasks(
            session,
            actor_id=dung,
            person_id=dung,
            period="2026-05",
            rules=RULES,
            tasks=[TaskInput(id=may.tasks[1].id, title="Giữ lại")],
        )
    assert [t.title for t in may.tasks] == ["Giữ lại"]
    with session_scope(db_engine) as session:
        june = copy_unfinished_tasks(session, actor_id=dung, person_id=dung, period="2026-06", rules=RULES)
    assert [(t.title, t.copied_from_id) for t in june.tasks] == [
        ("Còn dở", None),
        ("Giữ lại", may.tasks[0].id),
    ]


def test_grade_a_quota_share_of_graded_and_outstanding_units(db_engine: Engine, org: Org) -> None:
    binh = org.people["BD01"]
    excellent = {"discipline": 20, "tasks": 68, "bonus": 8}
    ids = []
    for code in ("BD02", "BD03", "BD04"):  # three records in BD: 30% of 3 → no grade A
        view = submit(db_engine, org.people[code], points=excellent)
        reviewer = binh if code == "BD02" else org.people["BD02"]
        ids.append(review(db_engine, reviewer, view.id).id)
    with session_scope(db_engine) as session, pytest.raises(QuotaExceeded) as info:
        decide_evaluation(session, actor_id=binh, evaluation_id=ids[0], rules=RULES)
    assert info.value.params["allowed"] == 0 and info.value.params["graded"] == 3
    with session_scope(db_engine) as session:
        set_unit_outstanding(session, actor_id=org.people["TU01"], unit_id=org.units["BD"], outstanding=True)
    with session_scope(db_engine) as session:  # 40% of 3 → one grade A
        assert decide_evaluation(session, actor_id=binh, evaluation_id=ids[0], rules=RULES).final_grade == "A"
    with session_scope(db_engine) as session, pytest.raises(QuotaExceeded):
        decide_evaluation(session, actor_id=binh, evaluation_id=ids[1], rules=RULES)
    with session_scope(db_engine) as session:
        assert (
            decide_evaluation(
                session, actor_id=binh, evaluation_id=ids[1], rules=RULES, final_grade="B"
            ).final_grade
            == "B"
        )


def test_ratio_quota_htxsnv_at_most_a_fifth_of_httnv(db_engine: Engine, org: Org) -> None:
    data = RULES.model_dump()
    data["quotas"] = [{"kind": "ratio_to_grade", "grade": "A", "of_grade": "B", "max_ratio": 0.2}]
    rules = parse_rules(data)
    binh = org.people["BD01"]
    views = [
        review(db_engine, org.people["BD02"], submit(db_engine, org.people[c]).id) for c in ("BD03", "BD04")
    ]
    with session_scope(db_engine) as session, pytest.raises(QuotaExceeded) as info:
        decide_evaluation(session, actor_id=binh, evaluation_id=views[0].id, rules=rules, final_grade="A")
    assert info.value.params["kind"] == "ratio_to_grade"
    with session_scope(db_engine) as session:
        decide_evaluation(session, actor_id=binh, evaluation_id=views[0].id, rules=rules, final_grade="B")
        with pytest.raises(QuotaExceeded):  # 1 × 0.2 → still no A
            decide_evaluation(session, actor_id=binh, evaluation_id=views[1].id, rules=rules, final_grade="A")


def test_a_small_unit_may_have_one_grade_a_when_the_rules_say_at_least_one(
    db_engine: Engine, org: Org
) -> None:
    """30% of 3 rounds down to no grade A; a committee that sets `at_least = 1` allows one, and only one."""
    data = RULES.model_dump()
    data["quotas"] = [{"kind": "share_of_graded", "grade": "A", "max_share": 0.3, "at_least": 1}]
    rules = parse_rules(data)
    binh = org.people["BD01"]
    excellent = {"discipline": 20, "tasks": 68, "bonus": 8}
    ids = []
    for code in ("BD02", "BD03", "BD04"):
        view = submit(db_engine, org.people[code], points=excellent)
        reviewer = binh if code == "BD02" else org.people["BD02"]
        ids.append(review(db_engine, reviewer, view.id).id)
    with session_scope(db_engine) as session:
        assert decide_evaluation(session, actor_id=binh, evaluation_id=ids[0], rules=rules).final_grade == "A"
    with session_scope(db_engine) as session, pytest.raises(QuotaExceeded) as info:
        decide_evaluation(session, actor_id=binh, evaluation_id=ids[1], rules=rules)
    assert info.value.params["allowed"] == 1 and info.value.params["count"] == 2
    # The head is told how the limit was reached, floor included (bot/features/review.py words it).
    from bot.features.review import quota_calculation

    assert quota_calculation(info.value.params) == (
        "Cách tính: 30% của 3 người được đánh giá = 0,9, làm tròn xuống → tối đa 1 người "
        "(đơn vị có người được đánh giá luôn được ít nhất 1 người)."
    )


def test_the_rounding_of_a_breached_quota_is_told(db_engine: Engine, org: Org) -> None:
    """`rounding = "nearest"`: 30% of 3 is 0,9, rounded to 1; a second A breaches it and the head reads why."""
    data = RULES.model_dump()
    data["quotas"] = [{"kind": "share_of_graded", "grade": "A", "max_share": 0.3, "rounding": "nearest"}]
    rules = parse_rules(data)
    binh = org.people["BD01"]
    excellent = {"discipline": 20, "tasks": 68, "bonus": 8}
    ids = []
    for code in ("BD02", "BD03", "BD04"):
        view = submit(db_engine, org.people[code], points=excellent)
        reviewer = binh if code == "BD02" else org.people["BD02"]
        ids.append(review(db_engine, reviewer, view.id).id)
    with session_scope(db_engine) as session:
        assert decide_evaluation(session, actor_id=binh, evaluation_id=ids[0], rules=rules).final_grade == "A"
    with session_scope(db_engine) as session, pytest.raises(QuotaExceeded) as info:
        decide_evaluation(session, actor_id=binh, evaluation_id=ids[1], rules=rules)
    from bot.features.review import quota_calculation

    assert quota_calculation(info.value.params) == (
        "Cách tính: 30% của 3 người được đánh giá = 0,9, làm tròn đến số gần nhất → tối đa 1 người."
    )


def test_second_reviewer_gets_concurrent_update(db_engine: Engine, org: Org) -> None:
    with session_scope(db_engine) as session:
        grant_role(
            session, actor_id=None, person_id=org.people["PX01"], role="reviewer", unit_id=org.units["BD"]
        )
    view = submit(db_engine, org.people["BD03"])
    review(db_engine, org.people["BD02"], view.id)
    with pytest.raises(ConcurrentUpdate):
        review(db_engine, org.people["PX01"], view.id)
    with session_scope(db_engine) as session, pytest.raises(ConcurrentUpdate):
        return_for_revision(session, actor_id=org.people["PX01"], evaluation_id=view.id, reason="x")
    with session_scope(db_engine) as session, pytest.raises(ConcurrentUpdate):
        decide_evaluation(
            session,
            actor_id=org.people["BD01"],
            evaluation_id=view.id,
            rules=RULES,
            expected_version=view.version,
        )


def test_next_actors_and_quota_preview(db_engine: Engine, org: Org) -> None:
    p = org.people
    view = plan(db_engine, p["BD03"])
    with Session(db_engine) as session:
        assert next_actors(session, evaluation_id=view.id) == [p["BD03"]]
    submitted = submit(db_engine, p["BD03"], points={"discipline": 20, "tasks": 70, "bonus": 5})
    with Session(db_engine) as session:
        assert next_actors(session, evaluation_id=submitted.id) == [p["BD02"]]  # the direct manager
    review(db_engine, p["BD02"], submitted.id)
    with Session(db_engine) as session:
        assert next_actors(session, evaluation_id=submitted.id) == [p["BD01"]]
        (broken,) = preview_quota(session, evaluation_id=submitted.id, grade="a", rules=RULES)
        assert broken["allowed"] == 0 and broken["graded"] == 1
        assert preview_quota(session, evaluation_id=submitted.id, grade="B", rules=RULES) == []
    # No manager: the reviewers over the unit are next (never the subject).
    binh_record = submit(db_engine, p["BD01"])
    with Session(db_engine) as session:
        assert next_actors(session, evaluation_id=binh_record.id) == [p["BD02"]]


def test_history_runs_fold_consecutive_draft_saves_and_the_log_stays_complete(
    db_engine: Engine, org: Org
) -> None:
    dung = org.people["BD03"]
    view = plan(db_engine, dung)
    for points in ({"discipline": 15}, {"discipline": 16}, {"discipline": 17}):
        with session_scope(db_engine) as session:
            save_self_assessment(session, actor_id=dung, evaluation_id=view.id, rules=RULES, points=points)
    with Session(db_engine) as session:
        entries = evaluation_history(session, actor_id=None, evaluation_id=view.id)
        runs = evaluation_history_runs(session, actor_id=dung, evaluation_id=view.id)
    assert [e.action for e in entries].count("save_draft") == 3
    drafts = [r for r in runs if r.entry.action == "save_draft"]
    assert len(drafts) == 1 and drafts[0].count == 3
    assert drafts[0].entry.id == max(e.id for e in entries if e.action == "save_draft")
    assert sum(r.count for r in runs) == len(entries)


def test_allowed_actions_follow_state_and_permission(db_engine: Engine, org: Org) -> None:
    view = submit(db_engine, org.people["BD03"])
    reviewer, head = org.people["BD02"], org.people["BD01"]
    with Session(db_engine) as session:
        assert allowed_actions(session, actor_id=reviewer, evaluation_id=view.id) == {"review"}
        assert allowed_actions(session, actor_id=head, evaluation_id=view.id) == frozenset()
    review(db_engine, reviewer, view.id)
    with Session(db_engine) as session:
        assert allowed_actions(session, actor_id=reviewer, evaluation_id=view.id) == frozenset()
        assert allowed_actions(session, actor_id=head, evaluation_id=view.id) == {"decide"}
    with session_scope(db_engine) as session:
        decide_evaluation(session, actor_id=head, evaluation_id=view.id, rules=RULES)
    with Session(db_engine) as session:
        assert allowed_actions(session, actor_id=reviewer, evaluation_id=view.id) == frozenset()
        assert allowed_actions(session, actor_id=org.people["BD03"], evaluation_id=view.id) == frozenset()
        assert allowed_actions(session, actor_id=org.people["HK01"], evaluation_id=view.id) == frozenset()
        assert allowed_actions(session, actor_id=head, evaluation_id=view.id) == {"reopen"}
