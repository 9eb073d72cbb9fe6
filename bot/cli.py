"""The `canbo` command line: parses arguments, builds Settings once and dispatches to subcommands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot import cli_health, cli_playground, cli_qa, cli_records, cli_reports, cli_run
from bot.settings import Settings

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canbo",
        description="Trợ lý Công tác Cán bộ — regulation Q&A, evaluations and summaries (offline-first).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (cli_run, cli_playground, cli_qa, cli_records, cli_reports, cli_health):
        module.register(sub)
    return parser


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
