"""Records benchmark: one period's summary over 100,000 people (SQLite and Postgres), a 10,000-row Excel
export, and self-assessment submissions per second through the evaluation service.

Usage: .venv/bin/python bench/records.py [--people 100000] [--submissions 1000] [--skip-postgres]
Prints one line per figure; the Postgres part starts a throwaway cluster (as the tests do) when initdb exists.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests.pg

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.charts import render_summary_png
from records.db import make_engine
from records.demo import generate_demo_data
from records.evaluations import TaskInput, TaskResultInput, plan_tasks, submit_self_assessment
from records.export_xlsx import summary_xlsx_bytes
from records.migrate import upgrade
from records.rules import Rules, default_rules
from records.schema import TaskResult
from records.summary import PeriodSummary, summarize_period

TODAY = date(2026, 11, 15)  # demo periods 2026-09 and 2026-10; submissions go to 2026-11
PERIOD, NEW_PERIOD = "2026-10", "2026-11"
EXPORT_ROWS = 10_000
TIMEZONE = "Asia/Ho_Chi_Minh"  # the default CANBO_TIMEZONE
SUMMARY_INDEX = "ix_evaluation_summary"  # migration 0003


@dataclass
class Timing:
    wall: float  # median wall-clock seconds
    cpu: float  # median CPU seconds of this process (SQLite runs in-process)
    server: float | None  # median CPU seconds of the Postgres server processes, when measured
    result: object

    def __str__(self) -> str:
        text = f"median {self.wall:.3f} s wall, {self.cpu:.3f} s CPU"
        if self.server is not None:
            text += f" + {self.server:.3f} s Postgres server CPU"
        return text


def postgres_cpu(postmaster_pid: int) -> Callable[[], float]:
    """Cumulative CPU seconds of a Postgres postmaster and its children (backends, workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")

    def total() -> float:
        seconds = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == postmaster_pid or ppid == postmaster_pid:
                seconds += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        return seconds

    return total


def timed(fn: Callable[[], object], repeat: int = 5, server: Callable[[], float] | None = None) -> Timing:
    """Median wall, client CPU and (optionally) server CPU time over `repeat` runs, and the last result."""
    walls, cpus, servers, result = [], [], [], None
    for _ in range(repeat):
        before = server() if server else 0.0
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        servers.append((server() if server else 0.0) - before)
    return Timing(
        statistics.median(walls),
        statistics.median(cpus),
        statistics.median(servers) if server else None,
        result,
    )


def summary_figures(
    label: str, engine: Engine, rules: Rules, server: Callable[[], float] | None
) -> PeriodSummary:
    def summary_of(unit: str, people: bool = False) -> Callable[[], PeriodSummary]:
        def run() -> PeriodSummary:
            with Session(engine) as session:
                return summarize_period(
                    session, unit_code=unit, period=PERIOD, rules=rules, include_people=people
                )

        return run

    whole = timed(summary_of("TU-HN"), server=server)  # with the index the migrations create
    result = whole.result
    assert isinstance(result, PeriodSummary)
    print(
        f"[{label}] summary, whole city ({result.total.expected:,} people, {len(result.units):,} units, "
        f"with previous period): {whole}"
    )
    part = timed(summary_of("Q-BD"), server=server)
    assert isinstance(part.result, PeriodSummary)
    print(f"[{label}] summary, one district ({part.result.total.expected:,} people): {part}")
    print(
        f"[{label}] summary with a row per person (for Excel): {timed(summary_of('TU-HN', True), repeat=3, server=server)}"
    )
    with engine.begin() as conn:  # the same without the migrations' covering index, for comparison
        conn.execute(text(f"DROP INDEX {SUMMARY_INDEX}"))
        conn.execute(text("ANALYZE"))  # the statistics of the remaining indexes are unchanged
    print(
        f"[{label}] summary, whole city, without the index {SUMMARY_INDEX}: {timed(summary_of('TU-HN'), server=server)}"
    )
    with engine.begin() as conn:
        conn.execute(
            text(f"CREATE INDEX {SUMMARY_INDEX} ON evaluation (period, unit_id, state, late, final_grade)")
        )
        conn.execute(text("ANALYZE"))
    return result


def submissions(
    label: str,
    engine: Engine,
    rules: Rules,
    n: int,
    server: Callable[[], float] | None,
    *,
    workers: int = 1,
    offset: int = 10,
) -> None:
    """Plan one task for n people (setup), then submit each self-assessment in its own transaction.

    workers > 1 submits from that many threads at once, as the bot does from its worker pool."""
    with engine.connect() as conn:
        ids = [
            int(r[0])
            for r in conn.execute(
                text("SELECT id FROM person WHERE active ORDER BY id LIMIT :n OFFSET :o"),
                {"n": n, "o": offset},
            )
        ]
    plans: list[tuple[int, int, int]] = []
    with Session(engine) as session:
        for pid in ids:
            view = plan_tasks(
                session,
                actor_id=pid,
                person_id=pid,
                period=NEW_PERIOD,
                tasks=[TaskInput(title="Tham mưu báo cáo tháng", expected_result="Báo cáo đúng hạn")],
                rules=rules,
                now=datetime(2026, 11, 3, tzinfo=UTC),
            )
            plans.append((pid, view.id, view.tasks[0].id))
        session.commit()
    points = {"discipline": 18.0, "tasks": 62.0, "bonus": 4.0}
    server_before = server() if server else 0.0

    def submit(plan: tuple[int, int, int]) -> None:
        pid, evaluation_id, task_id = plan
        with Session(engine) as session:
            submit_self_assessment(
                session,
                actor_id=pid,
                evaluation_id=evaluation_id,
                rules=rules,
                results=[TaskResultInput(task_id=task_id, result=TaskResult.ON_TIME)],
                points=points,
                comment="Hoàn thành nhiệm vụ.",
                now=datetime(2026, 12, 2, tzinfo=UTC),
            )
            session.commit()

    start, cpu = time.perf_counter(), time.process_time()
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(submit, plans))
    else:
        for plan in plans:
            submit(plan)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    server_cpu = (server() - server_before) if server else 0.0
    print(
        f"[{label}] self-assessment submissions ({n} transactions, "
        f"{'sequential' if workers == 1 else f'{workers} threads'}): {n / elapsed:,.0f}/s wall; "
        f"{1000 * cpu / n:.1f} ms client CPU each"
        + (f" + {1000 * server_cpu / n:.1f} ms server CPU" if server else "")
        + f" = {n / (cpu + server_cpu):,.0f}/s per CPU-second"
    )


def run(
    label: str,
    url: str,
    people: int,
    n_submissions: int,
    rules: Rules,
    *,
    export: bool,
    server: Callable[[], float] | None = None,
) -> None:
    upgrade(url)
    engine = make_engine(url)
    start, cpu = time.perf_counter(), time.process_time()
    report = generate_demo_data(engine, people=people, seed=2026, months=2, today=TODAY, with_tasks=False)
    print(
        f"[{label}] demo data: {people:,} people, {report.counts['evaluations']:,} evaluations, "
        f"{report.counts['units']:,} units in {time.perf_counter() - start:.1f} s wall, "
        f"{time.process_time() - cpu:.1f} s CPU"
    )
    # The steady state after a bulk load: statistics gathered and, on Postgres, the visibility map set (what
    # autovacuum does after many inserts; index-only scans need it).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    summary = summary_figures(label, engine, rules, server)
    if export:
        with Session(engine) as session:
            full = summarize_period(
                session, unit_code="TU-HN", period=PERIOD, rules=rules, include_people=True
            )
        kept, rows = [], 0  # the first units of the tree, up to 10,000 person rows
        for unit in full.units:
            if rows >= EXPORT_ROWS:
                break
            kept.append(replace(unit, people=unit.people[: EXPORT_ROWS - rows]))
            rows += len(kept[-1].people)
        big = replace(full, units=tuple(kept))
        workbook = timed(lambda: summary_xlsx_bytes(big, tz=TIMEZONE), repeat=3)
        assert isinstance(workbook.result, bytes)
        sheets = min(100, sum(1 for u in big.units if u.people))  # build_summary_workbook's max_unit_sheets
        print(f"Excel export of {rows:,} person rows ({sheets} unit sheets + overflow): {workbook}")
        chart = timed(lambda: render_summary_png(summary), repeat=3)
        assert isinstance(chart.result, bytes)
        print(f"PNG chart of the whole-city summary: {chart}, {len(chart.result):,} bytes")
    submissions(label, engine, rules, n_submissions, server)
    submissions(label, engine, rules, n_submissions, server, workers=4, offset=10 + n_submissions)
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--submissions", type=int, default=1_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    rules = default_rules()
    print(
        f"records bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{tmp}/bench.db", args.people, args.submissions, rules, export=True)
    if args.skip_postgres:
        return 0
    from tests.pg import PgCluster

    cluster = PgCluster()
    if not cluster.available:
        print("[Postgres] skipped: initdb/pg_ctl not installed")
        return 0
    cluster.start()
    try:
        postmaster = int((cluster.dir / "data" / "postmaster.pid").read_text().split()[0])
        url = cluster.create_database("bench")
        run(
            "Postgres",
            url,
            args.people,
            args.submissions,
            rules,
            export=False,
            server=postgres_cpu(postmaster),
        )
    finally:
        cluster.stop()
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
