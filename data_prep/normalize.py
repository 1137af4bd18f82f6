"""Text normalisation before filtering and deduplication.

:func:`normalize_text` is what a sentence looks like in the training data:
Unicode NFC, control and non-printing characters removed (tab kept, then
treated as whitespace), every whitespace run collapsed to one space, ends
stripped. It changes bytes, not meaning.

:func:`dedup_key` is the identity used for "normalised duplicates": NFKC
(full-width and compatibility forms folded), case-folded, with punctuation,
symbols, digits and whitespace removed -- so ``"Hello, World! 2"`` and
``"hello world"`` collide. It is a key only, never training text.
"""

from __future__ import annotations

import re
import unicodedata

# C0/C1 controls (tab, newline, carriage return are whitespace, handled below),
# plus format characters that are invisible in text: zero-width space/joiners
# are kept out of this set where scripts need them (ZWJ/ZWNJ in Indic/Persian).
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0/C1 controls except \t \n \r
    "\u00ad"  # soft hyphen
    "\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"  # zero-width space, bidi marks/overrides, invisible operators
    "\ufeff\ufff9-\ufffb]"  # BOM / ZWNBSP, interlinear annotation
)
_SPACE = re.compile(r"\s+")

# Categories removed for the dedup key: punctuation (P*), symbols (S*),
# numbers (N*), separators (Z*), controls/format (Cc/Cf).
_KEY_DROP_CATEGORIES = ("P", "S", "N", "Z", "Cc", "Cf")


class _KeyTable(dict):
    """``str.translate`` table filled lazily: a character maps to None (dropped)
    or to itself, decided once per distinct character from its category."""

    def __missing__(self, cp: int):
        value = None if unicodedata.category(chr(cp)).startswith(_KEY_DROP_CATEGORIES) else cp
        self[cp] = value
        return value


_KEY_TABLE = _KeyTable()
# ASCII bytes the key drops (same categories): the ASCII fast path is ~3x faster.
_ASCII_DROP = bytes(c for c in range(128) if unicodedata.category(chr(c)).startswith(_KEY_DROP_CATEGORIES))


def normalize_text(text: str) -> str:
    """NFC, control/non-printing characters removed, whitespace collapsed, stripped.

    Args:
        text: a sentence.

    Returns:
        The normalised sentence (may be empty).
    """
    if text.isascii():
        # Fast path for the bulk of Latin-script data: NFC is the identity on ASCII.
        if text.isprintable():
            return " ".join(text.split())
        return " ".join(_CONTROL.sub("", text).split())
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    return _SPACE.sub(" ", text).strip()


def dedup_key(text: str) -> str:
    """The key under which two sentences count as normalised duplicates.

    NFKC, case-folded, without punctuation, symbols, digits or whitespace.

    Args:
        text: a sentence.

    Returns:
        The key (empty for a sentence of only punctuation/digits).
    """
    if text.isascii():
        # NFKC is the identity on ASCII and casefold equals lower.
        return text.encode("ascii").lower().translate(None, _ASCII_DROP).decode("ascii")
    return unicodedata.normalize("NFKC", text).casefold().translate(_KEY_TABLE)
