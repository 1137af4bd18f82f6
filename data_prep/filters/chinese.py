"""Chinese varieties: Simplified vs Traditional characters, Cantonese-only characters.

lid.176 labels Simplified, Traditional and written Cantonese all ``zh``, so
a ``zho_Hans`` side full of Traditional or Cantonese text passes language ID.
These helpers tell them apart with OpenCC's conversion tables (the ``opencc``
package): a Simplified text is left unchanged by Traditional -> Simplified
conversion (phrase-aware, so 著名 stays 著名), and a character counts as
Simplified-only when every Simplified -> Traditional standard (generic, Taiwan,
Hong Kong) changes it, so regional Traditional variants (台/臺, 裏/裡) are not
taken for Simplified ones. Cantonese is recognised by characters that written
Mandarin does not use (嘅, 咗, 喺, 冇 ...).
"""

from __future__ import annotations

import functools
import re

#: Characters of written Cantonese that standard written Mandarin does not use.
CANTONESE_CHARS = frozenset("嘅咗喺冇嘢哋佢啲嚟嗰噉乜嘥攞啱㗎喎囉嘞噃冚搵揾諗谂睇唔")
_CANTONESE = re.compile("[" + "".join(sorted(CANTONESE_CHARS)) + "]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


@functools.lru_cache(maxsize=None)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def _differs(text: str, converted: str) -> int:
    if len(converted) != len(text):  # phrase tables keep lengths; be safe if not
        return max(1, abs(len(converted) - len(text)))
    return sum(1 for a, b in zip(text, converted) if a != b)


def traditional_count(text: str) -> int:
    """Characters that Traditional -> Simplified conversion changes (0 for Simplified text)."""
    if not _HAN.search(text):
        return 0
    return _differs(text, _converter("t2s").convert(text))


def simplified_count(text: str) -> int:
    """Simplified-only characters: changed by every Simplified -> Traditional standard."""
    if not _HAN.search(text):
        return 0
    outs = [_converter(c).convert(text) for c in ("s2t", "s2tw", "s2hk")]
    if any(len(o) != len(text) for o in outs):
        return _differs(text, outs[0])
    return sum(1 for chars in zip(text, *outs) if all(o != chars[0] for o in chars[1:]))


def cantonese_count(text: str) -> int:
    """Cantonese-only characters in ``text``."""
    return len(_CANTONESE.findall(text))


def to_simplified(text: str) -> str:
    """Traditional -> Simplified (OpenCC ``t2s``)."""
    return _converter("t2s").convert(text)


def to_traditional(text: str) -> str:
    """Simplified -> Traditional (OpenCC ``s2t``)."""
    return _converter("s2t").convert(text)
