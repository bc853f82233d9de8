"""`gridwatch token create ... --qr`: a one-time sign-in link and its QR code, never the token;
the PNG decodes (zbarimg) back to the link, and the link works once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridwatch.cli import app
from services.auth.links import LinkRefused, SignInLinks
from services.db.engine import open_database


def test_create_with_qr_prints_a_link_and_writes_its_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'gw.db'}"
    monkeypatch.setenv("GRIDWATCH_PUBLIC_URL", "https://hub.example.org")
    png = tmp_path / "wang.png"
    r = CliRunner().invoke(
        app,
        ["token", "create", "--name", "w-wang", "--role", "crew", "--grid", "grid-east",
         "--display-name", "王师傅", "--qr", "--png", str(png), "--db-url", db],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    url = r.output.strip().splitlines()[-1]
    assert url.startswith("https://hub.example.org/#/signin/gwl_")
    assert "gw_" not in r.output.replace("gwl_", "")  # the token itself is never shown
    assert "▀" in r.output or "█" in r.output  # the code, drawn in the terminal
    if shutil.which("zbarimg") is None:
        pytest.fail("zbarimg is missing (scripts/bootstrap.sh installs zbar-tools)")
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert decoded == url
    links = SignInLinks(open_database(db))
    secret, who = links.exchange(url.rsplit("/", 1)[1])
    assert (who.name, who.shown, secret[:3]) == ("w-wang", "王师傅", "gw_")
    with pytest.raises(LinkRefused, match="used already"):
        links.exchange(url.rsplit("/", 1)[1])
    listed = CliRunner().invoke(app, ["token", "links", "--db-url", db])
    assert "\tw-wang\tused\t" in listed.output
