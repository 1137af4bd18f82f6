"""Fast counting of character classes defined by Unicode categories.

``re`` has no ``\\p{...}``. The classes here are built once per process from
:mod:`unicodedata` for the Basic Multilingual Plane, where ``re`` compiles them
into a bitmap (a lookup per character, in C); one plain range matches every
character beyond it, and those rare matches are classified in Python. The
counters search for the *rare* class (controls, non-letters) with ``findall``
so clean text costs one C scan per side.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_ASTRAL = "\U00010000-\U0010ffff"
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})


def _bmp_class(predicate) -> str:
    """A ``[...]`` class of the BMP code points where ``predicate(cp)`` holds,
    plus every astral code point (classified by the caller)."""
    parts = []
    start = None
    for cp in range(0x10001):
        hit = cp < 0x10000 and predicate(cp)
        if hit and start is None:
            start = cp
        elif not hit and start is not None:
            a, b = start, cp - 1
            parts.append(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}")
            start = None
    return "[" + "".join(parts) + _ASTRAL + "]"


@functools.lru_cache(maxsize=None)
def _bmp_categories() -> tuple[str, ...]:
    return tuple(unicodedata.category(chr(cp)) for cp in range(0x10000))


def is_control(ch: str, allow: str = "") -> bool:
    """Control or non-printing: categories Cc, Cf, Co, Cs, Cn, or U+FFFD."""
    return ch not in allow and (ch == "\ufffd" or unicodedata.category(ch) in _CONTROL_CATEGORIES)


def is_letter(ch: str) -> bool:
    """Letters and combining marks (L*, M*)."""
    return unicodedata.category(ch)[0] in "LM"


class ControlCounter:
    """Counts control and non-printing characters of a text.

    Categories Cc (C0/C1 controls, tab and newline included: they break line
    and TSV formats downstream), Cf (format: zero-width spaces, bidi marks,
    BOM...), Co (private use), Cs (surrogates), Cn (unassigned) and U+FFFD (the
    replacement character left by broken decoding). ``allow`` lists characters
    never counted: by default ZWNJ and ZWJ, which Persian and Indic scripts need.
    """

    def __init__(self, allow: str = "\u200c\u200d"):
        self.allow = allow
        self._pattern = _control_pattern(allow)

    def __call__(self, text: str) -> int:
        # isprintable() is False for every control/format/unassigned character
        # (and for spaces other than " "): clean text exits here.
        if text.isprintable() and "\ufffd" not in text:
            return 0
        found = self._pattern.findall(text)
        return sum(1 for ch in found if ch < "\U00010000" or is_control(ch, self.allow))


@functools.lru_cache(maxsize=None)
def _control_pattern(allow: str) -> "re.Pattern[str]":
    cats = _bmp_categories()
    allowed = {ord(c) for c in allow}
    return re.compile(_bmp_class(lambda cp: (cats[cp] in _CONTROL_CATEGORIES or cp == 0xFFFD) and cp not in allowed))


@functools.lru_cache(maxsize=None)
def _nonletter_pattern() -> "re.Pattern[str]":
    cats = _bmp_categories()
    return re.compile(_bmp_class(lambda cp: cats[cp][0] not in "LM" and cp != 0x20))


def count_letters(text: str) -> tuple[int, int]:
    """``(letters, visible)``: letters and combining marks, and characters
    other than the ASCII space."""
    visible = len(text) - text.count(" ")
    found = _nonletter_pattern().findall(text)
    if found and max(found) >= "\U00010000":
        return visible - sum(1 for ch in found if ch < "\U00010000" or not is_letter(ch)), visible
    return visible - len(found), visible
