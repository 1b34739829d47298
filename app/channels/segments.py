"""How many SMS segments a text costs: GSM-7 when every character is in GSM 03.38, else UCS-2.

Carriers bill and rate-limit per segment, so the delivery job counts segments before it sends.
Multipart messages carry a 6-byte header (UDH), which leaves 153 septets (GSM-7) or 67 UTF-16
code units (UCS-2) per part. A part never ends in the middle of an escape pair (GSM-7) or a
surrogate pair (UCS-2), so parts are filled one character at a time rather than divided out.
"""

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# Twilio refuses bodies longer than this (error 21617).
MAX_SMS_CHARS = 1600

GSM7_SINGLE_LIMIT = 160
GSM7_PART_LIMIT = 153
UCS2_SINGLE_LIMIT = 70
UCS2_PART_LIMIT = 67

# GSM 03.38 default alphabet, in code order 0x00-0x7F (0x1B, the escape to the extension
# table, is left out: it is not a character a text can contain).
GSM7_BASIC_CHARS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each is sent as ESC + code, so it costs two septets.
GSM7_EXTENSION_CHARS = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True)
class SegmentCount:
    encoding: Encoding
    # septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2
    units: int
    segments: int
    # how many units fit in each segment of this message: 160/153 (GSM-7) or 70/67 (UCS-2)
    per_segment: int


def is_gsm7(text: str) -> bool:
    """True when every character of `text` can be sent in the GSM 03.38 alphabet."""
    return all(char in GSM7_BASIC_CHARS or char in GSM7_EXTENSION_CHARS for char in text)


def _gsm7_units(char: str) -> int:
    return 2 if char in GSM7_EXTENSION_CHARS else 1


def _ucs2_units(char: str) -> int:
    # Characters beyond the Basic Multilingual Plane (most emoji) take a surrogate pair.
    return 2 if ord(char) > 0xFFFF else 1


def count_segments(text: str) -> SegmentCount:
    """Count the encoding, units and segments `text` takes as one SMS.

    An empty text still counts as one segment: anything that is sent occupies at least one.
    """
    if is_gsm7(text):
        encoding: Encoding = "GSM-7"
        unit_cost, single_limit, part_limit = _gsm7_units, GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT
    else:
        encoding = "UCS-2"
        unit_cost, single_limit, part_limit = _ucs2_units, UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT

    costs = [unit_cost(char) for char in text]
    units = sum(costs)
    if units <= single_limit:
        return SegmentCount(encoding, units, 1, single_limit)

    segments, used = 1, 0
    for cost in costs:
        if used + cost > part_limit:  # this character would straddle two parts: start a new one
            segments += 1
            used = 0
        used += cost
    return SegmentCount(encoding, units, segments, part_limit)
