"""Fuzz run: random messages and button presses through the real bot and the local Bot API.

Seeds the hostile-input organisation (tests/hostile/conftest.py: unit BD holds a submitted and a draft
evaluation, an action programme, a rotation under review, a hand-off and a staged roster; unit HK and a
stranger attack), starts the real `canbo run` against the local Bot API, then lets the people of unit HK and the
stranger act at random, each waiting until the bot has finished with one update before sending the next:
pressing the buttons the bot showed them, typing commands, questions, plan lines, HTML, over-long and junk text,
forging callback data for every button family with BD's record ids, sharing contacts and uploading files. Half
way through the bot is killed (SIGKILL) and restarted, as a crash would.

It prints, with the figures:
- unhandled errors: ERROR log records or tracebacks in the bot's output, replies carrying an incident id, and
  updates the bot never finished (target 0);
- cross-unit reads: replies or button answers to an attacker that name a BD person or show a BD record's
  content (target 0);
- cross-unit writes: BD rows changed, removed or added to (evaluations and their tasks, the programme and its
  items and progress, the rotation and its reviews, BD people, roles, links and units, the staged roster, BD's
  answers, feedback and hand-offs) (target 0).

    .venv/bin/python bench/fuzz.py [--actions 10000] [--seed 1] [--no-restart]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from records.db import make_engine  # noqa: E402
from tests.fakes.telegram import BotProcess, FakeTelegram  # noqa: E402
from tests.hostile.conftest import BD_NAMES, NOW, STRANGER, USERS, seed  # noqa: E402
from tests.hostile.test_forged_callbacks import aimed_at_bd  # noqa: E402

ACTORS = {code: USERS[code] for code in ("HK01", "HK02", "HK03", "HK04")} | {"stranger": STRANGER}
# What only BD's records contain: their people's names and the seeded content (the seeded comment «Hoàn thành
# tốt nhiệm vụ» is left out: it is also a grade the regulations name).
BD_MARKERS = (*BD_NAMES, "Báo cáo tổ chức của BD", "Số hóa hồ sơ")
INCIDENT_MARK = "Mã sự cố"
WAIT_S = 180.0  # an update not finished within this (a restart included) counts as unhandled

QUESTIONS = (
    "Thời gian luân chuyển cán bộ là bao lâu?",
    "luan chuyen can bo bao nhieu nam",
    "Tiêu chí đánh giá xếp loại hằng tháng?",
    "Ai quyết định xếp loại cán bộ?",
    "Chương trình hành động gồm những gì?",
    "phụ cấp",
    "Điều 5",
    "khoản 2 Điều 3 Quy định 366",
)
JUNK = (
    "<b>đậm</b> <script>alert(1)</script>",
    "&lt;i&gt; &amp; &#x3C;",
    '<a href="tg://user?id=1">bấm</a>',
    "🙂🙃🔥" * 30,
    "\u200b\u202e\u0000 lạ",
    "1",
    "0",
    "-1",
    "99999999999999999999",
    "31/02",
    "25/11",
    "A",
    "hủy",
    "/huy",
    "có",
    "không",
    "Báo cáo quý | Trình Thường trực | 25/10",
    "| | |",
    "||||||||||||||||||||||||",
    "Việc mới | Kết quả | 40/40/40",
    "Lý do: chưa đạt",
    "Cam kết | 100% | 30/06/2027",
    "NĐ 118/2024",
    "0904000004",
    "+84904000004",
    " ",
)
UNKNOWN_COMMANDS = ("/xoa", "/admin", "/start abc", "/start " + "x" * 70, "/trogiup@other_bot", "/toi 1 2 3")
FAMILIES = ("kh", "dg", "dy", "ct", "lc", "kq", "qa", "doc", "roster", "md", "menu", "zz")


@dataclass
class Tally:
    actions: Counter[str] = field(default_factory=Counter)
    unfinished: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def bd_rows(engine: Engine) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Every row that belongs to unit BD, keyed by table and primary key."""
    bd_people = "SELECT p.id FROM person p JOIN unit u ON u.id = p.unit_id WHERE u.code IN ('BD', 'BDP')"
    evaluations = f"SELECT id FROM evaluation WHERE person_id IN ({bd_people})"
    programmes = f"SELECT id FROM action_programme WHERE person_id IN ({bd_people})"
    items = f"SELECT id FROM action_item WHERE programme_id IN ({programmes})"
    rotations = f"SELECT id FROM rotation WHERE person_id IN ({bd_people})"
    bd_answers = (
        "SELECT a.id FROM bot_answer a JOIN telegram_link l ON l.telegram_user_id = a.user_id"
        f" WHERE l.person_id IN ({bd_people})"
    )
    queries = {
        "unit": "SELECT * FROM unit WHERE code IN ('BD', 'BDP')",
        "person": f"SELECT * FROM person WHERE id IN ({bd_people})",
        "telegram_link": f"SELECT * FROM telegram_link WHERE person_id IN ({bd_people})",
        "role_assignment": f"SELECT * FROM role_assignment WHERE person_id IN ({bd_people})",
        "evaluation": f"SELECT * FROM evaluation WHERE id IN ({evaluations})",
        "evaluation_task": f"SELECT * FROM evaluation_task WHERE evaluation_id IN ({evaluations})",
        "action_programme": f"SELECT * FROM action_programme WHERE id IN ({programmes})",
        "action_item": f"SELECT * FROM action_item WHERE id IN ({items})",
        "action_progress": f"SELECT * FROM action_progress WHERE item_id IN ({items})",
        "rotation": f"SELECT * FROM rotation WHERE id IN ({rotations})",
        "rotation_review": f"SELECT * FROM rotation_review WHERE rotation_id IN ({rotations})",
        "roster_upload": "SELECT * FROM roster_upload",
        "bot_answer": f"SELECT * FROM bot_answer WHERE id IN ({bd_answers})",
        "bot_feedback": f"SELECT * FROM bot_feedback WHERE answer_id IN ({bd_answers})",
        "bot_handoff": f"SELECT * FROM bot_handoff WHERE answer_id IN ({bd_answers})",
    }
    rows: dict[tuple[str, str], tuple[Any, ...]] = {}
    with engine.connect() as conn:
        for table, sql in queries.items():
            result = conn.execute(text(sql))
            keys = list(result.keys())
            for row in result:
                values = dict(zip(keys, row, strict=True))
                key = str(values.get("id", values.get("answer_id", "")))
                if table == "bot_feedback":
                    key = f"{values['answer_id']}:{values['user_id']}"
                rows[(table, key)] = tuple(row)
    return rows


def random_callback(rng: random.Random, forged: list[str]) -> str:
    """BD's record ids in every family's shape, or a random shape of a random family."""
    if rng.random() < 0.6:
        return rng.choice(forged)
    parts = [rng.choice(FAMILIES)]
    for _ in range(rng.randint(0, 4)):
        parts.append(
            rng.choice(
                (
                    str(rng.randint(-5, 10**6)),
                    rng.choice(("open", "ok", "del", "send", "full", "up", "down", "2026-10", "x", "")),
                    "".join(rng.choice("abc019:-_") for _ in range(rng.randint(1, 12))),
                )
            )
        )
    return ":".join(parts)[:64]


class Fuzzer:
    def __init__(self, telegram: FakeTelegram, db_url: str, forged: list[str], tally: Tally):
        self.telegram = telegram
        self.world = telegram.world
        self.engine = make_engine(db_url)
        self.forged = forged
        self.tally = tally
        self.send_lock = threading.Lock()  # each action's update id is the newest one while it is held

    def finished(self, update_id: int) -> bool:
        with self.engine.connect() as conn:
            status = conn.execute(
                text("SELECT status FROM bot_update WHERE update_id = :u"), {"u": update_id}
            ).scalar()
        return status == "done"

    def act(self, rng: random.Random, who: str, uid: int) -> None:
        world = self.world
        since = world.version
        kind = rng.choices(
            ("press", "command", "text", "forge", "contact", "upload"), (40, 14, 24, 16, 3, 3)
        )[0]
        buttons: list[tuple[int, str]] = []
        if kind == "press":
            for message in world.bot_messages(uid)[-6:]:
                buttons += [
                    (message.message_id, b["callback_data"])
                    for row in message.inline_keyboard
                    for b in row
                    if "callback_data" in b
                ]
            if not buttons:
                kind = "command"
        with self.send_lock:
            if kind == "press":
                message_id, data = rng.choice(buttons)
                world.press_button(uid, uid, message_id, data=data)
            elif kind == "forge":
                anchors = world.bot_messages(uid)
                if anchors:
                    world.forge_callback(
                        uid, uid, rng.choice(anchors).message_id, random_callback(rng, self.forged)
                    )
                else:
                    kind = "command"
            if kind == "command":
                commands = [f"/{c['command']}" for c in world.commands_for(uid)] or ["/start"]
                world.send_text(uid, rng.choice([*commands, *commands, *UNKNOWN_COMMANDS]))
            elif kind == "text":
                pool = rng.random()
                if pool < 0.35:
                    typed = rng.choice(QUESTIONS)
                elif pool < 0.9:
                    typed = rng.choice(JUNK)
                else:
                    typed = "Nội dung rất dài " * rng.randint(250, 400)
                world.send_text(uid, typed)
            elif kind == "contact":
                if rng.random() < 0.5 and world.user(uid).phone_number:
                    world.share_contact(uid)
                else:  # someone else's card: a BD person's number
                    world.share_contact(uid, phone_number="+84904000004", contact_user_id=USERS["BD03"])
            elif kind == "upload":
                name = rng.choice(("ds.csv", "ds.xlsx", "vb.pdf", "vb.docx", "anh.jpg", "tep"))
                world.upload_document(uid, rng.randbytes(rng.randint(1, 4096)), name)
            update_id = world.last_update_id
        self.tally.actions[kind] += 1
        deadline = time.monotonic() + WAIT_S
        while not self.finished(update_id):
            if time.monotonic() > deadline:
                with self.tally.lock:
                    self.tally.unfinished.append(f"{who} {kind} update {update_id}")
                return
            time.sleep(0.02)
        seen = [m.body for m in world.changed_messages(uid, since) if m.from_bot]
        seen += [a.text or "" for a in world.changed_answers(uid, since)]
        with self.tally.lock:
            for body in seen:
                if INCIDENT_MARK in body:
                    self.tally.incidents.append(f"{who} {kind}: {body[:160]!r}")
                leaked = [m for m in BD_MARKERS if m in body]
                if leaked:
                    self.tally.reads.append(f"{who} {kind}: {leaked} in {body[:160]!r}")

    def run(self, who: str, uid: int, count: int, seed_value: int) -> None:
        rng = random.Random(seed_value)
        for _ in range(count):
            self.act(rng, who, uid)


def bot_errors(log_path: Path) -> tuple[list[str], Counter[str]]:
    """ERROR records (a traceback without one counts too), and the exceptions the tracebacks end with."""
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines() if log_path.exists() else []
    errors: list[str] = []
    exceptions: Counter[str] = Counter()
    previous = ""
    for line in lines:
        if " ERROR " in line or (line.startswith("Traceback") and " ERROR " not in previous):
            errors.append(line)
        elif (
            line
            and not line[0].isspace()
            and not line[0].isdigit()
            and not line.startswith(("Traceback", "During handling", "The above exception"))
        ):
            exceptions[line[:200]] += 1
        if line and not line[0].isspace() and not line.startswith("Traceback"):
            previous = line
    return errors, exceptions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--actions", type=int, default=10_000, help="updates sent in all (split among actors)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-restart", action="store_true", help="no kill -9 half way")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="canbo-fuzz-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        db_url = f"sqlite:///{(data_dir / 'canbo.db').resolve()}"
        seeded = seed(db_url)
        engine = make_engine(db_url)
        before = bd_rows(engine)
        env = {"CANBO_NOW": NOW.isoformat()}
        tally = Tally()
        with FakeTelegram() as telegram:
            for code, uid in USERS.items():
                telegram.world.add_user(uid, code)
            telegram.world.add_user(STRANGER, "Người lạ", phone_number="+84912345678")
            bots = [
                BotProcess(telegram, data_dir, env=env, log_path=data_dir / "bot-1.log").start(timeout=300)
            ]
            fuzzer = Fuzzer(telegram, db_url, aimed_at_bd(seeded), tally)
            started = time.monotonic()  # the restart half way is inside the time
            share = args.actions // len(ACTORS)
            halves = [share // 2, share - share // 2] if not args.no_restart else [share]
            for phase, count in enumerate(halves):
                if phase:
                    bots[-1].kill9()  # mid-conversation for most actors
                    log_path = data_dir / f"bot-{phase + 1}.log"
                    bots.append(BotProcess(telegram, data_dir, env=env, log_path=log_path).start(timeout=300))
                threads = [
                    threading.Thread(
                        target=fuzzer.run, args=(who, uid, count, args.seed * 1000 + i + 100 * phase)
                    )
                    for i, (who, uid) in enumerate(ACTORS.items())
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            bots[-1].stop()
            fuzzer.engine.dispose()
        elapsed = time.monotonic() - started
        after = bd_rows(engine)
        engine.dispose()
        errors: list[str] = []
        exceptions: Counter[str] = Counter()
        for bot in bots:
            found, raised = bot_errors(bot.log_path)
            errors += found
            exceptions.update(raised)
        writes = sorted(
            f"{table} {key}: {'removed' if (table, key) not in after else 'changed'}"
            for table, key in before
            if after.get((table, key)) != before[(table, key)]
        ) + sorted(f"{table} {key}: added" for table, key in after if (table, key) not in before)

    total = sum(tally.actions.values())
    unhandled = len(errors) + len(tally.incidents) + len(tally.unfinished)
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; seed {args.seed}; restarts {len(halves) - 1}")
    print(f"updates sent: {total} in {elapsed:.0f} s ({total / elapsed:.1f}/s) by {len(ACTORS)} actors")
    print("  by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.actions.items())))
    print(f"  BD rows watched: {len(before)}")
    print(
        f"unhandled errors: {unhandled} (log errors {len(errors)}, incident replies {len(tally.incidents)},"
        f" unfinished updates {len(tally.unfinished)})"
    )
    print(f"cross-unit reads: {len(tally.reads)}")
    print(f"cross-unit writes: {len(writes)}")
    for line, count in exceptions.most_common(10):
        print(f"  exception ×{count}: {line}")
    for title, lines in (
        ("log errors", errors),
        ("incident replies", tally.incidents),
        ("unfinished", tally.unfinished),
        ("reads", tally.reads),
        ("writes", writes),
    ):
        for line in lines[:15]:
            print(f"  {title}: {line}")
    sys.exit(1 if unhandled or tally.reads or writes else 0)


if __name__ == "__main__":
    main()
