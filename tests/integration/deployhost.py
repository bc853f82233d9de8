"""A pretend Debian host for the deployment tests: the shipped `deploy/` files with only their
paths and ports changed, laid out under one temporary root the way an operator lays them out
under `/`, and the listening sockets of a process as the kernel reports them.

Run as root, Mosquitto drops to the `mosquitto` account before it reads its password file,
ACL and TLS key and writes its persistence file, exactly as on a real host; so the root is
world-traversable and those files get the owners docs/deployment.md tells the operator to give.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
MOSQUITTO_ACCOUNT = "mosquitto"


@dataclass(frozen=True)
class Host:
    """The folders of a hub host, under `root` instead of `/`."""

    root: Path

    @property
    def etc_mosquitto(self) -> Path:
        return self.root / "etc" / "mosquitto"

    @property
    def broker_files(self) -> Path:
        """Where `gridwatch broker-config --out` writes (deploy/mosquitto.conf reads here)."""
        return self.etc_mosquitto / "gridwatch"

    @property
    def certs(self) -> Path:
        return self.etc_mosquitto / "certs"

    @property
    def mosquitto_data(self) -> Path:
        return self.root / "var" / "lib" / "mosquitto"

    @property
    def etc_gridwatch(self) -> Path:
        return self.root / "etc" / "gridwatch"


def _mosquitto_ids() -> tuple[int, int] | None:
    """uid and gid Mosquitto drops to when started as root (None: it does not drop)."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(MOSQUITTO_ACCOUNT)
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


@pytest.fixture
def host() -> Iterator[Host]:
    """An empty host root in /tmp (pytest's own temp folders are private to root)."""
    root = Path(tempfile.mkdtemp(prefix="gw-host-"))
    root.chmod(0o755)
    h = Host(root)
    for d in (h.etc_mosquitto, h.certs, h.mosquitto_data, h.etc_gridwatch):
        d.mkdir(parents=True)
    ids = _mosquitto_ids()
    if ids is not None:  # as the Debian package leaves it
        os.chown(h.mosquitto_data, *ids)
    yield h
    shutil.rmtree(root, ignore_errors=True)


def make_certificate(host: Host) -> tuple[Path, Path]:
    """A throw-away self-signed server certificate for 127.0.0.1, where the shipped config
    expects it; the key readable by the broker's group only."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a test certificate: apt-get install openssl")
    cert, key = host.certs / "server.crt", host.certs / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    ids = _mosquitto_ids()
    if ids is not None:
        os.chown(key, 0, ids[1])
    key.chmod(0o640)
    return cert, key


def broker_config(host: Host, site: Path, *extra: str) -> None:
    """`gridwatch broker-config` as the operator runs it, into the host's /etc/mosquitto."""
    argv = [sys.executable, "-m", "gridwatch.cli", "broker-config", "--site", str(site)]
    argv += ["--out", str(host.broker_files), *extra]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr + done.stdout


def shipped_mosquitto_conf(host: Host, plain_port: int, tls_port: int) -> Path:
    """deploy/mosquitto.conf with its paths moved under the host root and its two ports
    changed — nothing else. Each substitution must apply, so a drift of the shipped file
    fails here instead of testing something else."""
    text = (DEPLOY / "mosquitto.conf").read_text(encoding="utf-8")
    substitutions = [
        ("/etc/mosquitto/", f"{host.etc_mosquitto}/"),
        ("/var/lib/mosquitto/", f"{host.mosquitto_data}/"),
        ("\nlistener 8883\n", f"\nlistener {tls_port}\n"),
        ("\nlistener 1883 127.0.0.1\n", f"\nlistener {plain_port} 127.0.0.1\n"),
    ]
    for old, new in substitutions:
        assert old in text, f"deploy/mosquitto.conf no longer contains {old!r}"
        text = text.replace(old, new)
    for path in re.findall(r"^\w+ (/\S*)", text, flags=re.MULTILINE):
        assert path.startswith(str(host.root)), f"unsubstituted path {path}"
    conf = host.etc_mosquitto / "mosquitto.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket `pid` listens on, from /proc (what `ss -ltnp`
    shows): the process's socket inodes matched against the kernel's LISTEN table."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if m := re.fullmatch(r"socket:\[(\d+)\]", target):
            inodes.add(m.group(1))
    found: set[tuple[str, int]] = set()
    for table, width in (("tcp", 4), ("tcp6", 16)):
        try:
            rows = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state != "0A" or inode not in inodes:  # 0A: TCP_LISTEN
                continue
            hex_ip, hex_port = local.split(":")
            raw = bytes.fromhex(hex_ip)
            # /proc prints the address as host-order 32-bit words
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, width, 4))
            found.add((str(ipaddress.ip_address(packed)), int(hex_port, 16)))
    return found


def read_env(path: Path) -> dict[str, str]:
    """KEY=value lines of an environment file (as systemd's EnvironmentFile and compose's
    env_file read the plain form we write: no quotes, no expansion)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path}: not KEY=value: {line!r}"
            out[key] = value
    return out
