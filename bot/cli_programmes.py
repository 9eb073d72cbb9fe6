"""`canbo programmes export-public`: the public action programmes of a unit, as an Excel file that committee
staff hand to the Fatherland Front (Mặt trận Tổ quốc) and the People's Councils (Hội đồng nhân dân), who
supervise the programmes but are not on the roster."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.cli_records import with_database
from bot.cli_reports import (
    EXIT_BAD_INPUT,
    EXIT_NOT_FOUND,
    EXIT_OK,
    MSG_BAD_OUTPUT,
    MSG_UNKNOWN_UNIT,
    MSG_WROTE,
)
from bot.features.workflow import Clock
from bot.settings import Settings
from records.export_programmes import write_public_programmes_xlsx
from records.people import find_unit_by_code
from records.programmes import list_public_programmes
from records.views import PublicProgrammes

log = logging.getLogger(__name__)

MSG_LISTED = "Chương trình hành động công khai của {unit} ({code}) và các đơn vị trực thuộc: {count} chương trình, {items} cam kết."
MSG_LISTED_RUNNING = (
    "Chương trình hành động công khai đang thực hiện của {unit} ({code}) và các đơn vị trực thuộc: "
    "{count} chương trình, {items} cam kết."
)
MSG_ENDED_LEFT_OUT = (
    "Không gồm {ended} chương trình đã kết thúc nhiệm kỳ; muốn có cả các chương trình đó, chạy lại với "
    "--include-ended."
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `canbo programmes` to the `canbo` parser."""
    programmes = sub.add_parser("programmes", help="chương trình hành động của cán bộ")
    programmes_sub = programmes.add_subparsers(dest="programmes_command", metavar="THAO_TÁC", required=True)
    export = programmes_sub.add_parser(
        "export-public",
        help="xuất Excel các chương trình hành động công khai của một đơn vị (gửi Mặt trận Tổ quốc, HĐND)",
        description=(
            "Ghi tệp Excel các chương trình hành động đang thực hiện (đã được thủ trưởng xác nhận, chưa kết thúc "
            "nhiệm kỳ) ở mức «Công khai rộng rãi» của một đơn vị và các đơn vị trực thuộc: người đăng ký, chức vụ, "
            "đơn vị, từng cam kết với chỉ tiêu, hạn và tiến độ mới nhất. Chương trình «Nội bộ» và «Công khai trong "
            "chi bộ» không bao giờ có trong tệp. Dùng để gửi Mặt trận Tổ quốc và Hội đồng nhân dân giám sát."
        ),
    )
    export.add_argument("--unit", required=True, metavar="MÃ_ĐƠN_VỊ", help="mã đơn vị, ví dụ BD")
    export.add_argument(
        "--out", required=True, type=Path, metavar="TỆP", help="tệp Excel cần ghi, ví dụ ct-BD.xlsx"
    )
    export.add_argument(
        "--include-ended",
        action="store_true",
        help="gồm cả chương trình đã kết thúc nhiệm kỳ (mỗi dòng ghi trạng thái và ngày kết thúc)",
    )
    export.set_defaults(handler=run_export_public)


def run_export_public(args: argparse.Namespace, settings: Settings) -> int:
    """`canbo programmes export-public --unit CODE --out FILE.xlsx [--include-ended]` (as the operator: every
    public programme in progress, and the ended ones too with `--include-ended`)."""
    now = Clock.from_settings(settings).now()
    code = args.unit.strip()

    def work(engine: Engine) -> int:
        with Session(engine) as session:
            unit = find_unit_by_code(session, code=code) or find_unit_by_code(session, code=code.upper())
            if unit is None:
                print(MSG_UNKNOWN_UNIT.format(value=code), file=sys.stderr)
                return EXIT_NOT_FOUND
            listed: PublicProgrammes = list_public_programmes(
                session, actor_id=None, unit_id=unit.id, include_ended=args.include_ended
            )
        try:
            write_public_programmes_xlsx(listed, args.out, now=now, tz=settings.timezone)
        except OSError as exc:
            print(
                MSG_BAD_OUTPUT.format(path=exc.filename or args.out, reason=exc.strerror or exc),
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        items = sum(len(d.programme.items) for d in listed.programmes)
        listed_msg = MSG_LISTED if listed.include_ended else MSG_LISTED_RUNNING
        print(
            listed_msg.format(
                unit=listed.unit_name, code=listed.unit_code, count=len(listed.programmes), items=items
            )
        )
        if listed.ended_left_out:
            print(MSG_ENDED_LEFT_OUT.format(ended=listed.ended_left_out))
        print(MSG_WROTE.format(path=args.out))
        log.info(
            "public programmes exported from the command line: %d (ended left out: %d)",
            len(listed.programmes),
            listed.ended_left_out,
        )
        return EXIT_OK

    return with_database(settings, work)
