"""The tests' (and benchmarks') local servers: `gridwatch.localservers`' Mosquitto and InfluxDB
with fault injection on top — signal, kill -9, freeze (SIGSTOP) and thaw — and, for tests that
need no accounts, an anonymous loopback broker whose configuration this module writes.

Shipped code never freezes or kills a server, so none of this is in the package (issue 12).
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass

from gridwatch import localservers
from gridwatch.localservers import ServiceError, free_port, stop_all

__all__ = ["MOSQUITTO_MAX_QUEUED", "InfluxDB", "Mosquitto", "ServiceError", "free_port", "stop_all"]

MOSQUITTO_MAX_QUEUED = 100_000
"""Messages the anonymous test broker queues per client beyond those in flight; past it the
broker drops what it would queue (logging "Outgoing messages are being dropped" once)."""


class _Faults:
    """Fault injection for a started server process (a mixin: not a dataclass, so the
    servers' own fields and defaults stay as they are)."""

    proc: subprocess.Popen[bytes] | None

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """kill -9: no chance to save anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def freeze(self) -> None:
        """SIGSTOP: the process keeps its sockets but answers nothing."""
        self.signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal(signal.SIGCONT)


@dataclass(kw_only=True)
class Mosquitto(_Faults, localservers.Mosquitto):
    """A broker on `config_file` (e.g. one `gridwatch broker-config` wrote), or else an
    anonymous one on loopback with `config_extra` lines appended."""

    config_extra: str = ""

    def start(self, timeout: float = 10.0) -> Mosquitto:
        if self.config_file is None:
            if not self.port:
                self.port = free_port(self.host)
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.config_file = self.workdir / "mosquitto.conf"
            self.config_file.write_text(
                f"listener {self.port} {self.host}\n"
                "allow_anonymous true\n"
                "persistence true\n"
                f"persistence_location {self.workdir}/\n"
                "autosave_interval 60\n"
                f"max_queued_messages {MOSQUITTO_MAX_QUEUED}\n"
                "log_dest stdout\n"
                "log_type error\nlog_type warning\nlog_type notice\n"
                # As root, Mosquitto would switch to the `mosquitto` account, which cannot
                # write its persistence file in our folder.
                + ("user root\n" if os.geteuid() == 0 else "")
                + self.config_extra,
                encoding="utf-8",
            )
        super().start(timeout)
        return self


@dataclass(kw_only=True)
class InfluxDB(_Faults, localservers.InfluxDB):
    """An InfluxDB that tests may freeze, thaw or kill."""

    def start(self, timeout: float = 30.0) -> InfluxDB:
        super().start(timeout)
        return self
