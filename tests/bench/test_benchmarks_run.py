"""Smoke tests of bench/: each benchmark runs as bench/README.md says, at tiny sizes, and prints
figures that parse and agree with each other — so a benchmark that no longer runs, or prints
nonsense, fails the suite (bench.spool once broke silently when a module it imported went).

Nothing here judges speed: the figures are checked for shape and consistency (counts equal what
was published, a rate equals readings / seconds, a ratio equals the rates it divides), never
against a threshold. Each benchmark runs in its own session with TMPDIR in the test's folder,
so a timed-out run leaves neither a Mosquitto nor an InfluxDB behind.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

_N = r"([\d,]+(?:\.\d+)?)"
"""A printed figure: digits with thousands separators and an optional fraction."""


def num(text: str) -> float:
    return float(text.replace(",", ""))


def _session(sid: int) -> list[int]:
    """Processes still in the session a benchmark was started in."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            pids.append(int(stat.parent.name))
    return pids


def run_bench(module: str, *args: str, tmp_path: Path, timeout: float) -> str:
    """`python -m bench.X args` from the repo root; its stdout, after checking it exited 0 and
    left no process behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_")}
    env["GRIDWATCH_SPOOL_DIR"] = str(tmp_path / "spool")
    env["TMPDIR"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{module} still running after {timeout} s\n{out}\n{err[-3000:]}")
    deadline = time.monotonic() + 10
    while (left := _session(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 0, f"{module} exited {proc.returncode}\n{out}\n{err[-3000:]}"
    assert not left, f"{module} left processes {left} running\n{out}"
    return out


def line(out: str, pattern: str) -> re.Match[str]:
    """The output line matching `pattern` (anchored at the line's start)."""
    m = re.search(pattern, out, re.MULTILINE)
    assert m, f"no line matching {pattern!r} in:\n{out}"
    return m


def readings_line(out: str, label: str) -> tuple[float, float]:
    """`label N readings in S s = R readings/s`: (N, R), with R checked against N / S."""
    m = line(out, rf"^\s*{label}\s+{_N} readings in {_N} s = {_N} readings/s")
    n, seconds, rate = (num(g) for g in m.groups())
    assert n > 0
    assert seconds > 0
    # S is printed to 0.01 s (a tiny run's 0.15 s may be 0.145–0.155 s), R to 1 reading/s.
    assert n / rate == pytest.approx(seconds, abs=0.005 + n / rate * 0.001), m[0]
    return n, rate


# ---------------------------------------------------------------- bench.drain


def _drain_gateway(out: str, n: int, workers: int) -> float:
    line(out, rf"^gateway \({workers} workers\):$")
    published, _ = readings_line(out, "publish:")
    assert published == n
    stored, rate = readings_line(out, "gateway:")
    assert stored == n
    cpu = line(
        out,
        r"^\s*gateway: .*; CPU per reading: (\d+) µs "
        r"\(gateway (\d+), mosquitto (\d+), influxd (\d+)\)$",
    )
    total, *parts = (int(g) for g in cpu.groups())
    assert total > 0
    assert sum(parts) == pytest.approx(total, abs=len(parts)), cpu[0]  # each part rounded
    cores = num(line(out, rf"^CPU budget: 30,000 readings/s .* needs ~{_N} cores")[1])
    assert cores > 0
    return rate


@pytest.mark.timeout(240)
def test_drain_with_baselines(tmp_path: Path) -> None:
    out = run_bench(
        "bench.drain", "-n", "2000", "--naive-n", "200", "--sensors", "50", "--workers", "2",
        tmp_path=tmp_path, timeout=200,
    )  # fmt: skip
    gateway = _drain_gateway(out, 2000, workers=2)
    bridge_n, bridge = readings_line(out, "bridge:")
    naive_n, naive = readings_line(out, "naive:")
    assert (bridge_n, naive_n) == (2000, 200)
    ratio = line(out, rf"^ratio: gateway is {_N}x the batched bridge, {_N}x the naive one$")
    assert num(ratio[1]) == pytest.approx(gateway / bridge, rel=0.02, abs=0.006), ratio[0]
    assert num(ratio[2]) == pytest.approx(gateway / naive, rel=0.02, abs=0.06), ratio[0]


@pytest.mark.timeout(180)
def test_drain_one_process_gateway_only(tmp_path: Path) -> None:
    out = run_bench(
        "bench.drain", "-n", "2000", "--sensors", "50", "--workers", "1", "--only-gateway",
        tmp_path=tmp_path, timeout=150,
    )  # fmt: skip
    _drain_gateway(out, 2000, workers=1)
    assert "bridge:" not in out
    assert "ratio:" not in out


# ---------------------------------------------------------------- bench.live

RATE, SECONDS = 300, 3
PUBLISHED = 2 * int(RATE * SECONDS / 2)
"""Two publisher processes, each sending its int(rate × seconds / 2)."""


def _latency(out: str, label: str) -> int:
    """`label: n=N p50 … p90 … p99 … max … ms`: N, with the percentiles in order."""
    m = line(out, rf"^\s*{label}: n={_N}  p50 (\d+) ms  p90 (\d+) ms  p99 (\d+) ms  max (\d+) ms$")
    n, *ms = (num(g) for g in m.groups())
    assert 0 <= ms[0] <= ms[1] <= ms[2] <= ms[3], m[0]
    return int(n)


def _live_phase(out: str, header: str) -> None:
    """The phase after `header`: everything published is in InfluxDB and was timed."""
    phase = out[line(out, rf"^{header}").end() :]
    m = line(phase, rf"^\s*published {_N} in {_N} s = {_N}/s; InfluxDB holds {_N}$")
    published, seconds, rate, stored = (num(g) for g in m.groups())
    assert published == PUBLISHED, m[0]
    assert stored == published, m[0]
    assert rate == pytest.approx(published / seconds, rel=0.05), m[0]  # seconds printed as x.y
    assert _latency(phase, "publish→stored") == PUBLISHED


def _live_gateway(out: str, shape: str) -> None:
    _live_phase(out, rf"gateway \({shape}, batch 5,000 / [\d.]+ s")
    assert "committed only" not in out
    assert _latency(out, "breach→ticket event on MQTT") >= 1  # probes opened tickets


@pytest.mark.timeout(180)
def test_live_one_process_with_bridge(tmp_path: Path) -> None:
    out = run_bench(
        "bench.live", "--rate", str(RATE), "--seconds", str(SECONDS), "--sensors", "50",
        "--workers", "1", tmp_path=tmp_path, timeout=150,
    )  # fmt: skip
    _live_gateway(out, "1 process")
    _live_phase(out, r"bridge \(simple batched")
    ratio = line(out, rf"^ratio gateway/bridge: p50 {_N}x, p90 {_N}x, p99 {_N}x, max {_N}x$")
    assert all(num(g) > 0 for g in ratio.groups()), ratio[0]


@pytest.mark.timeout(180)
def test_live_two_workers_gateway_only(tmp_path: Path) -> None:
    out = run_bench(
        "bench.live", "--rate", str(RATE), "--seconds", str(SECONDS), "--sensors", "50",
        "--workers", "2", "--only-gateway", tmp_path=tmp_path, timeout=150,
    )  # fmt: skip
    _live_gateway(out, "2 workers \\+ rules process")
    assert "bridge" not in out


# ---------------------------------------------------------------- bench.scale


@pytest.mark.timeout(120)
def test_scale(tmp_path: Path) -> None:
    out = run_bench("bench.scale", "--sensors", "3000", tmp_path=tmp_path, timeout=90)
    fed_rss = []
    for size in ("1,000", "3,000"):
        m = line(
            out,
            rf"^{size} sensors: start-up {_N} s \(imports {_N} s, site {_N} s, rules {_N} s, "
            rf"gateway {_N} s\); peak RSS {_N} MB\n  after one reading per sensor \({_N} s, "
            rf"(\d+) breaches\): peak RSS {_N} MB$",
        )
        total, *steps, rss, _feed, breaches, fed = (num(g) for g in m.groups())
        assert total == pytest.approx(sum(steps), abs=0.03), m[0]  # each step rounded
        assert 0 < rss <= fed, m[0]  # peak RSS never falls
        assert breaches == 0, m[0]  # bench.common.METRICS is inside every rule's band
        fed_rss.append(fed)
    ratio = line(out, rf"^ratio: 3x the sensors costs {_N}x the start-up and {_N}x the memory$")
    assert num(ratio[1]) > 0
    assert num(ratio[2]) == pytest.approx(fed_rss[1] / fed_rss[0], abs=0.06), ratio[0]
    line(out, r'^\{"targets": \{"startup_s": 10, "rss_mb": 300\}\}$')


# ---------------------------------------------------------------- bench.spool


@pytest.mark.timeout(120)
def test_spool(tmp_path: Path) -> None:
    out = run_bench(
        "bench.spool", "--n", "5000", "--live", "1000", "--sensors", "20",
        tmp_path=tmp_path, timeout=90,
    )  # fmt: skip
    live_n, live = readings_line(out, "live:")
    drained, drain = readings_line(out, "drain:")
    assert (live_n, drained) == (1000, 5000)
    spooled = line(out, rf"^spool: {_N} readings appended in {_N} s \({_N}/s, \d+ MiB\)$")
    assert num(spooled[1]) == 5000
    ratio = line(out, rf"^ratio: drain is {_N}x the live rate \(target >= 10x\)$")
    assert num(ratio[1]) == pytest.approx(drain / live, rel=0.02, abs=0.06), ratio[0]


# ---------------------------------------------------------------- bench.decode


@pytest.mark.timeout(60)
def test_decode(tmp_path: Path) -> None:
    out = run_bench("bench.decode", "--seconds", "0.05", tmp_path=tmp_path, timeout=30)
    for label, readings in (("single reading", 1), ("100-reading batch", 100)):
        m = line(
            out,
            rf"^{label}\s+ingest\s+{_N} µs/msg \(\s*{_N} readings/s\) \| json\+pydantic\s+{_N} "
            rf"µs/msg \(\s*{_N} readings/s\) \| ratio {_N}x$",
        )
        ours_us, ours_rate, base_us, base_rate, ratio = (num(g) for g in m.groups())
        assert ours_us > 0
        assert base_us > 0
        assert ours_rate == pytest.approx(readings * 1e6 / ours_us, rel=0.02), m[0]
        assert base_rate == pytest.approx(readings * 1e6 / base_us, rel=0.02), m[0]
        assert ratio == pytest.approx(base_us / ours_us, rel=0.02, abs=0.006), m[0]


# ---------------------------------------------------------------- bench.hotspots

PROFILE = """\
process 4242:"python -m gridwatch.cli gateway";thread (0x7F01);<module> (/work/main/gridwatch/cli.py:12);run (/work/main/gateway/service.py:200);save (/work/main/services/rules/store.py:80) 55
process 4242:"python -m gridwatch.cli gateway";thread (0x7F02);_handle_publish (/work/main/.venv/lib/python3.11/site-packages/paho/mqtt/client.py:3200) 40
process 4242:"python -m gridwatch.cli gateway";thread (0x7F01);<module> (/work/main/gridwatch/cli.py:12);run (/work/main/gateway/service.py:210) 5
a line py-spy never writes
"""  # noqa: E501 - py-spy's collapsed stacks are one line each
"""100 samples: the rule store 55 under the gateway's loop, paho's thread 40, the loop itself 5
(paths as a checkout at /work/main records them; the test moves them to this checkout)."""


@pytest.mark.timeout(60)
def test_hotspots(tmp_path: Path) -> None:
    profile = tmp_path / "profile.txt"
    profile.write_text(PROFILE.replace("/work/main/", f"{ROOT}/"))
    out = run_bench("bench.hotspots", str(profile), tmp_path=tmp_path, timeout=30)
    rows = {
        m[3]: (float(m[1]), float(m[2]))
        for m in re.finditer(r"^\s*([\d.]+)\s+([\d.]+)  (.+)$", out, re.MULTILINE)
    }
    line(out, r"^100 samples$")
    assert rows == {
        "<module> (gridwatch/cli.py)": (60.0, 0.0),
        "run (gateway/service.py)": (60.0, 5.0),
        "save (services/rules/store.py)": (55.0, 55.0),
        "_handle_publish (paho/mqtt/client.py)": (40.0, 40.0),
    }, out

    out = run_bench(
        "bench.hotspots", str(profile), "--match", "paho", tmp_path=tmp_path, timeout=30
    )
    assert re.findall(r"^\s*[\d.]+\s+[\d.]+  (.+)$", out, re.MULTILINE) == [
        "_handle_publish (paho/mqtt/client.py)"
    ], out
