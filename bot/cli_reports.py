"""`canbo report` (period summary as text, Excel and PNG) and `canbo demo-data` (a seeded demo organisation)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, col, select

from bot.settings import Settings
from records.charts import write_summary_png
from records.db import make_engine
from records.demo import DEMO_ACCOUNTS, generate_demo_data
from records.errors import NotFound, RecordsError, ValidationFailed
from records.export_xlsx import write_summary_xlsx
from records.migrate import upgrade
from records.periods import Period
from records.rules import load_rules
from records.schema import Unit
from records.summary import (
    InvalidPeriod,
    PeriodSummary,
    YearlyRollup,
    render_summary_text,
    summarize_period,
    yearly_rollup,
)

log = logging.getLogger(__name__)

EXIT_OK, EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_DATABASE = 0, 2, 3, 4

MSG_BAD_PERIOD = (
    "Kỳ «{value}» không hợp lệ: nhập theo dạng NĂM-THÁNG, ví dụ 2026-10 (hoặc 2026-Q4 nếu đánh giá theo quý)."
)
MSG_WRONG_KIND = (
    "Kỳ «{value}» không đúng loại kỳ của quy tắc đánh giá đang dùng ({expected}); ví dụ: {example}."
)
MSG_UNKNOWN_UNIT = (
    "Không có đơn vị mã «{value}». Kiểm tra mã đơn vị trong danh sách đã nhập (cột «Mã đơn vị»)."
)
MSG_NO_ROOT = "Cơ sở dữ liệu có {count} đơn vị cấp cao nhất; hãy chọn một bằng --unit MÃ_ĐƠN_VỊ."
MSG_EMPTY = "Chưa có đơn vị nào. Nhập danh sách cán bộ (canbo roster import TỆP) hoặc tạo dữ liệu mẫu (canbo demo-data)."
MSG_NO_SCHEMA = "Cơ sở dữ liệu chưa được khởi tạo: chạy «canbo db upgrade» trước."
MSG_BAD_OUTPUT = "Không ghi được tệp {path}: {reason}. Kiểm tra thư mục và quyền ghi."
MSG_WROTE = "Đã ghi {path}"
MSG_NOT_EMPTY = (
    "Cơ sở dữ liệu đã có dữ liệu: dữ liệu mẫu chỉ tạo vào cơ sở dữ liệu trống (dùng CANBO_DATA_DIR khác)."
)
MSG_BAD_PEOPLE = "Số người phải từ 20 trở lên (--people)."
MSG_DEMO_DONE = "Đã tạo dữ liệu mẫu (seed {seed}) trong {seconds:.1f} giây: {counts}."
MSG_DEMO_PERIODS = "Các kỳ đánh giá: {first} … {last}."
MSG_DEMO_ACCOUNTS = "Tài khoản mẫu (đăng nhập bằng số điện thoại):"
MSG_RULES = "Tệp quy tắc đánh giá không hợp lệ: {detail}"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `report` and `demo-data` to the `canbo` parser."""
    report = sub.add_parser(
        "report",
        help="summary of a period for a unit and its subtree (text; optional Excel and PNG)",
        description="Print the evaluation summary of a period; optionally write an Excel workbook and a PNG chart.",
    )
    report.add_argument(
        "--period", required=True, help="period, e.g. 2026-10 (or 2026-Q4 for quarterly rules)"
    )
    report.add_argument("--unit", help="unit code (default: the single top-level unit)")
    report.add_argument("--xlsx", type=Path, help="write the Excel workbook to this file")
    report.add_argument("--png", type=Path, help="write the chart (PNG) to this file")
    report.add_argument("--year", action="store_true", help="add the yearly roll-up sheet to the workbook")
    report.set_defaults(handler=run_report)

    demo = sub.add_parser(
        "demo-data",
        help="fill an empty database with a deterministic demo organisation",
        description="Create demo units, people, roles, a year of evaluations, programmes and rotations.",
    )
    demo.add_argument("--people", type=int, default=300, help="number of people (default 300, at least 20)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same data)")
    demo.add_argument("--months", type=int, default=12, help="monthly periods to generate (default 12)")
    demo.set_defaults(handler=run_demo_data)


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _default_unit(session: Session) -> str | None:
    roots = session.exec(select(Unit.code).where(col(Unit.parent_id).is_(None))).all()
    if len(roots) == 1:
        return str(roots[0])
    _err(MSG_NO_ROOT.format(count=len(roots)) if roots else MSG_EMPTY)
    return None


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    """`canbo report --period P [--unit CODE] [--xlsx F] [--png F] [--year]`."""
    try:
        rules = load_rules(settings.rules_file)
    except RecordsError as exc:
        _err(MSG_RULES.format(detail=exc.detail))
        return EXIT_BAD_INPUT
    try:
        Period.parse(args.period)
    except ValidationFailed:
        _err(MSG_BAD_PERIOD.format(value=args.period))
        return EXIT_BAD_INPUT
    engine = make_engine(settings.resolved_database_url)
    summary: PeriodSummary
    yearly: YearlyRollup | None = None
    try:
        with Session(engine) as session:
            unit_code = args.unit or _default_unit(session)
            if unit_code is None:
                return EXIT_NOT_FOUND
            summary = summarize_period(
                session, unit_code=unit_code, period=args.period, rules=rules, include_people=bool(args.xlsx)
            )
            if args.xlsx and args.year:
                yearly = yearly_rollup(
                    session, unit_code=unit_code, year=Period.parse(args.period).year, rules=rules
                )
    except InvalidPeriod:
        example = "2026-10" if rules.period == "month" else "2026-Q4"
        _err(MSG_WRONG_KIND.format(value=args.period, expected=rules.period, example=example))
        return EXIT_BAD_INPUT
    except NotFound:
        _err(MSG_UNKNOWN_UNIT.format(value=args.unit))
        return EXIT_NOT_FOUND
    except (OperationalError, ProgrammingError):
        _err(MSG_NO_SCHEMA)
        return EXIT_DATABASE
    finally:
        engine.dispose()
    print(render_summary_text(summary))
    try:
        if args.xlsx is not None:
            write_summary_xlsx(summary, args.xlsx, yearly=yearly)
            print(MSG_WROTE.format(path=args.xlsx))
        if args.png is not None:
            write_summary_png(summary, args.png)
            print(MSG_WROTE.format(path=args.png))
    except OSError as exc:
        _err(MSG_BAD_OUTPUT.format(path=exc.filename or "", reason=exc.strerror or exc))
        return EXIT_BAD_INPUT
    return EXIT_OK


def run_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    """`canbo demo-data [--people N] [--seed S] [--months M]` into the configured (empty) database."""
    if args.people < 20:
        _err(MSG_BAD_PEOPLE)
        return EXIT_BAD_INPUT
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    engine = make_engine(url)
    try:
        report = generate_demo_data(engine, people=args.people, seed=args.seed, months=args.months)
    except ValidationFailed as exc:
        _err(MSG_NOT_EMPTY if "field" not in exc.params else f"{exc.params['field']}: {exc.detail}")
        return EXIT_BAD_INPUT
    finally:
        engine.dispose()
    counts = ", ".join(f"{table} {n}" for table, n in report.counts.items())
    print(MSG_DEMO_DONE.format(seed=report.seed, seconds=report.seconds, counts=counts))
    print(MSG_DEMO_PERIODS.format(first=report.periods[0], last=report.periods[-1]))
    print(MSG_DEMO_ACCOUNTS)
    for acc in DEMO_ACCOUNTS:
        print(
            f"  {acc.role:<8} {acc.cadre_code:<14} {acc.phone}  {acc.full_name} — {acc.position} ({acc.unit_code})"
        )
    return EXIT_OK
