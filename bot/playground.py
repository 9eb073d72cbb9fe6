"""The playground: the real bot (`canbo run` subprocess) against the local Bot API, with a chat page in the browser."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.localapi.server import LocalBotApi
from bot.localapi.web import Persona, PlaygroundPage
from bot.settings import Settings

log = logging.getLogger(__name__)

PLAYGROUND_BOT_ID = 7_000_000_001
FIRST_USER_ID = 7_100_000_001
DEFAULT_PORT = 8765
DEMO_PEOPLE = 120
SEED_MARKER = "playground-seeded.json"
ROLE_LABELS = {
    "cadre": "Cán bộ",
    "reviewer": "Người nhận xét (cấp trên trực tiếp)",
    "head": "Thủ trưởng đơn vị",
    "staff": "Cán bộ Ban Tổ chức",
    "admin": "Quản trị hệ thống",
}
TEXTS = {
    "url": "Mở trình duyệt tại: {url}",
    "data": "Dữ liệu thử nghiệm (tách biệt với dữ liệu thật): {path}",
    "seeding": "Đang chuẩn bị dữ liệu mẫu ({step})…",
    "seed_failed": "Không chuẩn bị được dữ liệu mẫu ({step}); xem {log}.",
    "seed_missing": "Bản cài đặt này chưa có lệnh `canbo {step}`: bỏ qua bước này.",
    "bot_started": "Bot đã khởi động (nhật ký: {log}). Nhấn Ctrl+C để dừng.",
    "bot_exited": "Bot đã dừng (mã {code}). Xem nhật ký: {log}",
    "port_busy": "Cổng {port} đang bận: dùng một cổng trống khác.",
    "stopped": "Đã dừng chế độ thử nghiệm.",
}


@dataclass
class SeedStep:
    """One `canbo` subcommand that prepares the demo data directory."""

    name: str
    args: tuple[str, ...]
    optional: bool = False


@dataclass
class SeedReport:
    done: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """`preexec_fn` for child processes: on Linux, SIGTERM the child when its parent dies (no orphan bots)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def demo_personas(*, first_user_id: int = FIRST_USER_ID) -> list[Persona]:
    """One persona per role from the demo roster (`records.demo.DEMO_ACCOUNTS`), phones in +84 form."""
    from records.demo import DEMO_ACCOUNTS

    personas: list[Persona] = []
    for index, account in enumerate(DEMO_ACCOUNTS):
        phone = "+84" + account.phone[1:] if account.phone.startswith("0") else account.phone
        personas.append(
            Persona(
                user_id=first_user_id + index,
                full_name=account.full_name,
                role=account.role,
                role_label=ROLE_LABELS.get(account.role, account.role),
                phone=phone,
                unit=account.unit_code,
            )
        )
    return personas


def playground_data_dir(settings: Settings) -> Path:
    """The separate demo data directory (never the real one)."""
    return (settings.data_dir / "playground").resolve()


def make_token(bot_id: int = PLAYGROUND_BOT_ID) -> str:
    return f"{bot_id}:{secrets.token_urlsafe(30)[:35]}"


def bot_environment(
    *, data_dir: Path, token: str, api_base: str, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of the bot subprocess: the demo data dir, embedded stores, the local Bot API."""
    env = dict(os.environ if base is None else base)
    env.update(
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_BASE=api_base,
        CANBO_DATA_DIR=str(data_dir),
        # Blank (not absent) so that a .env file cannot point the playground at the real stores.
        CANBO_DATABASE_URL="",
        CANBO_CHROMA_URL="",
        CANBO_WEBHOOK_URL="",
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("ANONYMIZED_TELEMETRY", "False")
    return env


def default_seed_steps(people: int = DEMO_PEOPLE) -> list[SeedStep]:
    return [
        SeedStep("demo-data", ("demo-data", "--people", str(people))),
        SeedStep("ingest", ("ingest", "--samples"), optional=True),  # `canbo run` also loads samples
    ]


def seed_demo_data(
    data_dir: Path,
    *,
    env: dict[str, str],
    steps: Sequence[SeedStep],
    log_file: IO[bytes],
    python: str = sys.executable,
) -> SeedReport:
    """Run the `canbo` seeding subcommands once per demo directory (a marker file remembers what was done)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    marker = data_dir / SEED_MARKER
    done: list[str] = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else []
    report = SeedReport(done=list(done))
    for step in steps:
        if step.name in done:
            continue
        print(TEXTS["seeding"].format(step=step.name), flush=True)
        log_file.write(f"\n=== canbo {' '.join(step.args)}\n".encode())
        log_file.flush()
        result = subprocess.run(
            [python, "-m", "bot.cli", *step.args],
            env=env,
            stdout=log_file,
            stderr=subprocess.PIPE,
            check=False,
        )
        log_file.write(result.stderr)
        log_file.flush()
        if result.returncode == 0:
            report.done.append(step.name)
            marker.write_text(json.dumps(report.done), encoding="utf-8")
        elif result.returncode == 2 and b"invalid choice" in result.stderr:
            report.missing.append(step.name)
            print(TEXTS["seed_missing"].format(step=step.name), flush=True)
        else:
            report.failed.append(step.name)
            log.warning("playground seeding step %s failed with exit code %d", step.name, result.returncode)
            if not step.optional:
                print(
                    TEXTS["seed_failed"].format(step=step.name, log=getattr(log_file, "name", "")), flush=True
                )
    return report


class Playground:
    """The local Bot API + the chat page + the real bot as a subprocess; start() and stop() in a running loop."""

    def __init__(
        self,
        settings: Settings,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        seed_steps: Sequence[SeedStep] | None = None,
        bot_args: Sequence[str] = ("run",),
        python: str = sys.executable,
        data_dir: Path | None = None,
    ):
        self.settings = settings
        self.data_dir = data_dir or playground_data_dir(settings)
        self.token = make_token()
        self.host = host
        self.port = port
        self.seed_steps = list(default_seed_steps() if seed_steps is None else seed_steps)
        self.bot_args = tuple(bot_args)
        self.python = python
        self.server = LocalBotApi(token=self.token, host=host, port=port, bot_username="canbo_playground_bot")
        self.personas = demo_personas()
        self.page = PlaygroundPage(self.server, self.personas)
        self.bot: asyncio.subprocess.Process | None = None
        self.seed_report: SeedReport | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return self.page.url

    @property
    def log_path(self) -> Path:
        return self.data_dir / "playground-bot.log"

    def environment(self) -> dict[str, str]:
        return bot_environment(data_dir=self.data_dir, token=self.token, api_base=self.server.base_url)

    async def start_server(self) -> None:
        try:
            await self.server.start()
        except OSError:
            if self.server.port == 0:
                raise
            print(TEXTS["port_busy"].format(port=self.server.port), flush=True)
            self.server.port = 0
            await self.server.start()

    async def start(self) -> None:
        """Serve the page, seed the demo data directory, start the bot."""
        await self.start_server()
        await self.seed_and_start_bot()

    async def seed_and_start_bot(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.seed_report = await asyncio.to_thread(
            seed_demo_data,
            self.data_dir,
            env=self.environment(),
            steps=self.seed_steps,
            log_file=self._log,
            python=self.python,
        )
        await self.start_bot()

    async def start_bot(self) -> None:
        assert self._log is not None
        self.bot = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            "bot.cli",
            *self.bot_args,
            env=self.environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl+C reaches the playground, which then stops the bot in order
            preexec_fn=die_with_parent,
        )

    async def stop(self) -> None:
        if self.bot is not None and self.bot.returncode is None:
            self.bot.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.bot.wait(), 15)
            except TimeoutError:
                self.bot.kill()
                await self.bot.wait()
        await self.server.stop()
        if self._log is not None:
            self._log.close()
            self._log = None


async def _serve(playground: Playground) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await playground.start_server()
        print(TEXTS["url"].format(url=playground.url), flush=True)
        print(TEXTS["data"].format(path=playground.data_dir), flush=True)
        await playground.seed_and_start_bot()
        print(TEXTS["bot_started"].format(log=playground.log_path), flush=True)
        assert playground.bot is not None
        bot_exit = asyncio.ensure_future(playground.bot.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({bot_exit, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if bot_exit.done():
            print(TEXTS["bot_exited"].format(code=bot_exit.result(), log=playground.log_path), flush=True)
            tail = playground.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            print("\n".join(tail), file=sys.stderr, flush=True)
            return 1
        return 0
    finally:
        await playground.stop()
        print(TEXTS["stopped"], flush=True)


def run_playground(
    settings: Settings, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, people: int = DEMO_PEOPLE
) -> int:
    """Run the playground until Ctrl+C; returns the process exit code (`canbo run` calls this without a token)."""
    playground = Playground(settings, host=host, port=port, seed_steps=default_seed_steps(people))
    return asyncio.run(_serve(playground))
