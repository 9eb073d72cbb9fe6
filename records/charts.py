"""PNG charts of a period summary: grade distribution and submission progress (matplotlib Agg)."""

from __future__ import annotations

import io
import logging
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from records.summary import PeriodSummary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

FONT = "DejaVu Sans"  # bundled with matplotlib; covers Vietnamese diacritics
GRADE_COLOURS = ("#1b7837", "#5aae61", "#f1a340", "#d73027", "#762a83", "#999999")
PROGRESS_COLOURS = {"on_time": "#2166ac", "late": "#f4a582", "missing": "#b2182b"}


def _short(name: str, limit: int = 28) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def summary_figure(summary: PeriodSummary, *, max_units: int = 15, dpi: int = 110) -> Figure:
    """The chart as a figure: the final-grade distribution (with the previous period) on the left, the
    submission progress per unit on the right.

    Every unit with someone to evaluate is shown (also one where nobody opened the period), most missing
    first, at most `max_units` bars; the rest are grouped.
    """
    # matplotlib is imported on first use: it costs ~0.5 s, and most `canbo` commands never draw.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(12, 5.4), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas: no GUI backend, no global pyplot state
    fig.patch.set_facecolor("white")
    ax_grades, ax_progress = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.45]})

    codes = list(summary.grade_codes)
    current = [summary.total.grades.get(c, 0) for c in codes]
    xs = list(range(len(codes)))
    width = 0.38 if summary.previous is not None else 0.6
    offset = width / 2 if summary.previous is not None else 0.0
    colours = [GRADE_COLOURS[i % len(GRADE_COLOURS)] for i in range(len(codes))]
    bars = ax_grades.bar(
        [x + offset for x in xs], current, width, color=colours, label=f"Kỳ {summary.period}"
    )
    ax_grades.bar_label(bars, fontsize=8, fontfamily=FONT)
    if summary.previous is not None:
        prev = [summary.previous.grades.get(c, 0) for c in codes]
        prev_bars = ax_grades.bar(
            [x - offset for x in xs], prev, width, color="#cccccc", label=f"Kỳ {summary.previous_period}"
        )
        ax_grades.bar_label(prev_bars, fontsize=8, fontfamily=FONT, color="#666666")
    ax_grades.set_xticks(xs, [f"{c}\n{textwrap.fill(summary.grade_names.get(c, c), 14)}" for c in codes])
    for label in ax_grades.get_xticklabels():
        label.set_fontfamily(FONT)
        label.set_fontsize(7.5)
    ax_grades.set_ylabel("Số người", fontfamily=FONT)
    ax_grades.yaxis.set_major_locator(MaxNLocator(integer=True))  # people come whole: no 0.5 ticks
    ax_grades.set_title("Kết quả xếp loại", fontfamily=FONT, fontsize=11)
    ax_grades.legend(prop={"family": FONT, "size": 8})
    ax_grades.spines[["top", "right"]].set_visible(False)

    units = [u for u in summary.units if u.counts.expected]
    units.sort(key=lambda u: (-u.counts.missing / u.counts.expected, -u.counts.expected, u.code))
    shown, rest = units[:max_units], units[max_units:]
    rows = [
        (_short(u.name, 42), u.counts.submitted - u.counts.late, u.counts.late, u.counts.missing)
        for u in shown
    ]
    if rest:
        rows.append(
            (
                f"{len(rest)} đơn vị khác",
                sum(u.counts.submitted - u.counts.late for u in rest),
                sum(u.counts.late for u in rest),
                sum(u.counts.missing for u in rest),
            )
        )
    ys = list(range(len(rows)))[::-1]
    totals = [max(1, a + b + c) for _, a, b, c in rows]
    on_time = [100.0 * r[1] / n for r, n in zip(rows, totals, strict=True)]
    late = [100.0 * r[2] / n for r, n in zip(rows, totals, strict=True)]
    missing = [100.0 * r[3] / n for r, n in zip(rows, totals, strict=True)]
    left_missing = [a + b for a, b in zip(on_time, late, strict=True)]
    ax_progress.barh(ys, on_time, color=PROGRESS_COLOURS["on_time"], label="Nộp đúng hạn")
    ax_progress.barh(ys, late, left=on_time, color=PROGRESS_COLOURS["late"], label="Nộp muộn")
    ax_progress.barh(ys, missing, left=left_missing, color=PROGRESS_COLOURS["missing"], label="Chưa nộp")
    for y, (_, a, b, _c), n in zip(ys, rows, totals, strict=True):
        ax_progress.text(101, y, f"{a + b}/{n}", va="center", fontsize=7.5, fontfamily=FONT)
    ax_progress.set_yticks(ys, [r[0] for r in rows])
    for label in ax_progress.get_yticklabels():
        label.set_fontfamily(FONT)
        label.set_fontsize(7.5)
    ax_progress.set_xlim(0, 112)
    ax_progress.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    t = summary.total
    ax_progress.set_title(
        f"Tiến độ nộp tự đánh giá: {t.submitted}/{t.expected} (muộn {t.late}, chưa nộp {t.missing})",
        fontfamily=FONT,
        fontsize=10,
    )
    ax_progress.legend(
        prop={"family": FONT, "size": 8}, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncols=3
    )
    ax_progress.spines[["top", "right"]].set_visible(False)
    if not rows:
        ax_progress.text(50, 0.5, "Không có dữ liệu", ha="center", va="center", fontfamily=FONT)
        ax_progress.set_ylim(0, 1)

    fig.suptitle(
        f"Đánh giá, xếp loại kỳ {summary.period} — {summary.unit_name}", fontfamily=FONT, fontsize=12
    )
    return fig


def render_summary_png(summary: PeriodSummary, *, max_units: int = 15, dpi: int = 110) -> bytes:
    """The two-panel chart of `summary_figure` as PNG bytes."""
    fig = summary_figure(summary, max_units=max_units, dpi=dpi)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = buf.getvalue()
    log.info(
        "rendered summary chart: period=%s units=%d bytes=%d", summary.period, len(summary.units), len(data)
    )
    return data


def write_summary_png(summary: PeriodSummary, path: Path, **kwargs: int) -> Path:
    """Render the summary chart to `path` (parent folders must exist)."""
    path.write_bytes(render_summary_png(summary, **kwargs))
    return path
