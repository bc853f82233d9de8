"""Local Mosquitto and InfluxDB as child processes, on free ports with data in a folder of our
own: what `gridwatch up` runs when no services are configured.

Mosquitto runs the configuration `gridwatch.broker` writes (the one writer of Mosquitto
configurations in the package); InfluxDB a minimal one of its own. Each `influxd` needs its own
HTTP port *and* its own RPC bind address (reliability.md), so both are taken at run time;
nothing assumes 1883 or 8086 is free. The tests' harness (tests/harness.py) adds fault
injection — freeze, thaw, kill — and an anonymous broker on top of these classes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

INSTALL_HINT = {
    "mosquitto": "apt-get install mosquitto   (Debian/Ubuntu; or see https://mosquitto.org/download/)",
    "influxd": "apt-get install influxdb    (Debian/Ubuntu; InfluxDB 1.x)",
}


class ServiceError(RuntimeError):
    """A local service could not be started; the message says how to fix it."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the kernel says is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def find_binary(name: str) -> str:
    """The path of an installed server binary, or a ServiceError saying how to install it."""
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ServiceError(f"{name} is not installed. Install it with: {INSTALL_HINT.get(name, name)}")


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


@dataclass(kw_only=True)
class ServerProcess:
    """A server child process with its own folder and log file."""

    name: str
    workdir: Path
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _spawn(self, argv: list[str]) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - argv built from our own config, no shell
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir
        )
        log.close()

    def _wait_ready(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServiceError(f"{self.name} exited at start:\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.05)
        raise ServiceError(f"{self.name} did not become ready in {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait (Mosquitto saves its persistence file on SIGTERM)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass(kw_only=True)
class Mosquitto(ServerProcess):
    """A Mosquitto broker on `config_file` (written by `gridwatch.broker`), listening on
    `host`:`port` (the plain listener that file opens)."""

    name: str = "mosquitto"
    config_file: Path | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _config(self) -> Path:
        if self.config_file is None:
            raise ServiceError("no Mosquitto configuration given (gridwatch.broker writes one)")
        return self.config_file

    def start(self, timeout: float = 10.0) -> Mosquitto:
        binary = find_binary("mosquitto")
        if not self.port:
            self.port = free_port(self.host)
        self._spawn([binary, "-c", str(self._config())])
        self._wait_ready(lambda: _port_open(self.host, self.port), timeout)
        return self

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(kw_only=True)
class InfluxDB(ServerProcess):
    """An InfluxDB 1.x server with its own HTTP and RPC ports. `http_extra` lines go into its
    [http] section (e.g. `max-body-size = 2000` for a 413 test)."""

    name: str = "influxd"
    rpc_port: int = 0
    http_extra: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=0.5) as r:  # noqa: S310 - our own local URL
                return int(r.status) == 204
        except OSError:
            return False

    def start(self, timeout: float = 30.0) -> InfluxDB:
        binary = find_binary("influxd")
        if not self.port:
            self.port = free_port(self.host)
        if not self.rpc_port:
            self.rpc_port = free_port(self.host)
        d = self.workdir
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "influxdb.conf"
        conf.write_text(
            f"""reporting-disabled = true
bind-address = "{self.host}:{self.rpc_port}"
[meta]
  dir = "{d}/meta"
  logging-enabled = false
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
  index-version = "inmem"
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  log-enabled = false
  run-interval = "1s"
[http]
  bind-address = "{self.host}:{self.port}"
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false
{self.http_extra}
[logging]
  level = "warn"
""",
            encoding="utf-8",
        )
        self._spawn([binary, "-config", str(conf)])
        self._wait_ready(self._ping, timeout)
        return self

    def __enter__(self) -> InfluxDB:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def stop_all(*procs: ServerProcess) -> None:
    for p in procs:
        with contextlib.suppress(Exception):
            p.stop()
