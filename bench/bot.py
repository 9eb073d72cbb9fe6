"""Bot benchmark through the local Bot API: Q&A replies/s, p50/p95 reply latency, the bot's memory (RSS).

Starts the local Bot API in this process and the real `canbo run` as a subprocess (data in a temporary
directory, sample corpus loaded), then simulates N users, each asking a question, waiting for the reply
and asking the next one, for a fixed duration per load level. With `--think 0` (closed loop) every user asks
again at once: that measures capacity, and latency is then queueing (users / throughput). With `--think S`
each user reads the answer for a random time (exponential, mean S seconds) before asking again, as people do:
50 users with a 1.5 s think time offer about 30 questions/s, and p50/p95 are the reply latency at that load
(users start at random times too, as independent people do). Finally every user asks at the same instant
once, and the time until the last of those answers is printed (a burst drains at the capacity).

    .venv/bin/python bench/bot.py [--users 50 200] [--seconds 20] [--think 0 1.5] [--rate-limit 30]

`--rate-limit` is the bot's own outgoing cap (CANBO_TELEGRAM_RATE_LIMIT; Telegram allows about 30 msg/s);
0 measures raw capacity.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.localapi import LocalBotApi, ServerThread  # noqa: E402

TOKEN = "123456:AAE_bench-token-for-the-local-bot-api-0123456789"
QUESTIONS = [
    "Thời gian luân chuyển cán bộ là bao lâu?",
    "luan chuyen can bo bao nhieu nam",
    "Cán bộ được đánh giá xếp loại hằng tháng theo những tiêu chí nào?",
    "Mức hoàn thành xuất sắc nhiệm vụ là bao nhiêu điểm?",
    "Ai có thẩm quyền quyết định xếp loại cán bộ hằng tháng?",
    "Chương trình hành động của cán bộ gồm những nội dung gì?",
    "Tỷ lệ xếp loại hoàn thành xuất sắc nhiệm vụ tối đa là bao nhiêu?",
    "Đánh giá cán bộ luân chuyển định kỳ như thế nào?",
    "Kiểm điểm đánh giá hằng năm theo quy định 366",
    "danh gia can bo hang thang",
]


def rss_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process in KiB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_level(
    server: LocalBotApi, user_ids: list[int], seconds: float, think: float = 0.0
) -> dict[str, float]:
    """Every user keeps asking for `seconds`, waiting for each reply and then `think` seconds on average."""
    world = server.world
    lock = threading.Lock()
    changed = threading.Event()
    world.add_listener(changed.set)
    outstanding: dict[int, tuple[int, float]] = {}  # user → (world version after sending, sent at)
    latencies: list[float] = []
    counter = 0
    thinking: dict[int, float] = {}  # user → when they ask again
    rng = random.Random(len(user_ids))

    def ask(user_id: int) -> None:
        nonlocal counter
        question = QUESTIONS[counter % len(QUESTIONS)]
        counter += 1
        world.send_text(user_id, question)
        outstanding[user_id] = (world.version, time.perf_counter())

    start = time.perf_counter()
    with lock:
        for user_id in user_ids:
            if think > 0:  # users arrive at random, as they would: no burst of every user at once
                thinking[user_id] = start + rng.expovariate(1.0 / think)
            else:
                ask(user_id)
    deadline = start + seconds
    finished_at = deadline
    while True:
        changed.wait(0.01 if thinking else 0.05)
        changed.clear()
        time.sleep(0.005)  # batch changes: keep this loop from competing with the server and the bot
        now = time.perf_counter()
        for user_id, (version, sent_at) in list(outstanding.items()):
            if not any(m.from_bot for m in world.changed_messages(user_id, version)):
                continue
            latencies.append(now - sent_at)
            del outstanding[user_id]
            if now < deadline:
                if think > 0:
                    thinking[user_id] = now + rng.expovariate(1.0 / think)
                else:
                    ask(user_id)
        for user_id, at in list(thinking.items()):
            if now >= at:
                del thinking[user_id]
                if now < deadline:
                    ask(user_id)
        if now >= deadline and (not outstanding or now > deadline + 30):
            finished_at = now
            break
    world.remove_listener(changed.set)
    elapsed = finished_at - start
    latencies.sort()
    return {
        "users": len(user_ids),
        "replies": len(latencies),
        "seconds": elapsed,
        "replies_per_s": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000 if latencies else float("nan"),
        "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
        "lost": len(outstanding),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--think",
        type=float,
        nargs="+",
        default=[0.0],
        help="mean think time(s) between a reply and the next question",
    )
    parser.add_argument("--rate-limit", type=float, default=0.0, help="bot's outgoing cap (0 = none)")
    args = parser.parse_args()

    server = LocalBotApi(token=TOKEN, bot_username="canbo_bench_bot")
    thread = ServerThread(server)
    thread.start()
    max_users = max(args.users)
    user_ids = [8_000_000_000 + i for i in range(max_users)]
    for user_id in user_ids:
        server.world.add_user(user_id, f"Người dùng {user_id % 1000}")

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CANBO_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE=server.base_url,
            CANBO_DATA_DIR=str(data_dir),
            CANBO_TELEGRAM_RATE_LIMIT=str(args.rate_limit),
            CANBO_LOG_LEVEL="WARNING",
            OMP_NUM_THREADS="1",
            PYTHONPATH=str(ROOT),
        )
        log_path = Path(tmp) / "bot.log"
        with log_path.open("wb") as log_file:
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"],
                env=env,
                cwd=tmp,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            started = time.perf_counter()
            while server.world.calls["getUpdates"] < 1:
                if bot.poll() is not None:
                    print(log_path.read_text()[-3000:])
                    return 1
                time.sleep(0.1)
            print(f"bot ready in {time.perf_counter() - started:.1f} s (sample corpus loaded)")
            idle_rss, _ = rss_kib(bot.pid)
            run_level(server, user_ids[:5], 3.0)  # warm-up
            results = []
            for users, think in [(u, t) for t in args.think for u in args.users]:
                cpu_before, own_before = cpu_seconds(bot.pid), time.process_time()
                result = run_level(server, user_ids[:users], args.seconds, think)
                cpu_ms = (cpu_seconds(bot.pid) - cpu_before) * 1000 / max(1, result["replies"])
                own_ms = (time.process_time() - own_before) * 1000 / max(1, result["replies"])
                results.append(result)
                print(
                    f"{users:4d} users, think {think:.1f} s: {result['replies_per_s']:6.1f} replies/s, "
                    f"p50 {result['p50_ms']:6.0f} ms, p95 {result['p95_ms']:6.0f} ms, "
                    f"bot CPU {cpu_ms:.0f} ms/reply, local API and users {own_ms:.0f} ms/reply "
                    f"({result['replies']} replies in {result['seconds']:.1f} s, {result['lost']} unanswered)"
                )
            for users in args.users:  # everyone asking at the same instant (a meeting, a group announcement)
                burst = run_level(server, user_ids[:users], 0.0, 0.0)
                print(
                    f"{users:4d} questions at the same instant: p50 {burst['p50_ms']:6.0f} ms, "
                    f"p95 {burst['p95_ms']:6.0f} ms, last answered after {burst['max_ms']:.0f} ms"
                )
            rss, peak = rss_kib(bot.pid)
            print(
                f"bot RSS: idle {idle_rss / 1024:.0f} MiB, after load {rss / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB"
            )
            print(
                f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                f"load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
                f"bot rate limit {args.rate_limit or 'none'} msg/s"
            )
        finally:
            bot.terminate()
            try:
                bot.wait(15)
            except subprocess.TimeoutExpired:
                bot.kill()
            thread.stop()
    return 0


def _terminate_on_signal() -> None:
    """SIGTERM runs the `finally` blocks (so the bot subprocess is stopped too)."""
    import signal

    def raise_exit(signum: int, frame: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, raise_exit)


if __name__ == "__main__":
    _terminate_on_signal()
    sys.exit(main())
