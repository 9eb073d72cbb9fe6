"""`canbo run` start-up errors are clear messages with non-zero exit codes, never tracebacks or the token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.telegram import REPO_ROOT, FakeTelegram

GOOD_SHAPE_TOKEN = "987654:AAE_another-token-that-the-server-rejects-01234"


def run_cli(
    tmp_path: Path, env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CANBO_"))}
    base.update(CANBO_DATA_DIR=str(tmp_path / "data"), OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=base,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_malformed_token_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path, {"TELEGRAM_BOT_TOKEN": "not-a-token"}, "run")
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "@BotFather" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_rules_file_stops_the_start_with_a_clear_message(tmp_path: Path) -> None:
    """A quota rounding typed wrong in CANBO_RULES_FILE stopped `canbo run` with a traceback (walk)."""
    from records.rules import DEFAULT_RULES_PATH

    rules = tmp_path / "quy-tac.toml"
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    rules.write_text(
        text.replace("max_share = 0.30", 'max_share = 0.30\nrounding = "len"', 1), encoding="utf-8"
    )
    env = {"TELEGRAM_BOT_TOKEN": GOOD_SHAPE_TOKEN, "CANBO_RULES_FILE": str(rules)}
    result = run_cli(tmp_path, env, "run", "--no-samples")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Tệp quy tắc đánh giá không hợp lệ: quy-tac.toml: mục «rounding» của khối [[quotas]] thứ 1" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "data").exists()  # stopped before creating anything


def test_webhook_without_secret_is_refused(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": GOOD_SHAPE_TOKEN, "CANBO_WEBHOOK_URL": "https://bot.example.vn/telegram"}
    result = run_cli(tmp_path, env, "run")
    assert result.returncode == 2 and "CANBO_WEBHOOK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_rejected_by_the_api_is_a_clear_error(tmp_path: Path) -> None:
    with FakeTelegram() as telegram:  # knows only its own token: ours gets 401
        env = {"TELEGRAM_BOT_TOKEN": GOOD_SHAPE_TOKEN, "TELEGRAM_API_BASE": telegram.base_url}
        result = run_cli(tmp_path, env, "run", "--no-samples")
    output = result.stderr + result.stdout
    assert result.returncode == 2, output[-2000:]
    assert "Telegram từ chối TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in output
    assert GOOD_SHAPE_TOKEN.split(":")[1] not in output


def test_log_records_never_show_the_token() -> None:
    import io
    import logging

    from bot.cli import SecretRedactor

    token = GOOD_SHAPE_TOKEN
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretRedactor([token, token.split(":")[1]]))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("POST https://api.telegram.org/bot%s/getUpdates failed", token)
        try:
            raise RuntimeError(f"connection to /bot{token}/sendMessage reset")
        except RuntimeError:
            logger.warning("request failed", exc_info=True)
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert token.split(":")[1] not in output
    assert "bot<redacted>/getUpdates" in output and "exception details hidden" in output
