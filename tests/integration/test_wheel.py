"""A wheel that runs anywhere (issue 11): built from this checkout, installed into a fresh venv,
`gridwatch up --no-sim` from an empty folder serves the dashboard and every script and style
sheet it loads — found as package data, never by a path into a source tree."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import free_port
from tests.integration.deployhost import REPO

pytestmark = pytest.mark.slow

LOCAL = {
    ".git",
    ".venv",
    "var",
    "build",
    "dist",
    "test-artifacts",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
}
"""Top-level folders of a working checkout that are not the source (node_modules/…/dist is)."""


def _local_state(folder: str, names: list[str]) -> list[str]:
    top = Path(folder).resolve() == REPO.resolve()
    return [n for n in names if n == "__pycache__" or (top and n in LOCAL)]


def _run(argv: list[str], **kw: object) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{argv}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console script of a venv that holds only the wheel and its dependencies."""
    tmp = tmp_path_factory.mktemp("wheel")
    if not (REPO / "dashboards/web/node_modules/uplot/dist").is_dir():
        pytest.fail("the dashboard's libraries are not installed: run dashboards/web/setup.sh")
    # Build from a copy, so the checkout gets no build/ or egg-info of ours.
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=_local_state)
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(tmp / "dist")])
    wheel = next((tmp / "dist").glob("gridwatch-*.whl"))
    _run([sys.executable, "-m", "venv", str(tmp / "venv")])
    _run([str(tmp / "venv/bin/pip"), "install", "-q", str(wheel)], timeout=600)
    return tmp / "venv/bin/gridwatch"


@pytest.fixture
def hub(installed: Path, tmp_path: Path) -> Iterator[str]:
    empty = tmp_path / "empty"
    empty.mkdir()
    port = free_port()
    # Nothing of this checkout: no PYTHONPATH, no GRIDWATCH_* settings, another working dir.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_") and k != "PYTHONPATH"
    }
    proc = subprocess.Popen(
        [str(installed), "up", "--no-sim", "--http", f"127.0.0.1:{port}"],
        cwd=empty,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    out: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not any("GridWatch is up." in line for line in out):
            line = proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                pytest.fail(f"`gridwatch up` from the wheel did not come up:\n{''.join(out)}")
            out.append(line)
        assert (empty / "var").is_dir()  # its own services, under the empty folder
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_the_installed_wheel_serves_the_dashboard_and_everything_it_loads(hub: str) -> None:
    page = httpx.get(f"{hub}/", timeout=10)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    html = page.text
    scripts = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
    sheets = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', html)
    assert scripts
    assert sheets
    assert "/vendor/uplot/uPlot.min.css" in sheets
    seen: set[str] = set()
    todo = [*scripts, *sheets]
    while todo:  # the scripts' own ES-module imports too, transitively
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        r = httpx.get(f"{hub}{path}", timeout=10)
        assert r.status_code == 200, path
        assert r.content, path
        if path.endswith(".js"):
            base = path.rsplit("/", 1)[0]
            found = re.findall(r"""(?:import|from)\s*\(?\s*["'](\.{0,2}/[^"']+)["']""", r.text)
            todo += [f if f.startswith("/") else os.path.normpath(f"{base}/{f}") for f in found]
    vendored = [p for p in seen if p.startswith("/vendor/")]
    assert vendored, seen
    print(f"wheel: / and {len(seen)} scripts and style sheets served, {len(vendored)} vendored")
