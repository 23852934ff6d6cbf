"""Screenshots uploaded as proof: only PNG, JPEG or WebP that Pillow actually decodes, at most
`MAX_BYTES` and `MAX_PIXELS`; kept as bytes in the database with their SHA-256 and a perceptual
hash (64-bit dHash) that finds reused or near-duplicate screenshots."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import imagehash
from PIL import Image, UnidentifiedImageError

from veri.errors import Invalid, TooLarge, UnsupportedMedia

__all__ = ["ALLOWED", "MAX_BYTES", "MAX_PIXELS", "Screenshot", "read_screenshot"]

MAX_BYTES = 3 * 1024 * 1024  # below the app's request limit (4 MB), so the answer names this one
MAX_PIXELS = 40_000_000  # decompression bombs are refused before they are decoded
ALLOWED = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Screenshot:
    data: bytes
    media_type: str
    sha256: str
    image_hash: str  # 16 hex digits


def read_screenshot(data: bytes) -> Screenshot:
    if len(data) > MAX_BYTES:
        raise TooLarge(
            f"screenshot: {len(data):,} bytes is over the limit of {MAX_BYTES // (1024 * 1024)} MB",
            detail=[{"field": "screenshot", "reason": f"at most {MAX_BYTES} bytes"}],
        )
    if not data:
        raise Invalid("screenshot", "is empty")
    allowed = ", ".join(sorted(ALLOWED.values()))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                if kind not in ALLOWED:
                    raise UnsupportedMedia(
                        f"screenshot: {kind or 'this file'} is not allowed; send one of {allowed}",
                        detail=[{"field": "screenshot", "reason": f"one of {allowed}"}],
                    )
                if probe.width * probe.height > MAX_PIXELS:
                    raise TooLarge(
                        f"screenshot: {probe.width}x{probe.height} is over {MAX_PIXELS:,} pixels",
                        detail=[{"field": "screenshot", "reason": f"at most {MAX_PIXELS} pixels"}],
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                fingerprint = str(imagehash.dhash(image.convert("L")))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnsupportedMedia(
            f"screenshot: not an image Veri can read; send one of {allowed}",
            detail=[{"field": "screenshot", "reason": f"one of {allowed}"}],
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise Invalid("screenshot", "the image is damaged or truncated") from None
    return Screenshot(data, ALLOWED[kind], hashlib.sha256(data).hexdigest(), fingerprint)
