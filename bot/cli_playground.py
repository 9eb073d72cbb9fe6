"""`canbo playground`: the real bot against the local Bot API and a chat web page."""

from __future__ import annotations

import argparse

from bot.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the playground subcommand to the `canbo` parser."""
    parser = sub.add_parser(
        "playground",
        help="thử toàn bộ bot trong trình duyệt, không cần Telegram (dữ liệu mẫu riêng)",
        description=(
            "Chạy bot thật với một Bot API cục bộ và mở trang trò chuyện giống Telegram trên 127.0.0.1. "
            "Dữ liệu mẫu nằm trong <CANBO_DATA_DIR>/playground, không bao giờ ghi vào thư mục dữ liệu thật."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", metavar="ĐỊA_CHỈ", help="địa chỉ của trang (mặc định 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        metavar="CỔNG",
        help="cổng của trang (mặc định 8765; 0 = một cổng trống bất kỳ)",
    )
    parser.add_argument(
        "--people",
        type=int,
        default=120,
        metavar="SỐ_NGƯỜI",
        help="số cán bộ của danh sách mẫu (mặc định 120)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.playground import run_playground

    return run_playground(settings, host=args.host, port=args.port, people=args.people)
