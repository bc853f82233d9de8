"""Summarise a py-spy raw (collapsed-stack) profile: where the samples went, by function.

    .venv/bin/python -m bench.hotspots PROFILE.txt [--top 30] [--match gateway]
    .venv/bin/python -m bench.hotspots PROFILE.txt --stages [--readings N]

Prints inclusive share (the function or anything it called was running) and self share (the
function itself) of all samples, per `function (file)`, so a profile can be quoted in text.

`--stages` sorts every sample into one stage of the hot path instead (the first of `STAGES`
that one of its frames belongs to), leaves out the idle ones (a thread-pool thread waiting for
work, the loop waiting in `select`, a process with no Python frame yet) and prints each stage's
share of the busy samples — with `--readings N`, also its sampled time per reading (py-spy's
`-r` samples a second, 200 in bench.drain: a thread that waits for a core is sampled too, so
on a loaded box this is more than its CPU time).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_REPO = f"{Path(__file__).resolve().parents[1]}/"
"""Frames of this checkout are shown relative to it, wherever it was cloned."""
_FRAME = re.compile(r"^(?P<fn>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m["file"]
    for marker in ("site-packages/", _REPO, "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m['fn']} ({file})"


STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("start-up (imports, registry, rules, state load)",
     ("<frozen importlib", "open_registry (", "load_rules (", "RuleEngine.__init__ (",
      "SqlRuleStateStore.load (", "open_ticketing (", "attach (", "make_engine (")),
    ("rule-state save", ("SqlRuleStateStore.save (", "RuleStateStore.save (")),
    ("tickets", ("apply_judged (", "TicketService.")),
    ("rule-state diff (changes)", ("RuleEngine.changes (",)),
    ("rules (judge)", ("RuleEngine.judge (", "RuleEngine.evaluate (", "Alarms.accept (")),
    ("worker → rules hand-over", ("gateway/wire.py", "RemoteSink.", "SinkServer.")),
    ("line protocol", ("encode_lines (", "lineprotocol.py")),
    ("InfluxDB write (HTTP)", ("InfluxWriter.", "httpx/", "httpcore/", "Committer.commit (")),
    ("ingest (decode, validate)", ("ingest (gateway/ingest.py)", "_ingest (", "gateway/decode.py",
                                   "gateway/validate.py")),
    ("batcher", ("Batcher.",)),
    ("MQTT ack", ("MqttSession.ack (",)),
    ("MQTT receive", ("MqttSession._handle_packets (", "MqttSession._serve (",
                      "StreamReader.read (")),
    ("metrics", ("prometheus_client/",)),
)  # fmt: skip
"""Stages in priority order: a sample belongs to the first stage one of its frames matches."""

_IDLE_LEAVES = ("_worker (concurrent/futures/thread.py)", "select (selectors.py)")


def stage_of(frames: list[str]) -> str | None:
    """The stage a sample's frames belong to; None for an idle sample."""
    if not frames or frames[-1] in _IDLE_LEAVES:
        return None
    for stage, marks in STAGES:
        if any(mark in f for f in frames for mark in marks):
            return stage
    return "event loop and the rest"


def _process(stack: str) -> str:
    """`rules process` or `worker <pid>`: the innermost process of a sample (py-spy's
    `--subprocesses` nests a spawned worker's frames under its parent's `process` frame)."""
    procs = [f for f in stack.split(";") if f.startswith("process ")]
    if len(procs) <= 1:
        return "rules process" if procs else "?"
    return f"worker {procs[-1].split(':', 1)[0].removeprefix('process ')}"


def stages(profile: Path, readings: int, rate: int, by_process: bool = False) -> None:
    busy: Counter[tuple[str, str]] = Counter()
    idle = 0
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        stage = stage_of(frames)
        if stage is None:
            idle += int(count)
        else:
            busy[(_process(stack) if by_process else "", stage)] += int(count)
    total = sum(busy.values())
    print(f"{total} busy samples ({idle} idle left out)")
    for proc in sorted({p for p, _ in busy}):
        rows = Counter({st: n for (p, st), n in busy.items() if p == proc})
        if proc:
            print(f"{proc}: {sum(rows.values())} busy samples")
        per = f"  {'µs/reading':>10}" if readings else ""
        print(f"{'busy %':>7}{per}  stage")
        for stage, n in rows.most_common():
            us = f"  {n / rate / readings * 1e6:10.1f}" if readings else ""
            print(f"{100 * n / total:7.1f}{us}  {stage}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default="", help="only functions whose name/file has this")
    parser.add_argument("--stages", action="store_true", help="busy samples by hot-path stage")
    parser.add_argument("--readings", type=int, default=0, help="readings the profile covers")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples a second (200)")
    parser.add_argument(
        "--by-process", action="store_true", help="with --stages: the rules process and each worker"
    )
    args = parser.parse_args()
    if args.stages:
        stages(args.profile, args.readings, args.rate, args.by_process)
        return
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [frame_name(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        total += n
        for f in set(frames):
            inclusive[f] += n
        if frames:
            own[frames[-1]] += n
    print(f"{total} samples")
    print(f"{'incl %':>7} {'self %':>7}  function")
    for f, n in inclusive.most_common():
        if args.match not in f:
            continue
        print(f"{100 * n / total:7.1f} {100 * own[f] / total:7.1f}  {f}")
        args.top -= 1
        if args.top <= 0:
            break


if __name__ == "__main__":
    main()
