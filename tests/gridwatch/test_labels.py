"""`gridwatch labels`: A4 sheets whose QR codes, rendered to an image (pdftoppm) and read back
(zbarimg), are the sensors' addresses — {PUBLIC_URL}/s/<id>, and /r/<id> with --residents."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gridwatch.cli import app
from tests.services.tickets.site import SITE

PUBLIC = "https://hub.example.org"


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(SITE, allow_unicode=True), encoding="utf-8")
    return path


def decode(pdf: Path, tmp: Path) -> list[str]:
    """Every QR code on the PDF's pages, as text."""
    for tool in ("pdftoppm", "zbarimg"):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} is missing (scripts/bootstrap.sh installs poppler-utils, zbar-tools)"
            )
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp / "page")], check=True)
    pages = sorted(tmp.glob("page*.png"))
    assert pages
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sqrcode.enable", *map(str, pages)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return sorted(out.split())


def test_labels_of_a_grid_decode_to_the_sensor_pages(
    site_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDWATCH_PUBLIC_URL", PUBLIC)
    out = tmp_path / "labels.pdf"
    r = CliRunner().invoke(
        app, ["labels", "--site", str(site_file), "--grid", "qp-g1", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF")
    assert decode(out, tmp_path) == [f"{PUBLIC}/s/pond-qp-01", f"{PUBLIC}/s/water-qp-01"]


def test_resident_labels_carry_both_codes(
    site_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDWATCH_PUBLIC_URL", PUBLIC)
    out = tmp_path / "labels.pdf"
    r = CliRunner().invoke(
        app, ["labels", "--site", str(site_file), "--residents", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    ids = [s["id"] for s in SITE["sensors"]]  # type: ignore[index]
    expected = sorted([f"{PUBLIC}/s/{i}" for i in ids] + [f"{PUBLIC}/r/{i}" for i in ids])
    assert decode(out, tmp_path) == expected
    shutil.copy(sorted(tmp_path.glob("page*.png"))[0], _artifact("field-05-label-sheet.png"))


def test_an_unknown_grid_is_refused(site_file: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        ["labels", "--site", str(site_file), "--grid", "nope-1", "--out", str(tmp_path / "x.pdf")],
    )
    assert r.exit_code == 2
    assert "no grid nope-1" in r.output


def _artifact(name: str) -> Path:
    d = Path("test-artifacts/screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d / name
