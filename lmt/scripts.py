"""Which writing system a text is in: share of letters in an ISO 15924 script.

``unicodedata`` has no script property, but every letter's Unicode name starts
with its script (``MONGOLIAN LETTER MA``, ``CJK UNIFIED IDEOGRAPH-4E2D``), which
is enough to tell scripts apart. Used where a language-ID model cannot label
a language (Inner Mongolian in traditional script under lid.176): data prep's
``lid`` filter (``unlabelable: script``) and eval's off-target rate; and by the
``script`` filter and synthesis checks of data prep.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Optional

#: ISO 15924 code -> prefixes of the Unicode character names of its letters.
SCRIPT_NAME_PREFIXES: dict[str, tuple[str, ...]] = {
    "Latn": ("LATIN",),
    "Cyrl": ("CYRILLIC",),
    "Grek": ("GREEK",),
    "Armn": ("ARMENIAN",),
    "Geor": ("GEORGIAN",),
    "Arab": ("ARABIC",),
    "Hebr": ("HEBREW",),
    "Ethi": ("ETHIOPIC",),
    "Mong": ("MONGOLIAN",),
    "Tibt": ("TIBETAN",),
    "Deva": ("DEVANAGARI",),
    "Beng": ("BENGALI",),
    "Guru": ("GURMUKHI",),
    "Gujr": ("GUJARATI",),
    "Orya": ("ORIYA",),
    "Taml": ("TAMIL",),
    "Telu": ("TELUGU",),
    "Knda": ("KANNADA",),
    "Mlym": ("MALAYALAM",),
    "Sinh": ("SINHALA",),
    "Thai": ("THAI",),
    "Laoo": ("LAO",),
    "Khmr": ("KHMER",),
    "Mymr": ("MYANMAR",),
    "Tfng": ("TIFINAGH",),
    "Olck": ("OL CHIKI",),
    "Hang": ("HANGUL",),
    "Hans": ("CJK",),
    "Hant": ("CJK",),
    "Hani": ("CJK",),
    "Jpan": ("CJK", "HIRAGANA", "KATAKANA"),
}


@functools.lru_cache(maxsize=1 << 16)
def _letter_name(ch: str) -> Optional[str]:
    """The name of a letter or mark; None for other characters and for
    script-neutral ones (generic combining marks, modifier letters)."""
    if unicodedata.category(ch)[0] not in "LM":
        return None
    name = unicodedata.name(ch, "")
    if not name or name.startswith(("COMBINING", "MODIFIER LETTER")):
        return None
    return name


def script_share(text: str, script: str) -> Optional[float]:
    """Share of the letters of ``text`` written in ``script`` (ISO 15924).

    Combining marks count with letters (Indic vowel signs). Returns ``None``
    for a script this module does not know, and 0.0 for a text without letters.
    """
    prefixes = SCRIPT_NAME_PREFIXES.get(script)
    if prefixes is None:
        return None
    letters = hits = 0
    for ch in text:
        name = _letter_name(ch)
        if name is None:
            continue
        letters += 1
        if name.startswith(prefixes):
            hits += 1
    return hits / letters if letters else 0.0


#: Scripts written without spaces between words: every character is a unit of its own.
_CHAR_UNIT_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR")


def script_word_share(text: str, script: str) -> Optional[float]:
    """Share of the words of ``text`` written in ``script`` (ISO 15924).

    A word is a run of letters (and marks) of one script; in scripts written
    without spaces (Han, kana, Thai, Lao, Khmer, Myanmar) every character
    counts as one. Counting words rather than letters keeps a Chinese sentence with a
    Latin name in brackets Chinese ("塔马基大道 (Tamaki Drive)"), while
    transliterated or wrong-script text still fails. Returns ``None`` for a
    script this module does not know and 0.0 for a text without letters.
    """
    prefixes = SCRIPT_NAME_PREFIXES.get(script)
    if prefixes is None:
        return None
    units = hits = 0
    current: Optional[str] = None  # script word of the run being read
    for ch in text:
        name = _letter_name(ch)
        if name is None:
            current = None
            continue
        key = name.split(" ", 1)[0]
        if key in _CHAR_UNIT_SCRIPTS or key != current:
            units += 1
            hits += name.startswith(prefixes)
        current = key
    return hits / units if units else 0.0
