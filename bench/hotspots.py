"""Summarise a py-spy raw (collapsed-stack) profile: where the samples went, by function.

    .venv/bin/python -m bench.hotspots PROFILE.txt [--top 30] [--match gateway]

Prints inclusive share (the function or anything it called was running) and self share (the
function itself) of all samples, per `function (file)`, so a profile can be quoted in text.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default="", help="only functions whose name/file has this")
    args = parser.parse_args()
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
