"""Playground set-up: a separate demo data directory, seeding through the real `canbo` subcommands, personas."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from bot.playground import (
    SEED_MARKER,
    SeedStep,
    bot_environment,
    demo_personas,
    make_token,
    playground_data_dir,
)
from bot.settings import TOKEN_PATTERN, Settings
from records.db import make_engine
from records.demo import DEMO_ACCOUNTS
from records.schema import Person


def test_environment_points_the_bot_only_at_the_demo_directory(tmp_path: Path) -> None:
    real = {
        "CANBO_DATABASE_URL": "postgresql+psycopg://prod/canbo",
        "CANBO_CHROMA_URL": "http://chroma:8000",
        "CANBO_WEBHOOK_URL": "https://bot.example.vn/telegram",
        "TELEGRAM_BOT_TOKEN": "111111:" + "r" * 35,
        "CANBO_LLM_MODEL": "qwen",
    }
    token = make_token()
    env = bot_environment(data_dir=tmp_path / "demo", token=token, api_base="http://127.0.0.1:9", base=real)
    assert TOKEN_PATTERN.match(token)
    assert env["TELEGRAM_BOT_TOKEN"] == token and env["TELEGRAM_API_BASE"] == "http://127.0.0.1:9"
    assert env["CANBO_DATA_DIR"] == str(tmp_path / "demo")
    assert env["CANBO_DATABASE_URL"] == env["CANBO_CHROMA_URL"] == env["CANBO_WEBHOOK_URL"] == ""
    assert env["CANBO_LLM_MODEL"] == "qwen"  # other configuration carries over
    settings = Settings(_env_file=None, CANBO_DATA_DIR=tmp_path / "real")  # type: ignore[call-arg]
    assert playground_data_dir(settings) == (tmp_path / "real" / "playground").resolve()


def test_seeding_runs_each_step_once_and_reports_missing_commands(tmp_path: Path) -> None:
    from bot.playground import seed_demo_data

    data_dir = tmp_path / "playground"
    env = bot_environment(data_dir=data_dir, token=make_token(), api_base="http://127.0.0.1:9")
    steps = [
        SeedStep("demo-data", ("demo-data", "--people", "20")),
        SeedStep("no-such-step", ("no-such-command",), optional=True),
    ]
    with (tmp_path / "seed.log").open("ab") as log_file:
        first = seed_demo_data(data_dir, env=env, steps=steps, log_file=log_file)
        again = seed_demo_data(data_dir, env=env, steps=steps[:1], log_file=log_file)
    assert (first.done, first.missing, first.failed) == (["demo-data"], ["no-such-step"], [])
    assert (again.done, again.missing, again.failed) == (["demo-data"], [], [])  # not run twice
    assert json.loads((data_dir / SEED_MARKER).read_text()) == ["demo-data"]
    engine = make_engine(f"sqlite:///{data_dir / 'canbo.db'}")
    with Session(engine) as session:
        people = session.execute(select(func.count()).select_from(Person)).scalar_one()
        codes = {person.cadre_code for person in session.execute(select(Person)).scalars()}
    engine.dispose()
    assert people >= 20
    assert {a.cadre_code for a in DEMO_ACCOUNTS} <= codes


def test_personas_are_the_demo_accounts() -> None:
    personas = demo_personas()
    assert [p.role for p in personas] == [a.role for a in DEMO_ACCOUNTS]
    assert [p.phone for p in personas] == ["+84" + a.phone[1:] for a in DEMO_ACCOUNTS]
    assert len({p.user_id for p in personas}) == len(personas)


def test_cli_parses_the_playground_subcommand() -> None:
    from bot import cli_playground
    from bot.cli import build_parser

    args = build_parser().parse_args(["playground", "--port", "0", "--people", "40"])
    assert (args.handler, args.port, args.people, args.host) == (cli_playground.run, 0, 40, "127.0.0.1")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_children_die_with_their_parent(tmp_path: Path) -> None:
    """A hard-killed playground (or pytest) leaves no orphan bot polling forever."""
    pid_file = tmp_path / "child.pid"
    parent_code = (
        "import subprocess, sys, time\n"
        "from bot.playground import die_with_parent\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], preexec_fn=die_with_parent)\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the parent did not start its child"
            time.sleep(0.05)
        child_pid = int(pid_file.read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child_pid}").exists() and "zombie" not in _state(child_pid):
            assert time.monotonic() < deadline, "the child outlived its parent"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()


def _state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    return next((line for line in status.splitlines() if line.startswith("State:")), "").lower()


def test_a_busy_port_falls_back_to_a_free_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    import socket

    from bot.playground import Playground

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        settings = Settings(_env_file=None, CANBO_DATA_DIR=tmp_path)  # type: ignore[call-arg]
        playground = Playground(settings, port=taken, seed_steps=[])

        async def scenario() -> int:
            await playground.start_server()
            try:
                return playground.server.port
            finally:
                await playground.stop()

        port = asyncio.run(scenario())
    assert port not in (taken, 0)
    assert f"Cổng {taken} đang bận" in capsys.readouterr().out
    assert playground.url == f"http://127.0.0.1:{port}/playground/"
