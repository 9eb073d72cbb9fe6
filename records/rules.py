"""Evaluation rules as configuration: a validated TOML file (Hà Nội monthly by default)."""

from __future__ import annotations

import itertools
import logging
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from records.errors import RulesFileInvalid

log = logging.getLogger(__name__)

DEFAULT_RULES_PATH = Path(__file__).parent / "rules" / "hanoi_monthly.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Criterion(_Strict):
    key: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    max_points: float = Field(gt=0)


class GradeBand(_Strict):
    code: str = Field(min_length=1, max_length=8)
    short: str = ""
    name: str = Field(min_length=1)
    min_points: float = Field(ge=0)


class QuotaRule(_Strict):
    kind: Literal["share_of_graded", "ratio_to_grade"]
    grade: str
    max_share: float | None = Field(default=None, ge=0, le=1)
    outstanding_max_share: float | None = Field(default=None, ge=0, le=1)
    of_grade: str | None = None
    max_ratio: float | None = Field(default=None, ge=0)
    enforce: bool = True
    # How a fractional allowance is rounded: "down" (the letter of "không quá 30%": 3 people → 0 A), "nearest"
    # or "up"; and how many a unit with anyone graded may always have (a small unit's one outstanding cadre).
    rounding: Literal["down", "nearest", "up"] = "down"
    at_least: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _fields_for_kind(self) -> QuotaRule:
        if self.kind == "share_of_graded" and self.max_share is None:
            raise ValueError("max_share is required for kind = share_of_graded")
        if self.kind == "ratio_to_grade" and (self.of_grade is None or self.max_ratio is None):
            raise ValueError("of_grade and max_ratio are required for kind = ratio_to_grade")
        return self

    def allowed(self, *, graded: int, of_grade_count: int, outstanding: bool) -> int:
        """How many records may carry `grade` in a unit with these counts."""
        if self.kind == "share_of_graded":
            share = (
                self.outstanding_max_share if outstanding and self.outstanding_max_share else self.max_share
            )
            exact = (share or 0.0) * graded
        else:
            exact = (self.max_ratio or 0.0) * of_grade_count
        if self.rounding == "up":
            allowed = math.ceil(exact - 1e-9)
        elif self.rounding == "nearest":
            allowed = math.floor(exact + 0.5 + 1e-9)  # half up: 2.5 → 3
        else:
            allowed = math.floor(exact + 1e-9)
        return max(allowed, min(self.at_least, graded)) if graded else allowed


class Deadlines(_Strict):
    plan_day: int = Field(default=5, ge=1, le=31)
    self_assessment_day: int = Field(default=3, ge=1, le=31)
    review_day: int = Field(default=5, ge=1, le=31)
    decision_day: int = Field(default=7, ge=1, le=31)

    @model_validator(mode="after")
    def _ordered(self) -> Deadlines:
        if not self.self_assessment_day <= self.review_day <= self.decision_day:
            raise ValueError("deadlines must satisfy self_assessment_day ≤ review_day ≤ decision_day")
        return self


class Reminders(_Strict):
    days_before: tuple[int, ...] = (3, 1, 0)
    days_after: tuple[int, ...] = (1, 3, 7)

    @model_validator(mode="after")
    def _non_negative(self) -> Reminders:
        if any(d < 0 for d in (*self.days_before, *self.days_after)):
            raise ValueError("reminder offsets are days and must be ≥ 0")
        return self


class RotationRules(_Strict):
    min_months: int = Field(default=36, ge=1, le=120)
    review_every_months: int = Field(default=6, ge=1, le=60)


class Rules(_Strict):
    """A whole rules file. Use `load_rules(path)`; `default_rules()` is the Hà Nội monthly scheme."""

    name: str = Field(min_length=1)
    period: Literal["month", "quarter"] = "month"
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    grades: tuple[GradeBand, ...] = Field(min_length=2)
    quotas: tuple[QuotaRule, ...] = ()
    deadlines: Deadlines = Deadlines()
    reminders: Reminders = Reminders()
    rotation: RotationRules = RotationRules()

    @model_validator(mode="after")
    def _consistent(self) -> Rules:
        keys = [c.key for c in self.criteria]
        if len(set(keys)) != len(keys):
            raise ValueError("criteria keys must be unique")
        codes = [g.code for g in self.grades]
        if len(set(codes)) != len(codes):
            raise ValueError("grade codes must be unique")
        mins = [g.min_points for g in self.grades]
        if any(a <= b for a, b in itertools.pairwise(mins)):
            raise ValueError("grades must be listed from the highest band down with decreasing min_points")
        if mins[-1] != 0:
            raise ValueError("the lowest grade band must start at min_points = 0")
        if mins[0] > self.max_total:
            raise ValueError("the highest band's min_points exceeds the criteria total")
        for quota in self.quotas:
            for code in (quota.grade, quota.of_grade):
                if code is not None and code not in codes:
                    raise ValueError(f"quota refers to unknown grade {code!r}")
        return self

    @property
    def max_total(self) -> float:
        return sum(c.max_points for c in self.criteria)

    def criterion(self, key: str) -> Criterion | None:
        return next((c for c in self.criteria if c.key == key), None)

    def grade_for(self, total: float) -> GradeBand:
        """The band a total falls in (bands are half-open: A 90–100, B 70–<90, …)."""
        for band in self.grades:
            if total >= band.min_points:
                return band
        return self.grades[-1]

    def grade(self, code: str) -> GradeBand | None:
        return next((g for g in self.grades if g.code == code), None)


def parse_rules(data: Mapping[str, object], *, source: str = "rules") -> Rules:
    """Validate a decoded rules mapping; `RulesFileInvalid` names the offending field."""
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(file)"
        value = first.get("input")
        raise RulesFileInvalid(
            f"{source}: field {field}: {first['msg']}",
            field=field,
            message=first["msg"],
            source=source,
            kind=first["type"],  # pydantic's error type: "literal_error", "greater_than_equal", "missing"…
            limits={k: str(v) for k, v in (first.get("ctx") or {}).items() if k != "error"},
            value=value if isinstance(value, str | int | float | bool) else None,
        ) from exc


def load_rules(path: Path | str | None = None) -> Rules:
    """Read and validate a rules TOML file (None: the shipped Hà Nội monthly default)."""
    file = Path(path) if path is not None else DEFAULT_RULES_PATH
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise RulesFileInvalid(
            f"cannot read {file.name}: {exc.strerror}",
            field="(file)",
            source=str(file),
            kind="unreadable",
            reason=exc.strerror or "",
            errno=exc.errno or 0,
        ) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesFileInvalid(
            f"{file.name}: not valid TOML: {exc}",
            field="(file)",
            source=file.name,
            kind="toml",
            reason=str(exc),
        ) from exc
    rules = parse_rules(data, source=file.name)
    log.info(
        "evaluation rules loaded: %s criteria, %s grades, period %s",
        len(rules.criteria),
        len(rules.grades),
        rules.period,
    )
    return rules


def default_rules() -> Rules:
    """The shipped Hà Nội monthly scheme."""
    return load_rules(None)
