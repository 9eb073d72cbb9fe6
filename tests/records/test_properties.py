"""Property-based tests: grade computation against the bands, and the evaluation state machine."""

from __future__ import annotations

import itertools
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.db import make_engine, session_scope
from records.errors import ConcurrentUpdate, InvalidTransition, ValidationFailed
from records.evaluations import (
    TRANSITIONS,
    TaskInput,
    TaskResultInput,
    approve_review,
    compute_grade,
    decide_evaluation,
    evaluation_history,
    get_evaluation,
    plan_tasks,
    reopen_evaluation,
    return_for_revision,
    submit_self_assessment,
    validate_points,
)
from records.migrate import upgrade
from records.people import find_person_by_code, normalise_phone
from records.periods import add_months
from records.roster import import_roster
from records.rotations import review_schedule
from records.rules import parse_rules
from records.schema import TaskResult
from tests.records.flows import RULES, SUBMIT_TIME


def _points() -> st.SearchStrategy[dict[str, float]]:
    return st.fixed_dictionaries(
        {
            c.key: st.floats(min_value=0, max_value=c.max_points, allow_nan=False).map(lambda x: round(x, 2))
            for c in RULES.criteria
        }
    )


@given(_points())
def test_grade_is_the_band_the_total_falls_in(points: dict[str, float]) -> None:
    clean = validate_points(RULES, points, complete=True)
    total, grade = compute_grade(RULES, clean)
    assert total == pytest.approx(sum(clean.values()), abs=0.011)
    codes = [g.code for g in RULES.grades]
    band = RULES.grades[codes.index(grade)]
    assert total >= band.min_points
    higher = codes.index(grade) - 1
    if higher >= 0:
        assert total < RULES.grades[higher].min_points


@given(_points(), _points())
def test_more_points_never_give_a_lower_grade(a: dict[str, float], b: dict[str, float]) -> None:
    (ta, ga), (tb, gb) = compute_grade(RULES, a), compute_grade(RULES, b)
    codes = [g.code for g in RULES.grades]
    if ta <= tb:
        assert codes.index(gb) <= codes.index(ga)


@given(
    st.sampled_from([c.key for c in RULES.criteria]),
    st.one_of(st.floats(max_value=-0.01), st.floats(min_value=100.01)),
)
def test_points_outside_the_range_are_refused(key: str, value: float) -> None:
    with pytest.raises(ValidationFailed):
        validate_points(RULES, {key: value}, complete=False)


@given(
    st.lists(st.integers(min_value=1, max_value=99), min_size=1, max_size=5, unique=True), st.floats(0, 100)
)
def test_configured_bands_partition_the_scale(cuts: list[int], total: float) -> None:
    mins = [*sorted(cuts, reverse=True), 0]
    rules = parse_rules(
        {
            "name": "thử",
            "criteria": [{"key": "all", "name": "Tổng", "max_points": 100}],
            "grades": [{"code": f"G{i}", "name": f"Mức {i}", "min_points": m} for i, m in enumerate(mins)],
        }
    )
    band = rules.grade_for(total)
    index = [g.code for g in rules.grades].index(band.code)
    assert total >= band.min_points and (index == 0 or total < rules.grades[index - 1].min_points)


# --- the state machine ------------------------------------------------------------------------------

_counter = itertools.count(1)
_engine_holder: dict[str, Engine] = {}


def _engine() -> Engine:
    if "engine" not in _engine_holder:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='canbo-sm-')) / 'sm.db'}"
        upgrade(url)
        _engine_holder["engine"] = make_engine(url)
    return _engine_holder["engine"]


class EvaluationMachine(RuleBasedStateMachine):
    """Random action sequences: only allowed transitions happen, and each leaves one audit entry."""

    @initialize()
    def setup(self) -> None:
        n = next(_counter)
        self.engine = _engine()
        roster = (
            "Mã cán bộ,Họ và tên,Mã đơn vị,Tên đơn vị,Mã người quản lý,Vai trò\n"
            f"H{n},Thủ Trưởng,U{n},Đơn vị {n},,thủ trưởng\n"
            f"M{n},Quản Lý,U{n},,H{n},người nhận xét\n"
            f"C{n},Cán Bộ,U{n},,M{n},cán bộ\n"
        )
        with session_scope(self.engine) as s:
            import_roster(s, data=roster.encode(), filename="r.csv")
            ids = {}
            for code in ("H", "M", "C"):
                person = find_person_by_code(s, cadre_code=f"{code}{n}")
                assert person is not None
                ids[code] = person.id
        self.head, self.manager, self.cadre = ids["H"], ids["M"], ids["C"]
        with session_scope(self.engine) as s:
            view = plan_tasks(
                s,
                actor_id=self.cadre,
                person_id=self.cadre,
                period="2026-05",
                tasks=[TaskInput(title="Việc 1")],
                rules=RULES,
            )
        self.evaluation_id, self.task_id = view.id, view.tasks[0].id
        self.state = "draft"
        self.transitions = 0

    def _attempt(self, to: str, action: object, *, sources: tuple[str, ...]) -> None:
        allowed = self.state in sources
        assert not allowed or to in TRANSITIONS[self.state]
        try:
            with session_scope(self.engine) as s:
                action(s)  # type: ignore[operator]
        except (InvalidTransition, ConcurrentUpdate):
            assert not allowed, f"{self.state} → {to} should be allowed"
            return
        assert allowed, f"{self.state} → {to} happened but is not allowed"
        self.state = to
        self.transitions += 1

    @rule(points=_points())
    def submit(self, points: dict[str, float]) -> None:
        self._attempt(
            "submitted",
            lambda s: submit_self_assessment(
                s,
                actor_id=self.cadre,
                evaluation_id=self.evaluation_id,
                rules=RULES,
                points=points,
                now=SUBMIT_TIME,
                results=[TaskResultInput(task_id=self.task_id, result=TaskResult.ON_TIME)],
            ),
            sources=("draft", "returned"),
        )

    @rule()
    def give_back(self) -> None:
        self._attempt(
            "returned",
            lambda s: return_for_revision(
                s, actor_id=self.manager, evaluation_id=self.evaluation_id, reason="Bổ sung"
            ),
            sources=("submitted",),
        )

    @rule()
    def approve(self) -> None:
        self._attempt(
            "reviewed",
            lambda s: approve_review(s, actor_id=self.manager, evaluation_id=self.evaluation_id, rules=RULES),
            sources=("submitted",),
        )

    @rule(grade=st.sampled_from(["B", "C", "D"]))
    def decide(self, grade: str) -> None:
        self._attempt(
            "decided",
            lambda s: decide_evaluation(
                s, actor_id=self.head, evaluation_id=self.evaluation_id, rules=RULES, final_grade=grade
            ),
            sources=("reviewed",),
        )

    @rule(to=st.sampled_from(["reviewed", "returned"]))
    def reopen(self, to: str) -> None:
        if self.state != "decided":
            with pytest.raises(InvalidTransition), session_scope(self.engine) as s:
                reopen_evaluation(
                    s, actor_id=self.head, evaluation_id=self.evaluation_id, reason="Xem lại", to_state=to
                )  # type: ignore[arg-type]
            return
        self._attempt(
            to,
            lambda s: reopen_evaluation(
                s, actor_id=self.head, evaluation_id=self.evaluation_id, reason="Xem lại", to_state=to
            ),
            sources=("decided",),
        )

    @invariant()
    def database_agrees(self) -> None:
        if not hasattr(self, "evaluation_id"):
            return
        with Session(self.engine) as s:
            view = get_evaluation(s, actor_id=None, evaluation_id=self.evaluation_id)
            history = evaluation_history(s, actor_id=None, evaluation_id=self.evaluation_id)
        assert view.state == self.state
        moves = [(h.from_state, h.to_state) for h in history if h.from_state is not None]
        assert len(moves) == self.transitions
        assert all(b in TRANSITIONS[a] for a, b in moves if a and b)
        if self.state == "decided":
            assert view.final_grade in {"B", "C", "D"}
        else:
            assert view.final_grade is None


EvaluationMachine.TestCase.settings = settings(
    max_examples=12, stateful_step_count=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_evaluation_state_machine = EvaluationMachine.TestCase


@given(
    st.from_regex(r"[35789][0-9]{8}", fullmatch=True),
    st.sampled_from(["0{}", "+84{}", "84{}", "+84 {}", "(+84) {}", "0{}.0"]),
)
def test_every_written_form_of_a_mobile_number_normalises_to_one(digits: str, form: str) -> None:
    written = form.format(digits)
    if form == "0{}.0":
        written = written[:-2] + ".0"  # as a spreadsheet cell renders it
    assert normalise_phone(written) == "0" + digits
    assert normalise_phone(normalise_phone(written)) == "0" + digits  # idempotent


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)), st.integers(1, 72), st.integers(1, 24)
)
def test_rotation_reviews_are_spaced_and_end_at_the_planned_end(start: date, months: int, every: int) -> None:
    end = add_months(start, months)
    if end <= start:
        return
    schedule = review_schedule(start, end, every)
    dates = [d for d, _ in schedule]
    assert dates == sorted(set(dates)) and dates[-1] == end and schedule[-1][1] == "final"
    assert all(kind == "periodic" for _, kind in schedule[:-1])
    assert all(start < d < end for d in dates[:-1])
    assert dates[:-1] == [add_months(start, every * (i + 1)) for i in range(len(dates) - 1)]
    assert add_months(start, every * len(dates)) >= end  # no periodic review was skipped before the end
