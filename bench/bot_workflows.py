"""Workflow benchmark through the local Bot API with the real `canbo run`: self-assessment step latency and a
10,000-person reminder round.

    .venv/bin/python bench/bot_workflows.py [--users 200] [--people 10000] [--rate-limit 30] [--skip-round]

1. Self-assessment: `--users` signed-in cadres, each with a two-task plan, all at once go through the whole
   /danhgia conversation (open, result + skip note per task, three criteria by button, check, send); the
   latency of each step is the time from the user's action to the bot's answer. Prints p50/p95/max.
2. Reminder round: `--people` signed-in people, none with a plan; the simulated clock is set to three days
   before the plan deadline, so each gets one reminder. The local API admits `--rate-limit` messages/s
   (429 above it), the bot's own cap is the same; prints the round's duration, messages/s, 429s seen and
   whether everyone got exactly one reminder. The floor is people / rate (333 s for 10,000 at 30/s).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.localapi import ChatMessage, LocalBotApi, ServerThread  # noqa: E402
from records.db import make_engine, session_scope  # noqa: E402
from records.evaluations import TaskInput, plan_tasks  # noqa: E402
from records.migrate import upgrade  # noqa: E402
from records.people import find_person_by_code, link_telegram  # noqa: E402
from records.roster import import_roster  # noqa: E402
from records.rules import default_rules  # noqa: E402

TOKEN = "123456:AAE_bench-token-for-the-local-bot-api-0123456789"
HEADER = "Mã cán bộ,Họ và tên,Số điện thoại,Chức vụ,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Mã người quản lý,Vai trò,Phạm vi\n"
BASE_UID = 9_000_000_000


def seed(data_dir: Path, *, people: int, with_plans: bool) -> list[int]:
    """A unit with a head, a reviewer and `people` cadres, all signed in; returns the cadres' Telegram ids."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(data_dir / 'canbo.db').resolve()}"
    upgrade(url)
    rows = [
        "TT01,Thủ Trưởng,0900000001,Bí thư,DV,Đảng ủy Bench,,,thủ trưởng,DV",
        "NX01,Người Nhận Xét,0900000002,Trưởng phòng,DV,,,TT01,người nhận xét,DV",
    ]
    rows += [
        f"CB{i:05d},Cán Bộ {i},09{10_000_000 + i:08d},Chuyên viên,DV,,,NX01,cán bộ," for i in range(people)
    ]
    engine = make_engine(url)
    rules = default_rules()
    start = datetime(2026, 9, 1, tzinfo=UTC)
    try:
        with session_scope(engine) as session:
            import_roster(session, data=(HEADER + "\n".join(rows)).encode(), filename="r.csv", now=start)
        with session_scope(engine) as session:
            for i in range(people):
                person = find_person_by_code(session, cadre_code=f"CB{i:05d}")
                assert person is not None
                link_telegram(
                    session, person_id=person.id, telegram_user_id=BASE_UID + i, chat_id=BASE_UID + i
                )
                if with_plans:
                    plan_tasks(
                        session,
                        actor_id=person.id,
                        person_id=person.id,
                        period="2026-10",
                        tasks=[TaskInput(title="Việc thứ nhất"), TaskInput(title="Việc thứ hai")],
                        rules=rules,
                        now=start.replace(month=10, day=2),
                    )
    finally:
        engine.dispose()
    return [BASE_UID + i for i in range(people)]


@contextmanager
def serving(server: LocalBotApi) -> Iterator[LocalBotApi]:
    thread = ServerThread(server)
    thread.start()
    try:
        yield server
    finally:
        thread.stop()


def start_bot(server: LocalBotApi, data_dir: Path, *, now: str, rate_limit: float) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CANBO_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=server.base_url,
        CANBO_DATA_DIR=str(data_dir),
        CANBO_NOW=now,
        CANBO_WORKFLOW_TICK_S="1",
        CANBO_TELEGRAM_RATE_LIMIT=str(rate_limit),
        CANBO_LOG_LEVEL="WARNING",
        OMP_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONPATH=str(ROOT),
    )
    log = (data_dir / "bot.log").open("ab")
    polls = server.world.calls["getUpdates"]
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"], env=env, cwd=data_dir, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 180
    while server.world.calls["getUpdates"] <= polls:
        if bot.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the bot did not start; see {data_dir / 'bot.log'}")
        time.sleep(0.05)
    return bot


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(bot: subprocess.Popen[bytes]) -> None:
    bot.terminate()
    try:
        bot.wait(20)
    except subprocess.TimeoutExpired:
        bot.kill()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Conversation:
    """One simulated cadre going through /danhgia; each step waits for the bot's next message."""

    def __init__(self, server: LocalBotApi, uid: int, latencies: list[float], lock: threading.Lock) -> None:
        self.world = server.world
        self.uid = uid
        self.latencies = latencies
        self.lock = lock

    def _after(self) -> int:
        return self.world.version

    def _wait(self, after: int, fragment: str) -> ChatMessage:
        """Poll (20 ms) the chat's messages changed since world version `after`: cheap, and never holds the
        world's lock while waiting (a blocking wait per simulated user would starve the local API's thread)."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            for m in self.world.changed_messages(self.uid, after):
                if m.from_bot and fragment in m.body:
                    return m
            time.sleep(0.02)
        raise TimeoutError(f"user {self.uid}: no {fragment!r}")

    def _step(self, act: Callable[[], object], fragment: str) -> ChatMessage:
        after = self._after()
        started = time.perf_counter()
        act()
        reply = self._wait(after, fragment)
        with self.lock:
            self.latencies.append(time.perf_counter() - started)
        return reply

    def _press(self, message: ChatMessage, prefix: str, fragment: str) -> ChatMessage:
        text = next(b for b in message.button_texts if b.startswith(prefix))
        return self._step(
            lambda: self.world.press_button(self.uid, self.uid, message.message_id, text=text), fragment
        )

    def run(self) -> None:
        card = self._step(lambda: self.world.send_text(self.uid, "/danhgia"), "Tự đánh giá kỳ")
        ask = self._press(card, "1.", "Kết quả thực hiện?")
        note = self._press(ask, "✅ Đúng hạn", "Gõ ghi chú")
        ask = self._press(note, "Bỏ qua", "Kết quả thực hiện?")
        note = self._press(ask, "✅ Đúng hạn", "Gõ ghi chú")
        ask = self._press(note, "Bỏ qua", "Chấm điểm")
        ask = self._press(ask, "18", "Chấm điểm")
        ask = self._step(lambda: self.world.send_text(self.uid, "63"), "Chấm điểm")
        card = self._press(ask, "5", "Tự đánh giá kỳ")
        confirm = self._press(card, "📤", "Kiểm tra trước khi gửi")
        self._press(confirm, "✅ Gửi", "Đã gửi tự đánh giá")


def bench_self_assessment(users: int, rate_limit: float) -> None:
    with tempfile.TemporaryDirectory(prefix="canbo-bench-wf-") as tmp:
        data_dir = Path(tmp) / "data"
        t0 = time.perf_counter()
        uids = seed(data_dir, people=users, with_plans=True)
        print(f"seeded {users} cadres with plans in {time.perf_counter() - t0:.1f} s")
        server = LocalBotApi(token=TOKEN, bot_username="canbo_bench_bot")
        for uid in uids:
            server.world.add_user(uid, f"CB {uid % 100000}")
        with serving(server):
            bot = start_bot(server, data_dir, now="2026-11-02T09:30:00+07:00", rate_limit=rate_limit)
            try:
                # The day's reminder round (one message each) goes out first.
                server.world.wait_until(
                    lambda: all(
                        any("Nhắc việc" in m.body for m in server.world.bot_messages(u)) for u in uids
                    ),
                    600,
                )
                latencies: list[float] = []
                lock = threading.Lock()
                threads = [
                    threading.Thread(target=Conversation(server, uid, latencies, lock).run, daemon=True)
                    for uid in uids
                ]
                cpu_before = cpu_seconds(bot.pid)
                start = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                elapsed = time.perf_counter() - start
                cpu = cpu_seconds(bot.pid) - cpu_before
            finally:
                stop(bot)
        print(
            f"self-assessment, {users} users at once, bot rate cap {rate_limit:g}/s: {len(latencies)} steps in "
            f"{elapsed:.1f} s; step latency p50 {1000 * statistics.median(latencies):.0f} ms, "
            f"p95 {1000 * pct(latencies, 0.95):.0f} ms, max {1000 * max(latencies):.0f} ms; "
            f"bot CPU {1000 * cpu / len(latencies):.0f} ms per step; load average {os.getloadavg()[0]:.1f}"
        )


def bench_round(people: int, rate_limit: float) -> None:
    with tempfile.TemporaryDirectory(prefix="canbo-bench-round-") as tmp:
        data_dir = Path(tmp) / "data"
        t0 = time.perf_counter()
        uids = seed(data_dir, people=people, with_plans=False)
        print(f"seeded {people} signed-in people in {time.perf_counter() - t0:.1f} s")
        server = LocalBotApi(token=TOKEN, bot_username="canbo_bench_bot")
        for uid in uids:
            server.world.add_user(uid, f"CB {uid % 100000}")
        server.world.set_rate_limit(rate_limit or None)
        wanted = set(uids)
        with serving(server):
            bot = start_bot(server, data_dir, now="2026-10-02T09:00:00+07:00", rate_limit=rate_limit)
            try:
                cpu_before = cpu_seconds(bot.pid)
                first: float | None = None
                deadline = time.monotonic() + 3600
                while time.monotonic() < deadline:
                    got = {
                        u for u in wanted if any("Nhắc việc" in m.body for m in server.world.bot_messages(u))
                    }
                    if got and first is None:
                        first = time.perf_counter()
                    if len(got) == len(wanted):
                        break
                    time.sleep(1.0)
                finished = time.perf_counter()
                cpu = cpu_seconds(bot.pid) - cpu_before
                time.sleep(3)
                counts = [sum(1 for m in server.world.bot_messages(u) if "Nhắc việc" in m.body) for u in uids]
            finally:
                stop(bot)
        elapsed = finished - (first or finished)
        print(
            f"reminder round to {people} people, local API limit {rate_limit:g}/s: {elapsed:.0f} s "
            f"({people / elapsed if elapsed else float('nan'):.1f} msg/s; floor {people / rate_limit if rate_limit else 0:.0f} s); "
            f"429s answered {server.world.rejected_sends}; got exactly one: {sum(1 for c in counts if c == 1)}, "
            f"none: {sum(1 for c in counts if c == 0)}, more than one: {sum(1 for c in counts if c > 1)}; "
            f"bot CPU {1000 * cpu / people:.1f} ms per message; load average {os.getloadavg()[0]:.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rate-limit", type=float, default=30.0)
    parser.add_argument("--skip-round", action="store_true")
    parser.add_argument("--skip-self", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if not args.skip_self:
        bench_self_assessment(args.users, args.rate_limit)
    if not args.skip_round:
        bench_round(args.people, args.rate_limit)


if __name__ == "__main__":
    main()
