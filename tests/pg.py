"""A throwaway PostgreSQL cluster for the test session (initdb + pg_ctl as the postgres user)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """Start with `start()`, stop with `stop()`; `url` is a SQLAlchemy URL for the `postgres` database."""

    def __init__(self) -> None:
        self.initdb = _pg_bin("initdb")
        self.pg_ctl = _pg_bin("pg_ctl")
        self.dir = Path(tempfile.mkdtemp(prefix="canbo-pg-"))
        self.port = _free_port()
        self.started = False

    @property
    def available(self) -> bool:
        return bool(self.initdb and self.pg_ctl)

    def _as_postgres(self, cmd: list[str]) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres")
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        assert self.initdb and self.pg_ctl
        data = self.dir / "data"
        self._as_postgres(
            [self.initdb, "-D", str(data), "--auth=trust", "-E", "UTF8", "--no-sync", "-U", "postgres"]
        )
        self.resume()
        return self.url

    def resume(self) -> None:
        """Start the server on its existing data (after `start` then `pause`)."""
        assert self.pg_ctl
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c max_connections=200"
        )
        self._as_postgres(
            [
                self.pg_ctl,
                "-D",
                str(self.dir / "data"),
                "-w",
                "-l",
                str(self.dir / "log"),
                "start",
                "-o",
                opts,
            ]
        )
        self.started = True

    def pause(self) -> None:
        """Stop the server as a crash would, keeping its data for `resume`."""
        if self.started and self.pg_ctl:
            self._as_postgres([self.pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "stop"])
            self.started = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}"')
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.started and self.pg_ctl:
            self._as_postgres([self.pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "stop"])
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


def started_cluster() -> PgCluster:
    """A started cluster of the caller's own (to stop and restart; the caller stops it). Skipped where
    PostgreSQL is not installed, failed in CI, where .ci/run installs it."""
    cluster = PgCluster()
    if not cluster.available:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL (initdb, pg_ctl) is required in CI: .ci/run installs it")
        pytest.skip("PostgreSQL binaries not installed (apt-get install postgresql)")
    cluster.start()
    return cluster
