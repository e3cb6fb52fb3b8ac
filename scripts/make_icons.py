#!/usr/bin/env python3
"""Draw the app icons (static/icons/*.png) from the shapes of static/icons/icon.svg, stdlib only.

    python3 scripts/make_icons.py

Home screens want PNGs at 192 and 512 pixels; the maskable one fills its square and keeps the
speech bubble inside the middle 80% that Android's masks never cut. Run again after changing
the SVG's colours or shapes here too: the two are kept alike by hand.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "static" / "icons"
ACCENT = (0x4F, 0x46, 0xE5)  # --accent in static/css/app.css
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per axis: 16 samples a pixel smooth the edges


def in_rounded_rect(x: float, y: float, x0: float, y0: float, x1: float, y1: float, r: float) -> bool:
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return x0 <= x <= x1 and y0 <= y <= y1 and (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def in_triangle(x: float, y: float, a: tuple, b: tuple, c: tuple) -> bool:
    def side(p, q):
        return (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1])

    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    return not ((d1 < 0 or d2 < 0 or d3 < 0) and (d1 > 0 or d2 > 0 or d3 > 0))


def in_bubble(x: float, y: float) -> bool:
    """The speech bubble of icon.svg, in its 32-unit coordinates."""
    return in_rounded_rect(x, y, 6, 9, 26, 22, 3) or in_triangle(x, y, (15, 22), (10, 26), (10, 21))


def pixel(x: float, y: float, maskable: bool) -> tuple[int, int, int, int] | None:
    if maskable:
        # Full-bleed background; the bubble scaled to 80% about the centre (the safe zone).
        bx, by = 16 + (x - 16) / 0.8, 16 + (y - 16) / 0.8
        return (*WHITE, 255) if in_bubble(bx, by) else (*ACCENT, 255)
    if not in_rounded_rect(x, y, 0, 0, 32, 32, 7):
        return None
    return (*WHITE, 255) if in_bubble(x, y) else (*ACCENT, 255)


def render(size: int, maskable: bool = False) -> bytes:
    rows = []
    scale = 32 / size
    n = SAMPLES * SAMPLES
    for py in range(size):
        row = bytearray([0])  # PNG filter type 0 for the row
        for px in range(size):
            r = g = b = a = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = (px + (sx + 0.5) / SAMPLES) * scale
                    y = (py + (sy + 0.5) / SAMPLES) * scale
                    found = pixel(x, y, maskable)
                    if found:
                        r, g, b, a = r + found[0], g + found[1], b + found[2], a + 255
            covered = a // 255
            if covered:
                row += bytes((r // covered, g // covered, b // covered, a // n))
            else:
                row += b"\0\0\0\0"
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("maskable-512.png", 512, True),
    ):
        (ICONS / name).write_bytes(render(size, maskable))
        print(f"wrote static/icons/{name}")


if __name__ == "__main__":
    main()
