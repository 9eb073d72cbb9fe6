"""`canbo report`, `canbo demo-data`, `canbo person-data` and `canbo anonymise`: reports and personal data."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, col, select

from bot.features.workflow import Clock
from bot.settings import Settings
from bot.texts import describe_rules_problem, format_decimal
from records.charts import write_summary_png
from records.db import make_engine, session_scope
from records.demo import DEMO_ACCOUNTS, generate_demo_data
from records.errors import NotFound, RecordsError, ValidationFailed
from records.export_xlsx import write_summary_xlsx
from records.migrate import upgrade
from records.people import find_person_by_code, get_person
from records.periods import Period
from records.personal_data import (
    anonymise_person,
    export_person_data,
    personal_data_json,
    personal_data_xlsx_bytes,
)
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
MSG_DEMO_DONE = "Đã tạo dữ liệu mẫu (seed {seed}) trong {seconds} giây: {counts}."
MSG_DEMO_PERIODS = "Các kỳ đánh giá: {first} … {last}."
MSG_DEMO_ACCOUNTS = "Tài khoản mẫu (đăng nhập bằng số điện thoại):"
MSG_UNKNOWN_PERSON = "Không có cán bộ mã «{value}». Kiểm tra lại mã cán bộ (cột «Mã cán bộ» trong danh sách)."
MSG_CONFIRM = "Ẩn danh không thể hoàn tác. Chạy lại với --yes để xác nhận ẩn danh cán bộ «{value}»."
MSG_ANONYMISED = (
    "Đã ẩn danh cán bộ (mã mới {code}): gỡ {links} liên kết Telegram, thu hồi {roles} vai trò, "
    "xóa {texts} nội dung nhận xét, làm sạch {audit} mục nhật ký. Kết quả xếp loại được giữ để thống kê."
)
MSG_ALREADY = "Cán bộ này đã được ẩn danh trước đó; không có gì thay đổi."


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `report`, `demo-data`, `person-data` and `anonymise` to the `canbo` parser."""
    report = sub.add_parser(
        "report",
        help="tổng hợp đánh giá một kỳ của một đơn vị và các đơn vị trực thuộc (văn bản; tùy chọn Excel, PNG)",
        description="In bản tổng hợp đánh giá, xếp loại một kỳ; tùy chọn ghi tệp Excel và biểu đồ PNG.",
    )
    report.add_argument(
        "--period", required=True, metavar="KỲ", help="kỳ đánh giá, ví dụ 2026-10 (hoặc 2026-Q4 nếu theo quý)"
    )
    report.add_argument(
        "--unit", metavar="MÃ_ĐƠN_VỊ", help="mã đơn vị (mặc định: đơn vị cấp cao nhất duy nhất)"
    )
    report.add_argument("--xlsx", type=Path, metavar="TỆP", help="ghi bảng tính Excel vào tệp này")
    report.add_argument("--png", type=Path, metavar="TỆP", help="ghi biểu đồ PNG vào tệp này")
    report.add_argument("--year", action="store_true", help="thêm trang tổng hợp cả năm vào tệp Excel")
    report.set_defaults(handler=run_report)

    demo = sub.add_parser(
        "demo-data",
        help="tạo dữ liệu mẫu (đơn vị, cán bộ, vai trò, đánh giá một năm…) vào cơ sở dữ liệu trống",
        description="Tạo dữ liệu mẫu cố định theo seed: cây đơn vị, cán bộ, vai trò, đánh giá, chương trình "
        "hành động, luân chuyển; in các tài khoản mẫu.",
    )
    demo.add_argument(
        "--people", type=int, default=300, metavar="SỐ_NGƯỜI", help="số cán bộ (mặc định 300, tối thiểu 20)"
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=2026,
        metavar="SEED",
        help="hạt giống ngẫu nhiên (cùng seed, cùng dữ liệu)",
    )
    demo.add_argument(
        "--months", type=int, default=12, metavar="SỐ_THÁNG", help="số kỳ tháng cần tạo (mặc định 12)"
    )
    demo.set_defaults(handler=run_demo_data)

    data = sub.add_parser(
        "person-data",
        help="xuất toàn bộ dữ liệu cá nhân của một cán bộ (JSON; tùy chọn Excel)",
        description="Xuất mọi dữ liệu hệ thống lưu về một cán bộ (theo yêu cầu của chủ thể dữ liệu).",
    )
    data.add_argument("cadre_code", metavar="MÃ_CÁN_BỘ", help="mã cán bộ")
    data.add_argument(
        "--json", type=Path, metavar="TỆP", help="ghi JSON vào tệp này (mặc định: in ra màn hình)"
    )
    data.add_argument("--xlsx", type=Path, metavar="TỆP", help="ghi bản Excel dễ đọc vào tệp này")
    data.set_defaults(handler=run_person_data)

    anon = sub.add_parser(
        "anonymise",
        help="ẩn danh một cán bộ đã nghỉ (xóa tên, số điện thoại, liên kết Telegram; giữ kết quả xếp loại)",
        description="Ẩn danh một cán bộ đã nghỉ việc. Không thể hoàn tác: cần --yes để xác nhận.",
    )
    anon.add_argument("cadre_code", metavar="MÃ_CÁN_BỘ", help="mã cán bộ")
    anon.add_argument("--yes", action="store_true", help="xác nhận ẩn danh (không thể hoàn tác)")
    anon.set_defaults(handler=run_anonymise)


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
        _err(describe_rules_problem(exc))
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
                session,
                unit_code=unit_code,
                period=args.period,
                rules=rules,
                include_people=bool(args.xlsx),
                tz=settings.timezone,
                now=Clock.from_settings(settings).now(),  # «Lập lúc» on the bot's clock, as /tonghop's
            )
            if args.xlsx and args.year:
                yearly = yearly_rollup(
                    session,
                    unit_code=unit_code,
                    year=Period.parse(args.period).year,
                    rules=rules,
                    tz=settings.timezone,
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
    print(render_summary_text(summary, tz=settings.timezone))
    try:
        if args.xlsx is not None:
            write_summary_xlsx(summary, args.xlsx, tz=settings.timezone, yearly=yearly)
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
    print(MSG_DEMO_DONE.format(seed=report.seed, seconds=format_decimal(report.seconds), counts=counts))
    print(MSG_DEMO_PERIODS.format(first=report.periods[0], last=report.periods[-1]))
    print(MSG_DEMO_ACCOUNTS)
    for acc in DEMO_ACCOUNTS:
        print(
            f"  {acc.role:<8} {acc.cadre_code:<14} {acc.phone}  {acc.full_name} — {acc.position} ({acc.unit_code})"
        )
    return EXIT_OK


def _person_id(session: Session, cadre_code: str) -> int | None:
    person = find_person_by_code(session, cadre_code=cadre_code)
    if person is None:
        _err(MSG_UNKNOWN_PERSON.format(value=cadre_code))
        return None
    return person.id


def run_person_data(args: argparse.Namespace, settings: Settings) -> int:
    """`canbo person-data CADRE_CODE [--json F] [--xlsx F]` (the export is recorded in the audit log)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            person_id = _person_id(session, args.cadre_code)
            if person_id is None:
                return EXIT_NOT_FOUND
            data = export_person_data(
                session, person_id=person_id, tz=settings.timezone, now=Clock.from_settings(settings).now()
            )
    except (OperationalError, ProgrammingError):
        _err(MSG_NO_SCHEMA)
        return EXIT_DATABASE
    finally:
        engine.dispose()
    text = personal_data_json(data)
    try:
        if args.json is not None:
            args.json.write_text(text, encoding="utf-8")
            print(MSG_WROTE.format(path=args.json))
        else:
            print(text)
        if args.xlsx is not None:
            args.xlsx.write_bytes(personal_data_xlsx_bytes(data))
            print(MSG_WROTE.format(path=args.xlsx))
    except OSError as exc:
        _err(MSG_BAD_OUTPUT.format(path=exc.filename or "", reason=exc.strerror or exc))
        return EXIT_BAD_INPUT
    return EXIT_OK


def run_anonymise(args: argparse.Namespace, settings: Settings) -> int:
    """`canbo anonymise CADRE_CODE --yes`."""
    if not args.yes:
        _err(MSG_CONFIRM.format(value=args.cadre_code))
        return EXIT_BAD_INPUT
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            person_id = _person_id(session, args.cadre_code)
            if person_id is None:
                return EXIT_NOT_FOUND
            report = anonymise_person(session, person_id=person_id, now=Clock.from_settings(settings).now())
            code = get_person(session, person_id=person_id).cadre_code
    except (OperationalError, ProgrammingError):
        _err(MSG_NO_SCHEMA)
        return EXIT_DATABASE
    finally:
        engine.dispose()
    if report.already:
        print(MSG_ALREADY)
        return EXIT_OK
    print(
        MSG_ANONYMISED.format(
            code=code,
            links=report.telegram_links_removed,
            roles=report.roles_revoked,
            texts=report.texts_cleared,
            audit=report.audit_entries_scrubbed,
        )
    )
    return EXIT_OK
