"""The summary chart is a real PNG of sensible size, with or without a previous period, also when empty."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib import image as mpimg

from records.charts import render_summary_png, summary_figure, write_summary_png
from records.summary import PeriodSummary, PersonStatus, UnitSummary, count_people

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAMES = {
    "A": "Hoàn thành xuất sắc nhiệm vụ",
    "B": "Hoàn thành tốt nhiệm vụ",
    "C": "Hoàn thành nhiệm vụ",
    "D": "Không hoàn thành nhiệm vụ",
}


def _summary(n_units: int, *, with_previous: bool) -> PeriodSummary:
    units = []
    states = ["decided", "decided", "submitted", "missing", "reviewed", "returned", "draft"]
    grades = ["A", "B", "B", "C", "D"]
    for u in range(n_units):
        people = tuple(
            PersonStatus(
                person_id=u * 100 + i,
                code=f"CB{u:03d}{i:02d}",
                full_name=f"Nguyễn Văn Ân {u}-{i}",
                position="Chuyên viên",
                unit_code=f"U{u}",
                state=states[(u + i) % len(states)],
                late=(i % 3 == 0),
                final_grade=grades[(u + i) % len(grades)]
                if states[(u + i) % len(states)] == "decided"
                else None,
            )
            for i in range(3 + u % 5)
        )
        units.append(
            UnitSummary(
                unit_id=u,
                code=f"U{u}",
                name=f"Đảng ủy phường Đống Đa số {u}",
                parent_code=None if u == 0 else "U0",
                depth=0 if u == 0 else 1,
                counts=count_people(people),
                people=people,
            )
        )
    total = count_people(p for unit in units for p in unit.people)
    return PeriodSummary(
        period="2026-10",
        unit_code="U0",
        unit_name="Quận ủy Đống Đa",
        grade_codes=("A", "B", "C", "D"),
        grade_names=NAMES,
        units=tuple(units),
        total=total,
        previous_period="2026-09" if with_previous else None,
        previous=total if with_previous else None,
    )


def _decode(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    pixels = mpimg.imread(io.BytesIO(png), format="png")
    height, width = pixels.shape[:2]
    # Not a blank canvas: a real chart has many distinct colours.
    assert len({tuple(px) for px in pixels.reshape(-1, pixels.shape[2])[::97].tolist()}) > 5
    return width, height


def test_png_is_a_valid_image_of_sensible_size(tmp_path: Path) -> None:
    summary = _summary(6, with_previous=True)
    width, height = _decode(render_summary_png(summary))
    assert 800 <= width <= 2000 and 400 <= height <= 1200
    out = write_summary_png(summary, tmp_path / "chart.png")
    assert out.stat().st_size > 10_000
    assert _decode(out.read_bytes()) == (width, height)


def test_many_units_are_grouped_and_empty_summary_still_renders() -> None:
    big = _summary(40, with_previous=False)
    assert _decode(render_summary_png(big, max_units=10))[0] >= 800
    empty = PeriodSummary(
        period="2026-10",
        unit_code="X",
        unit_name="Chi bộ trống",
        grade_codes=("A", "B", "C", "D"),
        grade_names=NAMES,
        units=(),
        total=count_people([]),
    )
    assert render_summary_png(empty).startswith(PNG_MAGIC)


def test_count_axis_has_whole_numbers_only() -> None:
    """«Số người» never shows 0.2 or 0.5 people: with one or two people per grade matplotlib's default locator
    would, so the axis uses integer ticks."""
    for summary in (_summary(1, with_previous=False), _summary(1, with_previous=True)):
        assert max(summary.total.grades.values()) == 1
        ax = summary_figure(summary).axes[0]
        assert ax.get_ylabel() == "Số người"
        low, high = ax.get_ylim()
        ticks = [t for t in ax.yaxis.get_majorticklocs() if low <= t <= high]
        assert len(ticks) >= 2
        assert all(float(t).is_integer() for t in ticks), ticks
