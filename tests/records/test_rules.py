"""Rules files: the shipped default, overrides, and refusals that name the field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from records.errors import RulesFileInvalid
from records.periods import Period, add_months, deadline
from records.rules import DEFAULT_RULES_PATH, QuotaRule, load_rules, parse_rules
from tests.records.flows import RULES


def test_shipped_default_is_the_hanoi_monthly_scheme() -> None:
    assert RULES.period == "month" and RULES.max_total == 100
    assert [(c.key, c.max_points) for c in RULES.criteria] == [
        ("discipline", 20),
        ("tasks", 70),
        ("bonus", 10),
    ]
    assert [(g.code, g.name) for g in RULES.grades] == [
        ("A", "Hoàn thành xuất sắc nhiệm vụ"),
        ("B", "Hoàn thành tốt nhiệm vụ"),
        ("C", "Hoàn thành nhiệm vụ"),
        ("D", "Không hoàn thành nhiệm vụ"),
    ]
    assert [RULES.grade_for(t).code for t in (100, 90, 89.99, 70, 69.5, 50, 49.99, 0)] == list("AABBCCDD")
    quota = RULES.quotas[0]
    assert quota.allowed(graded=10, of_grade_count=0, outstanding=False) == 3
    assert quota.allowed(graded=10, of_grade_count=0, outstanding=True) == 4


def test_quota_rounding_and_a_floor_for_small_units() -> None:
    strict = QuotaRule(kind="share_of_graded", grade="A", max_share=0.3)
    assert [strict.allowed(graded=n, of_grade_count=0, outstanding=False) for n in (1, 3, 4, 5, 10)] == [
        0,
        0,
        1,
        1,
        3,
    ]
    nearest = QuotaRule(kind="share_of_graded", grade="A", max_share=0.3, rounding="nearest")
    assert [nearest.allowed(graded=n, of_grade_count=0, outstanding=False) for n in (1, 2, 5, 10)] == [
        0,
        1,
        2,
        3,
    ]
    up = QuotaRule(kind="ratio_to_grade", grade="A", of_grade="B", max_ratio=0.2, rounding="up")
    assert [up.allowed(graded=9, of_grade_count=n, outstanding=False) for n in (0, 1, 5, 6)] == [0, 1, 1, 2]
    floor = QuotaRule(kind="share_of_graded", grade="A", max_share=0.3, at_least=1)
    assert [floor.allowed(graded=n, of_grade_count=0, outstanding=False) for n in (0, 1, 3, 10)] == [
        0,
        1,
        1,
        3,
    ]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_quarterly_override_file(tmp_path: Path) -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace('period = "month"', 'period = "quarter"')
    rules = load_rules(_write(tmp_path, text))
    assert rules.period == "quarter"
    assert deadline(rules, Period.parse("2026-Q4"), "self_assessment") == date(2027, 1, 3)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (('period = "month"', 'period = "week"'), "period"),
        (("max_points = 20", "max_points = -5"), "criteria.0.max_points"),
        (("self_assessment_day = 3", "self_assessment_day = 40"), "deadlines.self_assessment_day"),
        (("max_share = 0.30", "max_share = 1.5"), "quotas.0.max_share"),
        (("min_points = 70", "min_points = 95"), "(file)"),  # bands out of order
        (("days_before = [3, 1, 0]", "days_before = [-1]"), "reminders"),
        (("min_months = 36", "min_months = 0"), "rotation.min_months"),
        (('code = "B"', 'code = "A"'), "(file)"),  # duplicate grade code
        (("[deadlines]", "colour = 1\n[deadlines]"), "quotas.0.colour"),  # unknown key in the last [[quotas]]
    ],
)
def test_invalid_files_are_refused_naming_the_field(
    tmp_path: Path, change: tuple[str, str], field: str
) -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    assert change[0] in text
    with pytest.raises(RulesFileInvalid) as info:
        load_rules(_write(tmp_path, text.replace(change[0], change[1], 1)))
    assert info.value.params["field"] == field
    assert field in info.value.detail


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(RulesFileInvalid):
        load_rules(tmp_path / "missing.toml")
    with pytest.raises(RulesFileInvalid) as info:
        load_rules(_write(tmp_path, "name = [unclosed"))
    assert "TOML" in info.value.detail
    with pytest.raises(RulesFileInvalid) as info:
        parse_rules({"name": "x", "criteria": [], "grades": []})
    assert info.value.params["field"] == "criteria"


def test_periods_and_months() -> None:
    assert str(Period.parse("2026-Q1").previous) == "2025-Q4"
    assert Period.containing(date(2026, 8, 31), "quarter") == Period.parse("2026-q3")
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 5, 15), 36) == date(2029, 5, 15)
