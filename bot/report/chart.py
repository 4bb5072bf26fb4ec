"""A small stacked bar chart as a PNG, drawn with the standard library (zlib + struct): no image library.

Bars are numbered 1…N under the axis and carry their total on top (a 3×5 pixel digit font, scaled); the
caption under the picture in the document says what each number and colour means, in Vietnamese.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

RGB = tuple[int, int, int]

# 3×5 digits, one string of 15 bits per digit (rows top to bottom).
_DIGITS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001111",
}
WHITE: RGB = (255, 255, 255)
INK: RGB = (40, 40, 40)
GRID: RGB = (215, 215, 215)
PALETTE: tuple[RGB, ...] = ((46, 125, 50), (25, 118, 210), (251, 192, 45), (158, 158, 158), (211, 47, 47),
                            (123, 31, 162))


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(WHITE * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: RGB) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        row = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start:start + len(row)] = row

    def number(self, text: str, cx: int, top: int, scale: int = 3, color: RGB = INK) -> None:
        """Digits centred on `cx`, their top at `top`."""
        width = len(text) * 4 * scale - scale
        x = cx - width // 2
        for ch in text:
            bits = _DIGITS.get(ch)
            if bits:
                for i, bit in enumerate(bits):
                    if bit == "1":
                        px, py = x + (i % 3) * scale, top + (i // 3) * scale
                        self.rect(px, py, px + scale, py + scale, color)
            x += 4 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.pixels[y * self.width * 3:(y + 1) * self.width * 3])
                       for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                + chunk(b"IEND", b""))


def stacked_bars(bars: Sequence[Sequence[int]], width: int = 900, height: int = 420) -> bytes:
    """One bar per entry of `bars`, stacked from its parts (colours from PALETTE in order)."""
    canvas = Canvas(width, height)
    left, right, top, bottom = 40, 20, 40, 50
    plot_h = height - top - bottom
    biggest = max([sum(b) for b in bars] + [1])
    for i in range(5):  # light grid lines at quarters
        y = top + plot_h * i // 4
        canvas.rect(left, y, width - right, y + 1, GRID)
    canvas.rect(left, top + plot_h, width - right, top + plot_h + 2, INK)
    n = max(len(bars), 1)
    slot = (width - left - right) / n
    bar_w = max(6, int(slot * 0.6))
    for i, parts in enumerate(bars):
        cx = int(left + slot * i + slot / 2)
        y = top + plot_h
        for j, value in enumerate(parts):
            h = round(plot_h * value / biggest)
            canvas.rect(cx - bar_w // 2, y - h, cx + bar_w // 2, y, PALETTE[j % len(PALETTE)])
            y -= h
        canvas.number(str(sum(parts)), cx, y - 20)
        canvas.number(str(i + 1), cx, top + plot_h + 12, color=(90, 90, 90))
    return canvas.png()
