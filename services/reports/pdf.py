"""HTML to PDF with a headless Chromium (`--print-to-pdf`), when one is installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 120.0


class PdfUnavailable(RuntimeError):
    """No converter, or it failed: the HTML report stands alone."""


def find_browser() -> str | None:
    return next((p for b in BROWSERS if (p := shutil.which(b))), None)


def to_pdf(html_file: Path, pdf_file: Path, browser: str | None = None) -> Path:
    """Print `html_file` to `pdf_file` (A4, as the page's print CSS asks)."""
    exe = browser or find_browser()
    if exe is None:
        raise PdfUnavailable(
            "no headless browser found (tried " + ", ".join(BROWSERS) + "); HTML only"
        )
    with tempfile.TemporaryDirectory(prefix="gw-pdf-") as profile:
        cmd = [
            exe,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf_file.resolve()}",
            html_file.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
                cmd, capture_output=True, timeout=TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PdfUnavailable(f"{exe} could not print the report: {e}") from None
    if not pdf_file.exists() or pdf_file.stat().st_size == 0:
        tail = done.stderr.decode(errors="replace")[-500:]
        raise PdfUnavailable(f"{exe} produced no PDF (exit {done.returncode}): {tail}")
    return pdf_file
