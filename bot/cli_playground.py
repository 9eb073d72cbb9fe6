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
            "Start the real bot against a local Bot API and serve a Telegram-like chat page on 127.0.0.1. "
            "Demo data lives in <CANBO_DATA_DIR>/playground, never in the real data directory."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address of the page (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port of the page (default 8765; 0 = any free port)"
    )
    parser.add_argument("--people", type=int, default=120, help="size of the demo roster (default 120)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.playground import run_playground

    return run_playground(settings, host=args.host, port=args.port, people=args.people)
