"""A4 sheets of asset labels (contract §9): per sensor its asset, id, grid and a QR code of
`{PUBLIC_URL}/s/{sensor}` (the crew's page), and with `residents` a second code of
`{PUBLIC_URL}/r/{sensor}` (the residents' form). fpdf2 lays the sheet out, segno draws the
codes (error correction M, a quiet zone of 4 modules, so a weathered label still scans).

Eight labels a sheet (2 × 4, 95 × 66 mm, cut lines drawn); the text needs a CJK font: the
first of `FONTS` found (fonts-wqy-microhei is installed by scripts/bootstrap.sh).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF

from domain.site import Placement
from services.qr import png

FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
COLS, ROWS = 2, 4
MARGIN_X, MARGIN_Y = 10.0, 16.5
W, H = 95.0, 66.0
QR_MM = 36.0


class LabelError(RuntimeError):
    """Labels that cannot be printed (no CJK font, no sensors)."""


def crew_url(public_url: str, sensor: str) -> str:
    return f"{public_url.rstrip('/')}/s/{sensor}"


def resident_url(public_url: str, sensor: str) -> str:
    return f"{public_url.rstrip('/')}/r/{sensor}"


def _font() -> Path:
    for f in FONTS:
        if f.is_file():
            return f
    raise LabelError(
        "no CJK font for the labels: apt-get install fonts-wqy-microhei (scripts/bootstrap.sh)"
    )


def render(placements: Sequence[Placement], public_url: str, *, residents: bool = False) -> bytes:
    """The PDF of labels for `placements`, in the order given."""
    if not placements:
        raise LabelError("no sensors to label")
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title("GridWatch labels")
    pdf.set_creator("gridwatch labels")
    pdf.add_font("cjk", fname=str(_font()))
    per_page = COLS * ROWS
    for i, p in enumerate(placements):
        if i % per_page == 0:
            pdf.add_page()
        col, row = i % COLS, (i % per_page) // COLS
        _label(pdf, MARGIN_X + col * W, MARGIN_Y + row * H, p, public_url, residents)
    return bytes(pdf.output())


def _label(pdf: FPDF, x: float, y: float, p: Placement, public_url: str, residents: bool) -> None:
    pdf.set_draw_color(170, 170, 170)
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    pdf.rect(x, y, W, H)
    pdf.set_dash_pattern()
    s = p.sensor
    pdf.set_text_color(20, 30, 45)
    pdf.set_font("cjk", size=13)
    pdf.set_xy(x + 4, y + 3.5)
    pdf.cell(W - 8, 6, (s.asset or s.id)[:28])
    pdf.set_font("cjk", size=8.5)
    pdf.set_xy(x + 4, y + 10)
    pdf.cell(W - 8, 4.5, f"{s.id} · {s.kind}")
    pdf.set_xy(x + 4, y + 14.5)
    pdf.cell(W - 8, 4.5, f"{p.community.name} · {p.grid.name} ({p.grid.id})"[:48])
    codes = [(crew_url(public_url, s.id), "工作人员 · crew")]
    if residents:
        codes.append((resident_url(public_url, s.id), "居民报告问题 · report a problem"))
    qy = y + 20.5
    gap = (W - len(codes) * QR_MM) / (len(codes) + 1)
    for k, (url, caption) in enumerate(codes):
        qx = x + gap + k * (QR_MM + gap)
        pdf.image(io.BytesIO(png(url, scale=10, border=4)), x=qx, y=qy, w=QR_MM, h=QR_MM)
        pdf.set_font("cjk", size=7)
        pdf.set_xy(qx - gap / 2, qy + QR_MM + 0.5)
        pdf.cell(QR_MM + gap, 4, caption, align="C")
