"""`canbo run`: migrate, open the index (loading the samples into an empty one), start the bot."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any
from urllib.parse import urlparse

from bot.settings import Settings

log = logging.getLogger(__name__)

MESSAGES = {
    "no_token": (
        "Chưa cấu hình TELEGRAM_BOT_TOKEN: khởi động chế độ thử nghiệm (playground) trên máy này.\n"
        "Để chạy với Telegram thật, đặt TELEGRAM_BOT_TOKEN (lấy từ @BotFather) trong môi trường hoặc tệp .env."
    ),
    "no_playground": "Chế độ thử nghiệm (playground) chưa có trong bản cài đặt này. Hãy đặt TELEGRAM_BOT_TOKEN.",
    "invalid_token": "Telegram từ chối TELEGRAM_BOT_TOKEN (token sai hoặc đã bị thu hồi). Lấy token mới từ @BotFather.",
    "network": "Không kết nối được máy chủ Telegram ({base}). Kiểm tra mạng hoặc TELEGRAM_API_BASE.",
    "webhook_secret": "Chế độ webhook cần CANBO_WEBHOOK_SECRET (chữ, số, '_' và '-') để xác thực yêu cầu từ Telegram.",
    "webhook_url": "CANBO_WEBHOOK_URL phải là địa chỉ https://… công khai.",
    "database": "Không mở hoặc nâng cấp được cơ sở dữ liệu: {error}",
    "index": "Không mở được kho văn bản: {error}",
    "samples": "Kho văn bản trống: đã nạp {count} văn bản mẫu.",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `canbo run` to the `canbo` parser."""
    parser = sub.add_parser("run", help="chạy bot Telegram (polling, hoặc webhook khi có CANBO_WEBHOOK_URL)")
    parser.add_argument("--no-samples", action="store_true", help="không nạp văn bản mẫu vào kho trống")
    parser.set_defaults(handler=run)


def build_qa_engine(settings: Settings) -> Any:
    """The retrieval engine from settings (the bundled model by default)."""
    import retrieval

    llm = None
    if settings.llm_base_url:
        llm = retrieval.LLMSettings(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none",
            model=settings.llm_model,
            timeout_s=settings.llm_timeout_s,
        )
    return retrieval.make_engine(
        index_dir=settings.index_dir,
        chroma_url=settings.chroma_url,
        embedding_model=settings.embedding_model,
        embedding_threads=settings.embedding_threads,
        query_threads=settings.query_threads or None,
        llm=llm,
    )


def load_samples_if_empty(qa: Any) -> int:
    """Load the shipped sample corpus into an empty index, so the bot answers out of the box."""
    import knowledge

    if qa.documents():
        return 0
    outcomes = qa.ingest_paths(list(knowledge.sample_corpus_paths()))
    return sum(1 for o in outcomes if o.status in ("added", "updated"))


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Entry point of `canbo run`; returns the process exit code."""
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    if settings.telegram_bot_token is None:
        print(MESSAGES["no_token"], file=sys.stderr)
        try:
            from bot.playground import run_playground
        except ImportError:
            print(MESSAGES["no_playground"], file=sys.stderr)
            return 2
        code: int = run_playground(settings)
        return code
    if settings.webhook_url:
        if settings.webhook_secret is None:
            print(MESSAGES["webhook_secret"], file=sys.stderr)
            return 2
        if urlparse(settings.webhook_url).scheme != "https":
            print(MESSAGES["webhook_url"], file=sys.stderr)
            return 2
    os.environ.setdefault("OMP_NUM_THREADS", str(settings.embedding_threads))
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

    from bot.app import build_application
    from bot.revoked import token_was_refused
    from bot.services import Services
    from bot.texts import describe_rules_problem
    from records.db import make_engine
    from records.errors import RulesFileInvalid
    from records.migrate import upgrade
    from records.rules import load_rules

    try:  # checked before anything starts: a bad file would otherwise stop the bot with a traceback
        load_rules(settings.rules_file)
    except RulesFileInvalid as exc:
        log.warning("evaluation rules refused: %s", exc.params.get("field", ""))
        print(describe_rules_problem(exc), file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    try:
        upgrade(settings.resolved_database_url)
    except Exception as exc:
        log.warning("database upgrade failed: %s", type(exc).__name__)
        print(MESSAGES["database"].format(error=type(exc).__name__), file=sys.stderr)
        return 3
    try:
        qa = build_qa_engine(settings)
        if not args.no_samples:
            loaded = load_samples_if_empty(qa)
            if loaded:
                log.info(MESSAGES["samples"].format(count=loaded))
    except Exception as exc:
        code_name = getattr(exc, "code", type(exc).__name__)
        log.warning("index unavailable: %s", code_name)
        print(MESSAGES["index"].format(error=code_name), file=sys.stderr)
        return 3

    services = Services(settings=settings, db=make_engine(settings.resolved_database_url), qa=qa)
    app = build_application(
        services,
        token=settings.telegram_bot_token.get_secret_value(),
        api_base=settings.telegram_api_base,
        rate_limit=settings.telegram_rate_limit,
        gc_freeze=True,
    )
    try:
        if settings.webhook_url and settings.webhook_secret is not None:
            path = urlparse(settings.webhook_url).path.strip("/") or "telegram"
            app.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=path,
                webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except InvalidToken:
        print(MESSAGES["invalid_token"], file=sys.stderr)
        return 2
    except NetworkError:
        print(MESSAGES["network"].format(base=settings.telegram_api_base), file=sys.stderr)
        return 3
    if token_was_refused(app):  # it stopped itself: Telegram refused the token while it ran (bot.revoked)
        print(MESSAGES["invalid_token"], file=sys.stderr)
        return 2
    return 0
