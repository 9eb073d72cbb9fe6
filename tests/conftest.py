"""Suite-wide fixtures: fail on ERROR log records, a throwaway Postgres, temp data dirs."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import pytest

from tests.pg import PgCluster, started_cluster

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_error_logs: the test expects ERROR log records")


@pytest.fixture(autouse=True)
def fail_on_error_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    """PTB and others swallow exceptions into ERROR logs: a test that produced one fails."""
    collector = _ErrorCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield
    finally:
        root.removeHandler(collector)
    if collector.records and request.node.get_closest_marker("allow_error_logs") is None:
        lines = "\n".join(f"{r.name}: {r.getMessage()}" for r in collector.records[:5])
        pytest.fail(f"ERROR log records during the test:\n{lines}")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = started_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(pg_cluster: PgCluster) -> str:
    """A fresh, empty database on the session's throwaway cluster."""
    return pg_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")
