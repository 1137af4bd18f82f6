"""Compiled character classes built once per process from Unicode categories.

``re`` has no ``\\p{...}``; scanning the code space with :mod:`unicodedata`
once (~0.2 s) gives exact classes for the running Python's Unicode version, and
counting with ``len(s) - len(cls.sub("", s))`` keeps the per-pair work in C.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata


def _class_from(predicate) -> str:
    ranges = []
    start = None
    for cp in range(sys.maxunicode + 2):
        hit = cp <= sys.maxunicode and predicate(cp)
        if hit and start is None:
            start = cp
        elif not hit and start is not None:
            ranges.append((start, cp - 1))
            start = None
    parts = []
    for a, b in ranges:
        parts.append(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}")
    return "[" + "".join(parts) + "]"


@functools.lru_cache(maxsize=None)
def _categories() -> tuple[str, ...]:
    return tuple(unicodedata.category(chr(cp)) for cp in range(sys.maxunicode + 1))


@functools.lru_cache(maxsize=None)
def control_class(allow: str = "\u200c\u200d") -> "re.Pattern[str]":
    """Control and non-printing characters.

    Categories Cc (C0/C1 controls, including tab and newline: both break line
    and TSV formats downstream), Cf (format: zero-width spaces, bidi marks,
    BOM...), Co (private use), Cs (surrogates), Cn (unassigned) and U+FFFD (the
    replacement character left by broken decoding). ``allow`` lists characters
    kept anyway: by default ZWNJ/ZWJ, which Persian and Indic scripts need.
    """
    cats = _categories()
    allowed = {ord(c) for c in allow}
    bad = {"Cc", "Cf", "Co", "Cs", "Cn"}
    return re.compile(_class_from(lambda cp: (cats[cp] in bad or cp == 0xFFFD) and cp not in allowed))


@functools.lru_cache(maxsize=None)
def letter_class() -> "re.Pattern[str]":
    """Letters and combining marks (L*, M*): Indic vowel signs count as letters."""
    cats = _categories()
    return re.compile(_class_from(lambda cp: cats[cp][0] in "LM"))


def count(pattern: "re.Pattern[str]", text: str) -> int:
    """Number of characters of ``text`` in the class ``pattern``."""
    return len(text) - len(pattern.sub("", text))
