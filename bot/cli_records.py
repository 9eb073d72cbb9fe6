"""`canbo db upgrade`, `canbo roster import`, `canbo invite`, `canbo roles`, `canbo due`, `canbo rules check`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import cli_ops
from bot.features.workflow import Clock
from bot.settings import Settings
from bot.texts import (
    ROSTER_ISSUE_FALLBACK,
    ROSTER_ISSUES,
    describe_error,
    describe_rules_problem,
    roster_counts,
)
from records.access import grant_role, revoke_role, roles_of
from records.db import make_engine, session_scope
from records.due import list_due
from records.errors import ImportRejected, RecordsError
from records.invites import issue_invite
from records.localtime import format_date, format_local, local_date
from records.migrate import current_revision, head_revision, upgrade
from records.people import find_person_by_code, find_unit_by_code
from records.roster import RosterReport, import_roster
from records.rules import load_rules

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NEEDS_CONFIRMATION = 0, 1, 2, 3
ROLE_CHOICES = ("cadre", "reviewer", "head", "staff", "admin")
ROLE_HELP = (
    "cadre (cán bộ), reviewer (người nhận xét, đánh giá), head (thủ trưởng), "
    "staff (chuyên viên Ban Tổ chức) hoặc admin (quản trị)"
)
DUE_KINDS = {
    "plan": "đăng ký kế hoạch công tác",
    "self_assessment": "tự đánh giá",
    "review": "nhận xét, đánh giá",
    "decision": "quyết định xếp loại",
    "rotation_self_review": "tự kiểm điểm luân chuyển",
    "rotation_comment": "nhận xét cán bộ luân chuyển",
    "rotation_evaluation": "đánh giá cán bộ luân chuyển",
}

MSG_UPGRADED = "Đã nâng cấp cơ sở dữ liệu lên phiên bản {revision}."
MSG_NOT_UPGRADED = "Cơ sở dữ liệu chưa ở phiên bản mới nhất: chạy «canbo db upgrade» trước."
MSG_NO_FILE = "Không đọc được tệp {path}: {reason}."
MSG_ROSTER_OK = "Đã nhập danh sách cán bộ: "
MSG_ROSTER_REJECTED = "Danh sách bị từ chối, chưa nhập dòng nào. Sửa các lỗi sau rồi nhập lại:"
MSG_ROW = "  Dòng {row}: {text}"
MSG_FILE_ISSUE = "  {text}"
MSG_ROSTER_REACTIVATED = "Kích hoạt lại {count} người."
MSG_ROSTER_DEACTIVATED = "Ngừng kích hoạt {count} người không còn trong danh sách:"
MSG_ROSTER_NAME = "  – {name}"
MSG_ROSTER_MORE = "  … và {count} người khác."
MSG_ROSTER_REVOKED = (
    "Thu hồi {count} vai trò (của người bị ngừng kích hoạt và vai trò không còn ghi trong cột «Vai trò»)."
)
MSG_ROSTER_PREVIEW = "XEM TRƯỚC — chưa thay đổi gì. Nếu áp dụng:"
MSG_ROSTER_CONFIRM = (
    "Chạy lại với --yes để áp dụng đầy đủ như trên, hoặc với --bo-sung để chỉ thêm và cập nhật "
    "(không ngừng kích hoạt, không thu hồi ai)."
)
MSG_ROSTER_TRY_SUPPLEMENT = "Nếu đây là tệp bổ sung (chỉ có một phần cán bộ), chạy lại với --bo-sung."
MSG_NO_PERSON = "Không có cán bộ mã «{code}» (kiểm tra cột «Mã cán bộ» của danh sách đã nhập)."
MSG_NO_UNIT = "Không có đơn vị mã «{code}»."
MSG_INVITE = "Mã mời dùng một lần cho {name} ({code}): {invite}\nHết hạn lúc {expires}. Gửi mã này riêng cho người được mời."
INVITE_EXPIRY_FORMAT = "%H:%M ngày %d/%m/%Y"  # in CANBO_TIMEZONE
MSG_BAD_DAYS = "Số ngày hiệu lực phải từ 1 đến 90 (--days)."
MSG_GRANTED = "Đã cấp vai trò {role} cho {name} trong phạm vi {unit}."
MSG_REVOKED = "Đã thu hồi {count} vai trò {role} của {name} trong phạm vi {unit}."
MSG_ROLES_NONE = "{name} chưa có vai trò nào."
MSG_ROLE_LINE = "  {role} — phạm vi {unit_code} ({unit_name})"
MSG_BAD_DATE = "Ngày «{value}» không hợp lệ: dùng dạng NĂM-THÁNG-NGÀY, ví dụ 2026-06-02."
MSG_DUE_NONE = "Không còn việc nào đến hạn vào ngày {day}."
MSG_DUE_LINE = "  {deadline} ({left}) {who}: {what} — {subject}{period}"
MSG_RULES_OK = "Tệp quy tắc hợp lệ: {name} (kỳ: {period}; {criteria} nhóm tiêu chí; {grades} mức xếp loại)."
MSG_ERROR = "Lỗi: {reason}"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this area's subcommands to the `canbo` parser."""
    db = sub.add_parser("db", help="cơ sở dữ liệu: nâng cấp lược đồ")
    db_sub = db.add_subparsers(dest="db_command", metavar="THAO_TÁC", required=True)
    db_sub.add_parser("upgrade", help="tạo/nâng cấp các bảng lên phiên bản mới nhất").set_defaults(
        handler=run_db_upgrade
    )
    cli_ops.register_db(db_sub)

    roster = sub.add_parser("roster", help="danh sách cán bộ")
    roster_sub = roster.add_subparsers(dest="roster_command", metavar="THAO_TÁC", required=True)
    imp = roster_sub.add_parser(
        "import",
        help="nhập danh sách từ tệp CSV hoặc XLSX (tệp là danh sách đầy đủ của các đơn vị có trong tệp)",
        description=(
            "Nhập danh sách cán bộ. Tệp được coi là danh sách đầy đủ của các đơn vị có trong tệp: người của các "
            "đơn vị đó không có trong tệp sẽ bị ngừng kích hoạt (thu hồi vai trò, đăng xuất Telegram, hủy mã mời "
            "chưa dùng; lịch sử vẫn giữ), và cột «Vai trò» là toàn bộ vai trò của người có trong tệp. Khi có người "
            "bị ngừng kích hoạt hoặc vai trò bị thu hồi, lệnh chỉ in bản xem trước; chạy lại với --yes để áp dụng."
        ),
    )
    imp.add_argument("file", type=Path, metavar="TỆP", help="tệp .csv hoặc .xlsx")
    mode = imp.add_mutually_exclusive_group()
    mode.add_argument(
        "--yes",
        action="store_true",
        help="áp dụng cả việc ngừng kích hoạt và thu hồi vai trò (sau khi xem trước)",
    )
    mode.add_argument(
        "--bo-sung",
        dest="supplement",
        action="store_true",
        help="tệp bổ sung: chỉ thêm và cập nhật, không ngừng kích hoạt, không thu hồi ai",
    )
    imp.set_defaults(handler=run_roster_import)

    invite = sub.add_parser("invite", help="tạo mã mời đăng nhập dùng một lần cho một cán bộ")
    invite.add_argument("cadre_code", metavar="MÃ_CÁN_BỘ", help="mã cán bộ")
    invite.add_argument(
        "--days", type=int, default=7, metavar="SỐ_NGÀY", help="số ngày hiệu lực, 1–90 (mặc định 7)"
    )
    invite.set_defaults(handler=run_invite)

    roles = sub.add_parser("roles", help="vai trò và phạm vi")
    roles_sub = roles.add_subparsers(dest="roles_command", metavar="THAO_TÁC", required=True)
    for name, helptext in (("grant", "cấp vai trò"), ("revoke", "thu hồi vai trò")):
        p = roles_sub.add_parser(name, help=helptext)
        p.add_argument("cadre_code", metavar="MÃ_CÁN_BỘ", help="mã cán bộ")
        p.add_argument("role", choices=ROLE_CHOICES, metavar="VAI_TRÒ", help=ROLE_HELP)
        p.add_argument(
            "unit_code", metavar="MÃ_ĐƠN_VỊ", help="mã đơn vị phạm vi (bao gồm các đơn vị cấp dưới)"
        )
        p.set_defaults(handler=run_roles_change)
    lst = roles_sub.add_parser("list", help="xem vai trò của một cán bộ")
    lst.add_argument("cadre_code", metavar="MÃ_CÁN_BỘ", help="mã cán bộ")
    lst.set_defaults(handler=run_roles_list)

    due = sub.add_parser(
        "due", help="ai còn việc đến hạn (kế hoạch, tự đánh giá, nhận xét, quyết định, luân chuyển)"
    )
    due.add_argument(
        "--date",
        dest="on",
        default=None,
        metavar="NGÀY",
        help="ngày xem (mặc định hôm nay theo đồng hồ của bot, múi giờ CANBO_TIMEZONE), dạng 2026-06-02",
    )
    due.set_defaults(handler=run_due)

    rules = sub.add_parser("rules", help="quy tắc đánh giá")
    rules_sub = rules.add_subparsers(dest="rules_command", metavar="THAO_TÁC", required=True)
    check = rules_sub.add_parser("check", help="kiểm tra một tệp quy tắc (mặc định: CANBO_RULES_FILE)")
    check.add_argument("file", nargs="?", type=Path, default=None, metavar="TỆP", help="tệp quy tắc .toml")
    check.set_defaults(handler=run_rules_check)


def _engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


def with_database(settings: Settings, work: Callable[[Engine], int]) -> int:
    """Run `work` on an up-to-date database; map records errors to Vietnamese and an exit code."""
    engine = _engine(settings)
    try:
        if current_revision(engine) != head_revision():
            print(MSG_NOT_UPGRADED, file=sys.stderr)
            return EXIT_BAD_INPUT
        return work(engine)
    except RecordsError as exc:
        print(MSG_ERROR.format(reason=describe_error(exc.code)), file=sys.stderr)
        log.info("command refused: %s", exc.code)
        return EXIT_BAD_INPUT
    finally:
        engine.dispose()


def run_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    engine.dispose()
    upgrade(settings.resolved_database_url)
    print(MSG_UPGRADED.format(revision=head_revision()))
    return EXIT_OK


def format_roster_report(report: RosterReport) -> str:
    """The row report in Vietnamese (also usable by the bot)."""
    if report.accepted:
        lines = [MSG_ROSTER_OK + roster_counts(report)]
        if report.people_reactivated:
            lines.append(MSG_ROSTER_REACTIVATED.format(count=report.people_reactivated))
        if report.people_deactivated:
            lines.append(MSG_ROSTER_DEACTIVATED.format(count=report.people_deactivated))
            lines.extend(MSG_ROSTER_NAME.format(name=name) for name in report.deactivated)
            if report.people_deactivated > len(report.deactivated):
                lines.append(
                    MSG_ROSTER_MORE.format(count=report.people_deactivated - len(report.deactivated))
                )
        if report.roles_revoked:
            lines.append(MSG_ROSTER_REVOKED.format(count=report.roles_revoked))
        return "\n".join(lines)
    lines = [MSG_ROSTER_REJECTED]
    for issue in report.issues:
        template = ROSTER_ISSUES.get(issue.code, ROSTER_ISSUE_FALLBACK)
        text = template.format(column=issue.column or "", value=issue.value or "", code=issue.code)
        lines.append(
            MSG_ROW.format(row=issue.row, text=text) if issue.row > 0 else MSG_FILE_ISSUE.format(text=text)
        )
    return "\n".join(lines)


def run_roster_import(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(MSG_NO_FILE.format(path=path, reason=exc.strerror), file=sys.stderr)
        return EXIT_BAD_INPUT

    def work(engine: Engine) -> int:
        # One pass: applied in a transaction that is committed only when allowed (--yes, or nothing taken away).
        with Session(engine, expire_on_commit=False) as session:
            try:
                report = import_roster(
                    session, data=data, filename=path.name, authoritative=not args.supplement
                )
            except ImportRejected as exc:
                session.rollback()
                rejected = exc.params["report"]
                assert isinstance(rejected, RosterReport)
                print(format_roster_report(rejected), file=sys.stderr)
                if any(issue.code == "last_admin" for issue in rejected.issues):
                    print(MSG_ROSTER_TRY_SUPPLEMENT, file=sys.stderr)
                return EXIT_FAILED
            if report.destructive and not args.yes:
                session.rollback()
                report.dry_run = True
                print(MSG_ROSTER_PREVIEW)
                print(format_roster_report(report).removeprefix(MSG_ROSTER_OK))
                print(MSG_ROSTER_CONFIRM)
                return EXIT_NEEDS_CONFIRMATION
            session.commit()
        print(format_roster_report(report))
        return EXIT_OK

    return with_database(settings, work)


def run_invite(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.days <= 90:
        print(MSG_BAD_DAYS, file=sys.stderr)
        return EXIT_BAD_INPUT

    def work(engine: Engine) -> int:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=args.cadre_code)
            if person is None:
                print(MSG_NO_PERSON.format(code=args.cadre_code), file=sys.stderr)
                return EXIT_BAD_INPUT
            # The lifetime starts on the bot's clock, which checks the expiry on sign-in.
            invite = issue_invite(
                session,
                actor_id=None,
                person_id=person.id,
                ttl=timedelta(days=args.days),
                now=Clock.from_settings(settings).now(),
            )
        print(
            MSG_INVITE.format(
                name=person.full_name,
                code=person.cadre_code,
                invite=invite.code,
                expires=format_local(invite.expires_at, settings.timezone, INVITE_EXPIRY_FORMAT),
            )
        )
        return EXIT_OK

    return with_database(settings, work)


def run_roles_change(args: argparse.Namespace, settings: Settings) -> int:
    def work(engine: Engine) -> int:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=args.cadre_code)
            unit = find_unit_by_code(session, code=args.unit_code)
            if person is None:
                print(MSG_NO_PERSON.format(code=args.cadre_code), file=sys.stderr)
                return EXIT_BAD_INPUT
            if unit is None:
                print(MSG_NO_UNIT.format(code=args.unit_code), file=sys.stderr)
                return EXIT_BAD_INPUT
            if args.roles_command == "grant":
                grant_role(session, actor_id=None, person_id=person.id, role=args.role, unit_id=unit.id)
                print(MSG_GRANTED.format(role=args.role, name=person.full_name, unit=unit.code))
            else:
                count = revoke_role(
                    session, actor_id=None, person_id=person.id, role=args.role, unit_id=unit.id
                )
                print(MSG_REVOKED.format(count=count, role=args.role, name=person.full_name, unit=unit.code))
        return EXIT_OK

    return with_database(settings, work)


def run_roles_list(args: argparse.Namespace, settings: Settings) -> int:
    def work(engine: Engine) -> int:
        with Session(engine) as session:
            person = find_person_by_code(session, cadre_code=args.cadre_code)
            if person is None:
                print(MSG_NO_PERSON.format(code=args.cadre_code), file=sys.stderr)
                return EXIT_BAD_INPUT
            roles = roles_of(session, person_id=person.id)
        if not roles:
            print(MSG_ROLES_NONE.format(name=person.full_name))
        for role in roles:
            print(MSG_ROLE_LINE.format(role=role.role, unit_code=role.unit_code, unit_name=role.unit_name))
        return EXIT_OK

    return with_database(settings, work)


def run_due(args: argparse.Namespace, settings: Settings) -> int:
    try:
        # «Today» is the day in CANBO_TIMEZONE on the bot's clock, so `canbo due` agrees with its reminders.
        day = (
            date.fromisoformat(args.on)
            if args.on
            else local_date(Clock.from_settings(settings).now(), settings.timezone)
        )
    except ValueError:
        print(MSG_BAD_DATE.format(value=args.on), file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        rules = load_rules(settings.rules_file)
    except RecordsError as exc:
        print(describe_rules_problem(exc), file=sys.stderr)
        return EXIT_BAD_INPUT

    def work(engine: Engine) -> int:
        with Session(engine) as session:
            items = list_due(session, on=day, rules=rules, tz=settings.timezone)
        if not items:
            print(MSG_DUE_NONE.format(day=day.isoformat()))
        for item in items:
            left = f"còn {item.days_left} ngày" if item.days_left >= 0 else f"trễ {-item.days_left} ngày"
            print(
                MSG_DUE_LINE.format(
                    deadline=format_date(item.deadline),
                    left=left,
                    who=item.recipient_name,
                    what=DUE_KINDS.get(item.kind, item.kind),
                    subject=item.subject_name,
                    period=f" (kỳ {item.period})" if item.period else "",
                )
            )
        return EXIT_OK

    return with_database(settings, work)


def run_rules_check(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rules = load_rules(args.file or settings.rules_file)
    except RecordsError as exc:
        print(describe_rules_problem(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(
        MSG_RULES_OK.format(
            name=rules.name, period=rules.period, criteria=len(rules.criteria), grades=len(rules.grades)
        )
    )
    return EXIT_OK
