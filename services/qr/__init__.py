"""QR codes (segno): for sign-in links and labels."""

from __future__ import annotations

import io

import segno


def png(data: str, *, scale: int = 8, border: int = 4) -> bytes:
    """The QR code of `data` as a PNG (error correction M: a label survives a scratch)."""
    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def terminal(data: str) -> str:
    """The QR code drawn with block characters, for a terminal."""
    out = io.StringIO()
    segno.make(data, error="m", micro=False).terminal(out=out, compact=True)
    return out.getvalue()
