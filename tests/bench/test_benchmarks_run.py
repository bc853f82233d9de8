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
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
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
    # S is printed to 0.01 s (a tiny run's 0.15 s may be 0.145–0.155 s), R to 1 reading/s:
    # on a loaded box R can be ~200, and its rounding alone moves N / R by 0.25 %.
    assert n / rate == pytest.approx(seconds, abs=0.005 + n / rate * (0.001 + 0.5 / rate)), m[0]
    return n, rate


# ---------------------------------------------------------------- bench.drain


def _drain_gateway(out: str, n: int, header: str) -> float:
    """The gateway run under `header` (e.g. `gateway (2 workers)`): N published and stored,
    CPU per reading the sum of its parts, a CPU budget; its rate."""
    run = out[line(out, rf"^{re.escape(header)}:$").end() :]
    published, _ = readings_line(run, "publish:")
    assert published == n
    stored, rate = readings_line(run, "gateway:")
    assert stored == n
    cpu = line(
        run,
        r"^\s*gateway: .*; CPU per reading: (\d+) µs "
        rf"\(gateway (\d+), mosquitto (\d+), influxd (\d+)\); load {_N} → {_N}$",
    )
    total, *parts = (int(g) for g in cpu.groups()[:4])
    assert total > 0
    assert sum(parts) == pytest.approx(total, abs=len(parts)), cpu[0]  # each part rounded
    budget = rf"^CPU budget, {re.escape(header)}: 30,000 readings/s needs ~{_N} cores"
    assert num(line(out, budget)[1]) > 0
    return rate


@pytest.mark.timeout(300)
def test_drain_with_baselines(tmp_path: Path) -> None:
    out = run_bench(
        "bench.drain", "-n", "2000", "--naive-n", "200", "--sensors", "50",
        tmp_path=tmp_path, timeout=260,
    )  # fmt: skip
    m = line(out, r"^gateway \(default: (\d+) workers?\):$")
    default = f"gateway (default: {m[1]} worker{'s' if int(m[1]) > 1 else ''})"
    gateways = {h: _drain_gateway(out, 2000, h) for h in (default, "gateway (2 workers)")}
    sub_n, ceiling = readings_line(out, "mosquitto_sub:")
    bridge_n, bridge = readings_line(out, "bridge:")
    naive_n, naive = readings_line(out, "naive:")
    assert (sub_n, bridge_n, naive_n) == (2000, 2000, 200)
    for header, rate in gateways.items():
        ratio = line(
            out,
            rf"^  {re.escape(header)}: {_N}x mosquitto_sub, {_N}x the batched bridge, "
            rf"{_N}x the naive one$",
        )
        assert num(ratio[1]) == pytest.approx(rate / ceiling, rel=0.02, abs=0.006), ratio[0]
        assert num(ratio[2]) == pytest.approx(rate / bridge, rel=0.02, abs=0.006), ratio[0]
        assert num(ratio[3]) == pytest.approx(rate / naive, rel=0.02, abs=0.06), ratio[0]
    ratio = line(out, rf"^  bridge: {_N}x mosquitto_sub$")
    assert num(ratio[1]) == pytest.approx(bridge / ceiling, rel=0.02, abs=0.006), ratio[0]
    two = line(out, rf"^  gateway \(2 workers\) / {re.escape(default)}: {_N}x$")
    assert num(two[1]) == pytest.approx(
        gateways["gateway (2 workers)"] / gateways[default], rel=0.02, abs=0.006
    ), two[0]


@pytest.mark.timeout(180)
def test_drain_one_process_gateway_only(tmp_path: Path) -> None:
    out = run_bench(
        "bench.drain", "-n", "2000", "--sensors", "50", "--workers", "1", "--only-gateway",
        tmp_path=tmp_path, timeout=150,
    )  # fmt: skip
    _drain_gateway(out, 2000, "gateway (1 worker)")
    assert "bridge" not in out
    assert "mosquitto_sub" not in out
    assert "ratios" not in out


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
            rf"gateway {_N} s\); peak RSS {_N} MB, held {_N} MB\n  after one reading per sensor "
            rf"\({_N} s, (\d+) breaches\): peak RSS {_N} MB, held {_N} MB\n  restart: {_N} "
            rf"rule-state rows loaded in {_N} s, engine built from them in {_N} s\n  live "
            rf"registry \(SQLite\): first start \(seed \+ read\) {_N} s, peak RSS {_N} MB; "
            rf"later start {_N} s, peak RSS {_N} MB = {_N}x the site file's read$",
        )
        total, *steps, rss, held, _feed, breaches, fed, fed_held, rows, load, build = (
            num(g) for g in m.groups()[:14]
        )
        first, first_rss, later, later_rss, live_ratio = (num(g) for g in m.groups()[14:])
        assert first > later > 0, m[0]  # the first start seeds the database too
        assert first_rss > 0, m[0]
        assert later_rss > 0, m[0]
        if steps[1] >= 0.1:  # the ratio is of the unrounded seconds
            assert live_ratio == pytest.approx(later / steps[1], rel=0.2), m[0]
        assert total == pytest.approx(sum(steps), abs=0.03), m[0]  # each step rounded
        assert 0 < rss <= fed, m[0]  # peak RSS never falls
        assert held > 0, m[0]
        assert fed_held > 0, m[0]
        assert breaches == 0, m[0]  # bench.common.METRICS is inside every rule's band
        assert rows == 2 * num(size), m[0]  # presence and flatline runs of every sensor
        assert load >= 0, m[0]
        assert build >= 0, m[0]
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


# ---------------------------------------------------------------- bench.consumer


@pytest.mark.timeout(120)
def test_consumer(tmp_path: Path) -> None:
    out = run_bench("bench.consumer", "--n", "2000", "--rounds", "1", tmp_path=tmp_path, timeout=90)
    rows = {}
    for name in ("mosquitto_sub", "paho MqttSource", "mqtt5 MqttSession"):
        m = line(out, rf"^{name}.*?\s+{_N} msg/s\s+{_N} µs CPU/msg")
        rows[name] = (num(m[1]), num(m[2]))
        assert rows[name][0] > 0
        assert rows[name][1] > 0
    m = line(out, rf"^mqtt5 MqttSession.*µs CPU/msg\s+{_N}x rate,\s+{_N}x CPU")
    (paho_rate, paho_us), (ours_rate, ours_us) = rows["paho MqttSource"], rows["mqtt5 MqttSession"]
    assert num(m[1]) == pytest.approx(ours_rate / paho_rate, rel=0.02, abs=0.006), m[0]
    assert num(m[2]) == pytest.approx(ours_us / paho_us, rel=0.02, abs=0.006), m[0]


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


STAGED = """\
process 7:"gw";thread (0x1);<module> (/work/main/gridwatch/cli.py:1);_find_and_load (<frozen importlib._bootstrap>:1176) 30
process 7:"gw";thread (0x1);_commit (/work/main/gateway/service.py:1);Alarms.accept (/work/main/services/alarms.py:2);RuleEngine.judge (/work/main/services/rules/engine.py:3) 20
process 7:"gw";thread (0x1);Batcher._take (/work/main/gateway/batcher.py:1);ingest (/work/main/gateway/ingest.py:2) 40
process 7:"gw";thread (0x2);_worker (/usr/lib/python3.11/concurrent/futures/thread.py:81) 500
process 7:"gw";thread (0x1);run_forever (/usr/lib/python3.11/asyncio/base_events.py:1) 10
"""  # noqa: E501 - py-spy's collapsed stacks are one line each
"""100 busy samples (start-up 30, rules 20, ingest 40, the loop 10) and 500 idle ones."""


@pytest.mark.timeout(60)
def test_hotspots_stages(tmp_path: Path) -> None:
    profile = tmp_path / "profile.txt"
    profile.write_text(STAGED.replace("/work/main/", f"{ROOT}/"))
    out = run_bench(
        "bench.hotspots", str(profile), "--stages", "--readings", "1000",
        tmp_path=tmp_path, timeout=30,
    )  # fmt: skip
    line(out, r"^100 busy samples \(500 idle left out\)$")
    rows = {
        m[3]: (float(m[1]), float(m[2]))
        for m in re.finditer(r"^\s*([\d.]+)\s+([\d.]+)  (.+)$", out, re.MULTILINE)
    }
    assert rows == {  # share of busy samples; sampled µs per reading at 200 samples/s
        "ingest (decode, validate)": (40.0, 200.0),
        "start-up (imports, registry, rules, state load)": (30.0, 150.0),
        "rules (judge)": (20.0, 100.0),
        "event loop and the rest": (10.0, 50.0),
    }, out


# ---------------------------------------------------------------- bench.history


@pytest.mark.timeout(120)
def test_history(tmp_path: Path) -> None:
    out = run_bench(
        "bench.history", "--comments", "300", "--chars", "500", tmp_path=tmp_path, timeout=100
    )
    line(out, r"^one ticket with 300 comments of 500 characters$")
    sizes = {}
    for what in ("list", "ticket", "live event"):
        m = line(out, rf"^{what} \(.*\): {_N} bytes, {_N} s$")
        sizes[what] = num(m[1])
        assert num(m[2]) > 0
    # the history is 150 kB: only the ticket read carries any of it, and only its newest page
    assert sizes["list"] < 5_000
    assert sizes["live event"] < 5_000
    assert 20 * 500 < sizes["ticket"] < 300 * 500


# ---------------------------------------------------------------- bench.noise


@pytest.mark.timeout(600)
def test_noise(tmp_path: Path) -> None:
    out = run_bench("bench.noise", "--days", "1", tmp_path=tmp_path, timeout=560)
    site = line(
        out,
        rf"^site: (\d+) sensors x 1 days = {_N} sensor-days, {_N} readings in {_N} s; "
        r"(\d+) tickets; (\d+) injected problems$",
    )
    sensors, sensor_days, readings, _, tickets, problems = (num(g) for g in site.groups())
    assert sensor_days == sensors
    assert readings > 0
    assert problems > 0
    per100 = line(out, rf"^false tickets per 100 sensor-days: {_N} \((\d+) false; target")
    false = num(per100[2])
    assert num(per100[1]) == pytest.approx(100 * false / sensor_days, abs=0.005), per100[0]
    missed = num(line(out, r"^missed injected problems: (\d+) \(target 0\)$")[1])
    dupes = num(line(out, r"^duplicate tickets for one injected problem: (\d+) \(target 0\)$")[1])
    assert false <= tickets
    assert missed <= problems
    assert dupes <= tickets
    assert len(re.findall(r"^  false: ", out, re.MULTILINE)) == false
    assert len(re.findall(r"^  missed: ", out, re.MULTILINE)) == missed
    river = line(out, r"^river replay: 1,268 hourly readings in .* (\d+) stuck episode\(s\)")
    assert num(river[1]) == 1  # the real series's one flatline (03-29), not its calm spells


# ---------------------------------------------------------------- bench.rules


@pytest.mark.timeout(60)
def test_rules(tmp_path: Path) -> None:
    out = run_bench("bench.rules", "3000", "40", tmp_path=tmp_path, timeout=45)
    m = line(
        out,
        rf"^3000 readings x 4 metrics, 40 sensors: {_N} µs per evaluate\(\), "
        rf"{_N} readings/s, (\d+) breaches$",
    )
    us, rate = num(m[1]), num(m[2])
    assert us > 0
    assert rate == pytest.approx(1e6 / us, rel=0.01, abs=1.0), m[0]  # µs printed to 0.01
