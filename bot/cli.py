"""The `canbo` command line: parses arguments, builds Settings once and dispatches to subcommands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot import cli_playground, cli_qa, cli_records, cli_reports, cli_run
from bot.settings import Settings

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canbo",
        description="Trợ lý Công tác Cán bộ — regulation Q&A, evaluations and summaries (offline-first).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (cli_run, cli_playground, cli_qa, cli_records, cli_reports):
        module.register(sub)
    return parser


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Third-party chatter that may include URLs with the bot token.
    for noisy in ("httpx", "httpcore", "chromadb.telemetry", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            print(f"Lỗi cấu hình {field}: {err['msg']}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    handler = args.handler
    code: int = handler(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
