"""A photo as it is stored: decoded (the bytes decide what it is, never the file name or the
declared type), turned upright, flattened to RGB, scaled to at most `max_side` pixels, and
written again as JPEG with no metadata at all — EXIF (camera, time, GPS position), XMP and
ICC profiles are personal data or noise, and re-encoding from pixels drops every one of them.
A thumbnail goes with it for lists and timelines."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1000 * 1000
"""The largest photo taken (contract §9: 10 MB); larger is a 413."""
FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 50_000_000
"""More pixels than any phone camera takes: a decompression bomb, refused before decoding."""
THUMB_SIDE = 320
QUALITY = 82
THUMB_QUALITY = 70


class PhotoError(ValueError):
    """A photo that is not taken; the message says why."""


class NotAPhoto(PhotoError):
    """Not a JPEG, PNG or WebP image that decodes (415)."""


class PhotoTooLarge(PhotoError):
    """Over the upload limit, or over the ticket's budget (413)."""


@dataclass(frozen=True, slots=True)
class Encoded:
    image: bytes  # JPEG, no metadata
    thumb: bytes  # JPEG, at most THUMB_SIDE pixels a side
    width: int
    height: int
    received_bytes: int


def _jpeg(im: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def reencode(data: bytes, max_side: int = 2048) -> Encoded:
    """The stored form of an uploaded photo, or NotAPhoto / PhotoTooLarge."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoTooLarge(f"a photo may be at most {MAX_UPLOAD_BYTES // 1_000_000} MB")
    if not data:
        raise NotAPhoto("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as src:
                if src.width * src.height > MAX_PIXELS:
                    raise NotAPhoto(f"{src.width}×{src.height} pixels is more than a photo")
                src.load()
                upright = ImageOps.exif_transpose(src)
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NotAPhoto("not a JPEG, PNG or WebP image") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise NotAPhoto("the image is damaged and cannot be decoded") from None
    if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = upright.convert("RGB")
    # A fresh image from the pixels alone: nothing of the original's info travels.
    clean = Image.frombytes("RGB", flat.size, flat.tobytes())
    clean.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    thumb = clean.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Encoded(
        image=_jpeg(clean, QUALITY),
        thumb=_jpeg(thumb, THUMB_QUALITY),
        width=clean.width,
        height=clean.height,
        received_bytes=len(data),
    )
