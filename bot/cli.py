"""The `canbo` command line: parses arguments, builds Settings once and dispatches to subcommands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot import cli_health, cli_ops, cli_playground, cli_qa, cli_records, cli_reports, cli_rotation, cli_run
from bot.settings import Settings

log = logging.getLogger(__name__)


HELP_OPTION = "hiện hướng dẫn này rồi thoát"
POSITIONALS_TITLE = "tham số"
OPTIONS_TITLE = "tùy chọn"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canbo",
        description=(
            "Trợ lý Công tác Cán bộ — hỏi đáp quy định có trích dẫn, đánh giá cán bộ hằng tháng, "
            "tổng hợp và báo cáo (chạy được không cần Internet)."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="LỆNH", required=True)
    for module in (
        cli_run,
        cli_playground,
        cli_qa,
        cli_records,
        cli_rotation,
        cli_reports,
        cli_health,
        cli_ops,
    ):
        module.register(sub)
    _localise(parser)
    return parser


def _localise(parser: argparse.ArgumentParser) -> None:
    """Vietnamese for argparse's own words in every (sub)command's help: -h and the section titles."""
    parser._positionals.title = POSITIONALS_TITLE
    parser._optionals.title = OPTIONS_TITLE
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            action.help = HELP_OPTION
        elif isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                _localise(child)


class TqdmAwareHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes log lines through `tqdm.write` so a progress bar on the same terminal is redrawn below them.

    Without it an INFO line printed while `canbo ingest` / `canbo reindex` shows a bar lands in the middle of the
    bar. When no bar is active `tqdm.write` is a plain write.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # never let logging break the command
            self.handleError(record)


class SecretRedactor(logging.Filter):
    """Replaces secrets (the bot token) in every log record, whatever library emitted it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message_exc = str(record.exc_info[1])
            if any(secret in message_exc for secret in self.secrets):
                record.exc_info = None
                record.exc_text = None
                message += " (exception details hidden: they contained a secret)"
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "<redacted>")
        record.msg, record.args = message, None
        return True


def configure_logging(level: str, *, secrets: list[str] | None = None) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[TqdmAwareHandler(sys.stderr)],
    )
    redactor = SecretRedactor(secrets or [])
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    # Third-party chatter that may include URLs with the bot token.
    for noisy in ("httpx", "httpcore", "chromadb.telemetry", "telegram.ext.Updater", "apscheduler"):
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
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    configure_logging(settings.log_level, secrets=[token, token.partition(":")[2]])
    handler = args.handler
    code: int = handler(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
