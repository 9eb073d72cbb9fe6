"""The one settings object: read from the environment or `.env`, built in the entry point only."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from records.localtime import UnknownTimeZone, zone

TOKEN_PATTERN = re.compile(r"^\d{5,15}:[A-Za-z0-9_-]{30,}$")


class Settings(BaseSettings):
    """Every variable is listed in .env.example and the README's configuration table."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- Telegram -----------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base: str = Field(default="https://api.telegram.org", alias="TELEGRAM_API_BASE")
    webhook_url: str | None = Field(default=None, alias="CANBO_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(default=None, alias="CANBO_WEBHOOK_SECRET")
    webhook_listen: str = Field(default="0.0.0.0", alias="CANBO_WEBHOOK_LISTEN")
    webhook_port: int = Field(default=8443, alias="CANBO_WEBHOOK_PORT")
    # Webhook mode: seconds between checks that Telegram still accepts the token (a revoked token stops the bot).
    token_check_s: int = Field(default=60, ge=1, alias="CANBO_TOKEN_CHECK_S")
    # GET /healthz on this port (in polling and webhook mode) when set; for proxies and load balancers.
    health_port: int | None = Field(default=None, ge=1, le=65535, alias="CANBO_HEALTH_PORT")
    health_listen: str = Field(default="127.0.0.1", alias="CANBO_HEALTH_LISTEN")
    # Outgoing messages per second over all chats (Telegram's limit is about 30); 0 disables the cap.
    telegram_rate_limit: float = Field(default=30.0, ge=0, alias="CANBO_TELEGRAM_RATE_LIMIT")

    # --- Storage ------------------------------------------------------------------------------
    data_dir: Path = Field(default=Path("data"), alias="CANBO_DATA_DIR")
    database_url: str | None = Field(default=None, alias="CANBO_DATABASE_URL")  # default: SQLite in data_dir
    chroma_url: str | None = Field(default=None, alias="CANBO_CHROMA_URL")  # default: embedded in data_dir

    # --- Retrieval ----------------------------------------------------------------------------
    # "e5-small" (bundled, default) or a local path to any sentence-transformers model folder.
    embedding_model: str = Field(default="e5-small", alias="CANBO_EMBEDDING_MODEL")
    embedding_threads: int = Field(default=1, alias="CANBO_EMBEDDING_THREADS")
    # Threads for a question's embedding while the rest of the server is idle; 0: every core, at most 2.
    query_threads: int = Field(default=0, ge=0, alias="CANBO_QUERY_THREADS")
    max_upload_mb: int = Field(default=20, alias="CANBO_MAX_UPLOAD_MB")
    allow_classified: bool = Field(default=False, alias="CANBO_ALLOW_CLASSIFIED")
    # Optional LLM answer writer (any OpenAI-compatible endpoint); extractive answers when unset.
    llm_base_url: str | None = Field(default=None, alias="CANBO_LLM_BASE_URL")
    llm_api_key: SecretStr | None = Field(default=None, alias="CANBO_LLM_API_KEY")
    llm_model: str = Field(default="local", alias="CANBO_LLM_MODEL")
    llm_timeout_s: float = Field(default=20.0, alias="CANBO_LLM_TIMEOUT")

    # --- Records and the bot ------------------------------------------------------------------
    rules_file: Path | None = Field(default=None, alias="CANBO_RULES_FILE")  # default: Hà Nội monthly
    timezone: str = Field(default="Asia/Ho_Chi_Minh", alias="CANBO_TIMEZONE")
    qa_requires_login: bool = Field(default=False, alias="CANBO_QA_REQUIRES_LOGIN")
    support_contact: str = Field(
        default="Ban Tổ chức (bộ phận quản trị hệ thống)", alias="CANBO_SUPPORT_CONTACT"
    )
    log_level: str = Field(default="INFO", alias="CANBO_LOG_LEVEL")

    # --- Test and demo seams (leave unset in production) ------------------------------------------
    # The workflow features' "now": a fixed ISO datetime, or a file holding one (re-read on every call, so a
    # test or a demo can move time forward without a restart). Unset: the real time.
    now: datetime | None = Field(default=None, alias="CANBO_NOW")
    now_file: Path | None = Field(default=None, alias="CANBO_NOW_FILE")
    # How often the workflow reminders' job runs, in seconds.
    workflow_tick_s: int = Field(default=60, ge=1, alias="CANBO_WORKFLOW_TICK_S")

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not TOKEN_PATTERN.match(value.get_secret_value().strip()):
            raise ValueError("TELEGRAM_BOT_TOKEN không đúng dạng 123456789:ABC... (lấy từ @BotFather)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("CANBO_WEBHOOK_SECRET chỉ gồm chữ, số, '_' và '-' (1–256 ký tự)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        name = value.strip()
        try:
            zone(name)
        except UnknownTimeZone:
            raise ValueError(
                f"CANBO_TIMEZONE «{name}» không phải tên múi giờ hợp lệ (ví dụ Asia/Ho_Chi_Minh)"
            ) from None
        return name

    @field_validator(
        "now",
        "now_file",
        "rules_file",
        "database_url",
        "chroma_url",
        "llm_base_url",
        "webhook_url",
        "webhook_secret",
        "llm_api_key",
        "health_port",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`CANBO_RULES_FILE=` left empty in a .env file means the default, not the current directory; an empty
        `CANBO_WEBHOOK_SECRET=` (as in a copied .env.example) means no secret, not an invalid one."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("now")
    @classmethod
    def _now_aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'canbo.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"
