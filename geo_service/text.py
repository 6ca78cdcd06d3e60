"""Text from data made safe to draw: no bidi or invisible control characters, and a bounded length.

A compound name with a right-to-left override (U+202E) reversed the rest of a report's subtitle
("573" for 375), and a 10,000-character name drew across the whole page. Data keep the full text;
only what is drawn passes through here.
"""

from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "…"
# Bidi embeddings, overrides and isolates, marks, and invisible characters that change how text reads.
_BIDI = {*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C}
_INVISIBLE = {0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x180E}


def drawable(text: object, max_chars: int | None = None) -> str:
    """``text`` without bidi controls, invisible or control characters (newlines and tabs become spaces),
    cut to ``max_chars`` characters with an ellipsis."""
    out = []
    for ch in str(text):
        code = ord(ch)
        if code in _BIDI or code in _INVISIBLE:
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            out.append(" " if ch in "\t\n\r" else "")
        elif category in ("Cf", "Cs", "Co", "Cn") and not _is_emoji_part(code):
            continue
        else:
            out.append(ch)
    s = "".join(out)
    if max_chars is not None and len(s) > max_chars:
        s = s[: max(0, max_chars - 1)].rstrip() + ELLIPSIS
    return s


def _is_emoji_part(code: int) -> bool:
    """Tag characters and variation selectors that belong to emoji sequences (harmless when drawn)."""
    return 0xE0020 <= code <= 0xE007F or 0xFE00 <= code <= 0xFE0F


# A spreadsheet runs a cell starting with =, +, -, @ (or a tab / carriage return) as a formula: the OWASP
# CSV-injection rule. Plain numbers such as -95.88 are left alone.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (shown as text)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value
