"""`canbo rotation start`: the committee records a rotation (luân chuyển) decided outside the bot."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date

from sqlalchemy.engine import Engine

from bot import texts_workflows as tw
from bot.cli_records import EXIT_BAD_INPUT, EXIT_OK, MSG_NO_PERSON, MSG_NO_UNIT, with_database
from bot.features.workflow import Clock, parse_day
from bot.settings import Settings
from bot.texts import describe_rules_problem
from records.db import session_scope
from records.errors import PermissionDenied, RecordsError, ValidationFailed
from records.localtime import DATE, format_date, format_local
from records.people import find_person_by_code, find_unit_by_code, get_person
from records.periods import add_months
from records.rotations import RotationInput, next_review, start_rotation, term_months
from records.rules import load_rules
from records.schema import RotationReviewState
from records.views import RotationView

log = logging.getLogger(__name__)

MAX_MONTHS = 120
MAX_POST = 300
MSG_BAD_START = "Ngày bắt đầu «{value}» không hợp lệ: dùng dạng NGÀY/THÁNG/NĂM, ví dụ 05/11/2023."
MSG_BAD_MONTHS = "Số tháng luân chuyển phải từ 1 đến {max} (--months)."
MSG_BAD_POST = "Chức vụ ở đơn vị đến không được để trống và dài tối đa {max} ký tự (--post)."
MSG_REFUSED = "Chưa ghi nhận luân chuyển: {reason}."
MSG_NO_RECORDER = "Không có cán bộ mã «{code}» (--by: người ghi nhận, chuyên viên Ban Tổ chức hoặc quản trị)."


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `canbo rotation` to the `canbo` parser."""
    rotation = sub.add_parser("rotation", help="luân chuyển cán bộ")
    rotation_sub = rotation.add_subparsers(dest="rotation_command", metavar="THAO_TÁC", required=True)
    start = rotation_sub.add_parser(
        "start",
        help="ghi nhận một đợt luân chuyển đã có quyết định",
        description=(
            "Ghi nhận một đợt luân chuyển: cán bộ chuyển sang đơn vị và chức vụ mới, các kỳ đánh giá "
            "6 tháng một lần và kỳ kết thúc được lập theo quy tắc. Đơn vị và chức vụ của cán bộ trong danh sách "
            "đổi theo đơn vị đến; việc ghi nhận được lưu vào nhật ký thay đổi."
        ),
    )
    start.add_argument("--cadre", required=True, metavar="MÃ_CÁN_BỘ", help="mã cán bộ được luân chuyển")
    start.add_argument("--to-unit", required=True, metavar="MÃ_ĐƠN_VỊ", help="mã đơn vị tiếp nhận (nơi đến)")
    start.add_argument("--post", required=True, metavar="CHỨC_VỤ", help="chức vụ ở đơn vị đến")
    start.add_argument(
        "--start", required=True, metavar="NGÀY", help="ngày bắt đầu theo quyết định, dạng 05/11/2023"
    )
    start.add_argument(
        "--months",
        type=int,
        default=None,
        metavar="SỐ_THÁNG",
        help="thời gian luân chuyển (mặc định theo quy tắc: 36 tháng)",
    )
    start.add_argument(
        "--by",
        default=None,
        metavar="MÃ_CÁN_BỘ",
        help=(
            "người ghi nhận (chuyên viên Ban Tổ chức hoặc quản trị có phạm vi gồm cả đơn vị đi và đơn vị đến); "
            "người này đánh giá cán bộ ở mỗi kỳ. Bỏ trống: ghi nhận với quyền quản trị hệ thống, chuyên viên Ban "
            "Tổ chức phụ trách đơn vị đến đánh giá"
        ),
    )
    start.set_defaults(handler=run_rotation_start)


class _Refused(Exception):
    """A rotation the records service refused, with the Vietnamese reason (the transaction is rolled back)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _shown(value: object) -> str:
    """A refusal's parameter as users read it: ISO days ("2026-11-05") become "05/11/2026"."""
    try:
        return format_date(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def format_started(view: RotationView, *, code: str, tz: str) -> list[str]:
    """The confirmation lines (plain text)."""
    months = term_months(view.start_date, view.planned_end)
    lines = [
        tw.ROTATION_STARTED.format(
            name=view.person_name,
            code=code,
            from_unit=f"{view.from_unit_name} ({view.from_unit_code})",
            to_unit=f"{view.to_unit_name} ({view.to_unit_code})",
            post=view.to_post,
            start=format_date(view.start_date),
            end=format_date(view.planned_end),
            months=months if months is not None else "—",
        )
    ]
    skipped = [r for r in view.reviews if r.state == RotationReviewState.NOT_REQUIRED.value]
    if skipped:
        lines.append(
            tw.ROTATION_STARTED_NOT_REQUIRED.format(
                count=len(skipped),
                first=format_date(skipped[0].due_date),
                last=format_date(skipped[-1].due_date),
                recorded=format_local(view.created_at, tz, DATE),
            )
        )
    upcoming = next_review(view)
    if upcoming is not None:
        kind = tw.ROTATION_REVIEW_KINDS.get(upcoming.kind, upcoming.kind)
        lines.append(tw.ROTATION_STARTED_NEXT.format(due=format_date(upcoming.due_date), kind=kind))
    return lines


def run_rotation_start(args: argparse.Namespace, settings: Settings) -> int:
    start = parse_day(args.start)
    if start is None:
        print(MSG_BAD_START.format(value=args.start), file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.months is not None and not 1 <= args.months <= MAX_MONTHS:
        print(MSG_BAD_MONTHS.format(max=MAX_MONTHS), file=sys.stderr)
        return EXIT_BAD_INPUT
    post = args.post.strip()
    if not post or len(post) > MAX_POST:
        print(MSG_BAD_POST.format(max=MAX_POST), file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        rules = load_rules(settings.rules_file)
    except RecordsError as exc:
        print(describe_rules_problem(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    now = Clock.from_settings(settings).now()

    def work(engine: Engine) -> int:
        try:
            with session_scope(engine) as session:
                person = find_person_by_code(session, cadre_code=args.cadre)
                if person is None:
                    print(MSG_NO_PERSON.format(code=args.cadre), file=sys.stderr)
                    return EXIT_BAD_INPUT
                unit = find_unit_by_code(session, code=args.to_unit) or find_unit_by_code(
                    session, code=args.to_unit.upper()
                )
                if unit is None:
                    print(MSG_NO_UNIT.format(code=args.to_unit), file=sys.stderr)
                    return EXIT_BAD_INPUT
                recorder = find_person_by_code(session, cadre_code=args.by) if args.by else None
                if args.by and recorder is None:
                    print(MSG_NO_RECORDER.format(code=args.by), file=sys.stderr)
                    return EXIT_BAD_INPUT
                values = {
                    "name": person.full_name,
                    "from_unit": person.unit_code,
                    "to_unit": unit.code,
                }
                data = RotationInput(
                    person_id=person.id,
                    to_unit_id=unit.id,
                    to_post=post,
                    start_date=start,
                    planned_end=add_months(start, args.months) if args.months else None,
                )
                try:
                    view = start_rotation(
                        session,
                        actor_id=recorder.id if recorder else None,
                        data=data,
                        rules=rules,
                        now=now,
                        tz=settings.timezone,
                    )
                except PermissionDenied:
                    raise _Refused(tw.rotation_start_error("permission_denied", values)) from None
                except ValidationFailed as exc:
                    values |= {
                        k: _shown(exc.params[k])
                        for k in ("min_months", "earliest", "since")
                        if k in exc.params
                    }
                    raise _Refused(tw.rotation_start_error(exc.params.get("reason"), values)) from None
                moved = get_person(session, person_id=person.id)
        except _Refused as refused:
            print(MSG_REFUSED.format(reason=refused.reason), file=sys.stderr)
            log.info("rotation refused")
            return EXIT_BAD_INPUT
        log.info("rotation %s recorded from the command line", view.id)
        print("\n".join(format_started(view, code=moved.cadre_code, tz=settings.timezone)))
        return EXIT_OK

    return with_database(settings, work)
