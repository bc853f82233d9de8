"""A PostgreSQL server of the tests' own: `initdb` + `pg_ctl` from /usr/lib/postgresql/*/bin on
a free port, data in a fresh temporary folder, stopped at the end of the session. PostgreSQL
refuses to run as root, so as root the server runs as the `postgres` user. Each test that asks
for `pg_url` gets a database of its own.

Import the fixtures into a conftest: `from tests.pg import pg_url, postgres  # noqa: F401`.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.harness import free_port

INSTALL_HINT = "apt-get install postgresql   (Debian/Ubuntu; any version >= 12)"


def _bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if os.access(Path(c) / "initdb", os.X_OK):
            return Path(c)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found. Install: {INSTALL_HINT}")


@dataclass
class Postgres:
    bindir: Path
    datadir: Path
    port: int
    as_user: list[str]

    def _run(self, *argv: str) -> None:
        subprocess.run([*self.as_user, *argv], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.datadir / "data"), "-U", "postgres",
            "-A", "trust", "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        opts = (
            f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        try:
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.datadir / "data"), "-o", opts,
                "-l", str(self.datadir / "postgres.log"), "-w", "-t", "30", "start",
            )  # fmt: skip
        except subprocess.CalledProcessError as e:
            log = self.datadir / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start: {e.stderr!r}\n{tail}")

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir / "data"),
             "-m", "fast", "-w", "stop"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def create_database(self) -> str:
        name = f"gw_{uuid.uuid4().hex[:10]}"
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server for the session, on a free port, data in a temp folder."""
    bindir = _bindir()
    datadir = Path(tempfile.mkdtemp(prefix="gw-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.fail("running as root and `runuser` is missing: cannot start PostgreSQL")
        shutil.chown(datadir, "postgres", "postgres")
        as_user = [runuser, "-u", "postgres", "--"]
    server = Postgres(bindir, datadir, free_port(), as_user)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: Postgres) -> str:
    """A fresh, empty database on the session's PostgreSQL."""
    return postgres.create_database()
