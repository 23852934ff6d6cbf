"""Deterministic UUIDv7s: the timestamp is the simulated time, the random bits come from the
seeded generator, so the same seed gives the same ids (and re-sending is idempotent)."""

from __future__ import annotations

import random
from datetime import datetime

__all__ = ["IdMaker"]


class IdMaker:
    def __init__(self, seed: int, stream: str = "entities"):
        # Separate streams (world entities, events) never produce the same bits.
        self._rng = random.Random(f"ids:{stream}:{seed}")
        self._getrandbits = self._rng.getrandbits

    def uuid7(self, at: datetime) -> str:
        return self.uuid7_at(at.timestamp())

    def uuid7_at(self, stamp: float) -> str:
        """`stamp` in seconds since the epoch (the caller often has it already)."""
        millis = int(stamp * 1000) & 0xFFFF_FFFF_FFFF
        bits = self._getrandbits(74)
        # 48 bits of time, version 7, 12 random bits, variant 0b10, 62 random bits (RFC 9562).
        value = (millis << 80) | (0x7 << 76) | ((bits >> 62) << 64) | (0b10 << 62) | (bits & 0x3FFF_FFFF_FFFF_FFFF)
        h = f"{value:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def uuid4ish(self) -> str:
        """Entity ids (creators, posts, deals): random-looking, version 4, still deterministic."""
        value = self._rng.getrandbits(128)
        value = (value & ~(0xF << 76)) | (0x4 << 76)
        value = (value & ~(0x3 << 62)) | (0x2 << 62)
        text = f"{value:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
