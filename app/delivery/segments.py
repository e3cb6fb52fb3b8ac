"""SMS segment counting as carriers (and Telnyx's bill) count it: GSM-7 or UCS-2."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# GSM 03.38 default alphabet (ESC at 0x1B excluded: it only introduces the extension table).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each is sent as ESC + char, so it costs two septets.
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")
GSM7 = GSM7_BASIC | GSM7_EXTENDED

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67
# Telnyx refuses bodies longer than this many segments.
MAX_SEGMENTS = 10
# What one outbound SMS segment costs on a US long code (10DLC) at Telnyx list price, before
# carrier pass-through fees. It only feeds estimates (composer, reply counter); the bill is the provider's.
PRICE_PER_SEGMENT = Decimal("0.004")
# MMS is billed per message, not per segment.
PRICE_PER_MMS = Decimal("0.015")


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How a message body will be encoded and billed."""

    encoding: str  # "GSM-7" or "UCS-2"
    length: int  # code units: septets for GSM-7, UTF-16 units for UCS-2
    segments: int  # 0 for an empty body
    unicode_chars: tuple[str, ...]  # distinct characters that forced UCS-2, in order of appearance
    remaining: int  # units left in the current segment before another one starts

    @property
    def per_segment(self) -> int:
        """Capacity of one segment at the current length (single vs concatenated)."""
        gsm = self.encoding == "GSM-7"
        if self.segments <= 1:
            return GSM7_SINGLE if gsm else UCS2_SINGLE
        return GSM7_MULTI if gsm else UCS2_MULTI

    @property
    def too_long(self) -> bool:
        """More segments than Telnyx accepts in one message."""
        return self.segments > MAX_SEGMENTS


def analyze(text: str) -> SegmentInfo:
    """Count encoding, length and segments of `text` as Telnyx bills it."""
    unicode_chars = tuple(dict.fromkeys(ch for ch in text if ch not in GSM7))
    if unicode_chars:
        encoding, single, multi = "UCS-2", UCS2_SINGLE, UCS2_MULTI
        # Characters outside the BMP are a UTF-16 surrogate pair: two units, never split.
        costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    else:
        encoding, single, multi = "GSM-7", GSM7_SINGLE, GSM7_MULTI
        costs = [2 if ch in GSM7_EXTENDED else 1 for ch in text]
    length = sum(costs)
    if length <= single:
        return SegmentInfo(encoding, length, 1 if length else 0, unicode_chars, single - length)
    # Concatenated parts lose room to the UDH, and an escape pair or surrogate pair cannot
    # straddle two parts, so fill parts greedily instead of dividing.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments += 1
            used = 0
        used += cost
    return SegmentInfo(encoding, length, segments, unicode_chars, multi - used)


SMART_REPLACEMENTS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u00b4": "'",
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\t": " ",
    "\u00a0": " ",
    "\u202f": " ",
    "\u205f": " ",
    "\u3000": " ",
    **{chr(c): " " for c in range(0x2000, 0x200B)},
    # Invisible characters pasted from word processors; ZWJ/ZWNJ stay because emoji use them.
    "\u200b": "",
    "\u2060": "",
    "\ufeff": "",
}
_SMART_TABLE = str.maketrans(SMART_REPLACEMENTS)


def replace_smart_characters(text: str) -> str:
    """Swap curly quotes, dashes, ellipses and odd spaces for GSM-7 look-alikes."""
    return text.translate(_SMART_TABLE)
