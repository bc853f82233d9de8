"""A time-boxed atheris run of tests/fuzz/atheris_ingest.py (about 20 s), seeded with a valid
payload of every form; it fails if libFuzzer finds an input that breaks the oracle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import atheris  # noqa: F401 - a dev dependency; the run below needs it installed
import pytest

from tests.fuzz.atheris_ingest import SEEDS

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 20


@pytest.mark.slow
def test_atheris_finds_nothing_in_ingest_and_encoder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(SEEDS):
        for topic in range(2):
            (corpus / f"seed{i}-{topic}").write_bytes(bytes([topic]) + seed)
    run = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.atheris_ingest", f"-max_total_time={SECONDS}",
         f"-artifact_prefix={tmp_path}/", "-rss_limit_mb=1024", str(corpus)],
        cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 60, check=False,
    )  # fmt: skip
    tail = run.stderr[-3000:]
    assert run.returncode == 0, tail
    assert "Done" in run.stderr, tail
    runs = [line for line in run.stderr.splitlines() if line.startswith("Done")]
    print(f"\n[fuzz] atheris: {runs[-1]}; corpus {len(list(corpus.iterdir()))} inputs")
