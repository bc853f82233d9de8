"""Coverage-guided fuzzing (atheris/libFuzzer) of ingest and the line-protocol encoder, with
the same oracle as the Hypothesis tests: only declared outcomes, one point per measurement.

    python -m tests.fuzz.atheris_ingest -max_total_time=20 [CORPUS_DIR]

Input bytes: the first picks a topic, the rest is the payload. A breach raises, and libFuzzer
writes the crashing input to `crash-*` and exits non-zero. tests/fuzz/test_atheris.py runs this
for ~20 s (marked slow), seeded with valid payloads of every form.
"""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

with atheris.instrument_imports(include=["gateway", "domain"]):
    from gateway.ingest import IngestPolicy
    from tests.fuzz.oracle import check
    from tests.gateway.ingest_site import NOW_NS, POND, POWER, TS, WATER, registry

REG = registry()
POLICY = IngestPolicy()
TOPICS = [POND, WATER, POWER, "sensors/pond/nobody/telemetry", "sensors/water/pond-qp-01/telemetry"]

SEEDS = [
    b'{"ts": %d, "seq": 1, "battery_v": 3.6, "values": {"do": 5.8, "ph": 7.2}}' % TS,
    b'{"ts": %d, "values": {"do": 5.8}}' % (TS * 1000),
    b'{"ts": "2025-11-26T08:00:00Z", "values": {"temp": 21.5}}',
    b'{"readings": [{"ts": %d, "values": {"do": 5.9}}, {"ts": %d, "values": {"ph": 7}}]}'
    % (TS - 60, TS - 30),
    b'[{"bn": "urn:dev:pond-qp-01:", "bt": %d, "n": "temp", "u": "K", "v": 295.15},'
    b' {"n": "do", "u": "mg/L", "v": 6.2}]' % TS,
]


def one_input(data: bytes) -> None:
    topic = TOPICS[data[0] % len(TOPICS)] if data else POND
    check(topic, data[1:], REG, NOW_NS, POLICY)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
