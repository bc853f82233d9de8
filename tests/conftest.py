"""Real services for the integration tier: Mosquitto and InfluxDB as child processes on free
ports with data in temporary folders, shared per session; each test gets its own topic prefix
and database so tests never see each other's data. Fault tests start private instances with the
`make_*` factories. When a test fails, the logs of the servers it used are attached."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.harness import InfluxDB, Mosquitto, ServiceError, stop_all

_STARTED: list[Mosquitto | InfluxDB] = []
P = TypeVar("P", Mosquitto, InfluxDB)


def _start(proc: P) -> P:
    try:
        proc.start()
    except ServiceError as e:
        pytest.fail(f"cannot start {proc.name}: {e}\n(`make test` installs it; see README)")
    _STARTED.append(proc)
    return proc


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A broker shared by the session; isolate tests with `topic_prefix`."""
    broker = _start(Mosquitto(workdir=tmp_path_factory.mktemp("mosquitto")))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    """An InfluxDB shared by the session; isolate tests with `influx_db`."""
    server = _start(InfluxDB(workdir=tmp_path_factory.mktemp("influxdb")))
    yield server
    server.stop()


@pytest.fixture
def make_mosquitto(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """A private broker for tests that restart or kill it."""
    made: list[Mosquitto] = []

    def make(**kw: object) -> Mosquitto:
        b = _start(Mosquitto(workdir=tmp_path / f"mosquitto{len(made)}", **kw))  # type: ignore[arg-type]
        made.append(b)
        return b

    yield make
    stop_all(*made)


@pytest.fixture
def make_influxdb(tmp_path: Path) -> Iterator[Callable[..., InfluxDB]]:
    """A private InfluxDB for tests that stop, freeze or kill it."""
    made: list[InfluxDB] = []

    def make(**kw: object) -> InfluxDB:
        s = _start(InfluxDB(workdir=tmp_path / f"influxdb{len(made)}", **kw))  # type: ignore[arg-type]
        made.append(s)
        return s

    yield make
    stop_all(*made)


@pytest.fixture(autouse=True, scope="session")
def _spool_in_temp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Gateways built from default settings spool into a temporary folder, not ./var/."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GRIDWATCH_SPOOL_DIR", str(tmp_path_factory.mktemp("spool")))
    yield
    mp.undo()


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix of this test's own, so a shared broker carries no cross-talk."""
    return f"t{uuid.uuid4().hex[:10]}/sensors"


@pytest.fixture
def influx_db() -> str:
    """A database name of this test's own in the shared InfluxDB."""
    return f"gw_{uuid.uuid4().hex[:10]}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed and call.when in ("setup", "call"):  # type: ignore[attr-defined]
        for proc in _STARTED:
            tail = proc.log_tail()
            if tail:
                report.sections.append((f"{proc.name} log ({proc.workdir})", tail))  # type: ignore[attr-defined]
    return report
