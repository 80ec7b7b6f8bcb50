"""Ribbon and manifest icons, drawn in code (no binary files in the repository).

A green rounded square with a white tick: PNG, RGBA, written with zlib only.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

SIZES = (16, 32, 64, 80)
GREEN = (33, 115, 70, 255)  # Excel green
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _pixel(x: float, y: float, size: int) -> tuple[int, int, int, int]:
    r = size * 0.18  # corner radius
    cx = min(max(x, r), size - r)
    cy = min(max(y, r), size - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return CLEAR
    # The tick: two strokes, (0.25, 0.52) → (0.43, 0.70) → (0.77, 0.32) of the size.
    u, v = x / size, y / size
    width = 0.085
    for (x1, y1), (x2, y2) in (((0.25, 0.52), (0.43, 0.70)), ((0.43, 0.70), (0.77, 0.32))):
        dx, dy = x2 - x1, y2 - y1
        t = max(0.0, min(1.0, ((u - x1) * dx + (v - y1) * dy) / (dx * dx + dy * dy)))
        if (u - x1 - t * dx) ** 2 + (v - y1 - t * dy) ** 2 <= width * width:
            return WHITE
    return GREEN


@lru_cache(maxsize=None)
def icon_png(size: int) -> bytes:
    if size not in SIZES:
        raise ValueError(size)
    raw = bytearray()
    for y in range(size):
        raw.append(0)  # filter: none
        for x in range(size):
            raw.extend(_pixel(x + 0.5, y + 0.5, size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + _chunk(b"IEND", b""))
