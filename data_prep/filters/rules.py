"""Rule-based pair filters (OpusFilter-style cleaning, cheap and stateless).

Lengths are counted in words (whitespace tokens) for scripts written with
spaces and in characters for scripts without them (Chinese, Japanese, Thai,
Khmer, ... see :attr:`lmt.languages.Language.spaceless`), so one limit fits a
German and a Chinese side alike.

Each filter's ``decide`` is a tight loop over the batch (no per-pair method
call); ``accept`` gives the same decision for one score, for re-tuning.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import unicodedata
from typing import Optional

from data_prep.filters.base import Filter, check_range, per_language, register_filter
from data_prep.filters.unicode_classes import ControlCounter, count_letters
from lmt.languages import get_language


@per_language
def _spaceless(code: str) -> bool:
    return get_language(code).spaceless


def _length(text: str, chars: bool) -> int:
    return len(text.strip()) if chars else len(text.split())


def _unit_is_chars(unit: str, lang: str) -> bool:
    return _spaceless(lang) if unit == "auto" else unit == "chars"


@register_filter
class LengthFilter(Filter):
    """Length sanity on both sides.

    Score: ``(src_len, tgt_len, src_in_chars, tgt_in_chars, src_chars,
    tgt_chars)``; lengths are words for spaced scripts and characters for
    spaceless ones (``unit: auto``), and every side, whatever its script, is
    also capped at ``char_limit`` characters (a 10,000-letter "word" is one
    word but no sentence).

    Args:
        min_words: shortest side allowed, in words (spaced scripts).
        max_words: longest side allowed, in words (spaced scripts).
        min_chars: shortest side allowed, in characters (spaceless scripts).
        max_chars: longest side allowed, in characters (spaceless scripts).
        char_limit: longest side allowed, in characters, for every script.
        unit: ``auto`` (by script), ``words`` or ``chars`` for every side.
    """

    name = "length"
    cost = 0.1

    def __init__(
        self,
        min_words: int = 1,
        max_words: int = 250,
        min_chars: int = 1,
        max_chars: int = 750,
        char_limit: int = 2000,
        unit: str = "auto",
    ):
        for key, value in (
            ("min_words", min_words), ("max_words", max_words), ("min_chars", min_chars), ("max_chars", max_chars),
            ("char_limit", char_limit),
        ):
            check_range(key, value, 0)
        if unit not in ("auto", "words", "chars"):
            raise ValueError(f"unit must be auto, words or chars, got {unit!r}")
        self.min_words, self.max_words = min_words, max_words
        self.min_chars, self.max_chars = min_chars, max_chars
        self.char_limit = char_limit
        self.unit = unit

    def score(self, pairs: list[dict]) -> list:
        unit = self.unit
        out = []
        for p in pairs:
            sc = _unit_is_chars(unit, p["src_lang"])
            tc = _unit_is_chars(unit, p["tgt_lang"])
            src, tgt = p["src"], p["tgt"]
            out.append((_length(src, sc), _length(tgt, tc), sc, tc, len(src), len(tgt)))
        return out

    def accept(self, score):
        reason = self.decide([score])[0]
        return (True, "") if reason is None else (False, reason)

    def decide(self, scores: list) -> list[Optional[str]]:
        wlo, whi, clo, chi, cap = self.min_words, self.max_words, self.min_chars, self.max_chars, self.char_limit
        out: list[Optional[str]] = []
        for s, t, sc, tc, s_chars, t_chars in scores:
            lo, hi = (clo, chi) if sc else (wlo, whi)
            if s < lo:
                out.append("src_too_short")
                continue
            if s > hi or s_chars > cap:
                out.append("src_too_long")
                continue
            lo, hi = (clo, chi) if tc else (wlo, whi)
            out.append("tgt_too_short" if t < lo else "tgt_too_long" if t > hi or t_chars > cap else None)
        return out

    def columns(self, score) -> dict[str, float]:
        return {
            "length_src": float(score[0]),
            "length_tgt": float(score[1]),
            "length_src_chars": float(score[4]),
            "length_tgt_chars": float(score[5]),
        }

    def from_columns(self, row: dict):
        return (
            row["length_src"], row["length_tgt"],
            _unit_is_chars(self.unit, row["src_lang"]), _unit_is_chars(self.unit, row["tgt_lang"]),
            row["length_src_chars"], row["length_tgt_chars"],
        )


@register_filter
class LengthRatioFilter(Filter):
    """Ratio of the longer to the shorter side (paper: drop ratio > 3.0).

    Each side is measured in its own unit (words, or characters for spaceless
    scripts, as in :class:`LengthFilter`), so English-Chinese pairs compare
    words with characters instead of failing on character counts. An empty side
    gives ``inf``.

    Args:
        max_ratio: highest accepted ratio.
        unit: ``auto``, ``words`` or ``chars``.
    """

    name = "length_ratio"
    cost = 0.1

    def __init__(self, max_ratio: float = 3.0, unit: str = "auto"):
        check_range("max_ratio", max_ratio, 1.0)
        if unit not in ("auto", "words", "chars"):
            raise ValueError(f"unit must be auto, words or chars, got {unit!r}")
        self.max_ratio = max_ratio
        self.unit = unit

    def score(self, pairs: list[dict]) -> list:
        unit = self.unit
        out = []
        for p in pairs:
            a = _length(p["src"], _unit_is_chars(unit, p["src_lang"]))
            b = _length(p["tgt"], _unit_is_chars(unit, p["tgt_lang"]))
            lo, hi = (a, b) if a <= b else (b, a)
            out.append(hi / lo if lo else math.inf)
        return out

    def accept(self, score):
        return (True, "") if score <= self.max_ratio else (False, "too_high")

    def decide(self, scores: list) -> list[Optional[str]]:
        m = self.max_ratio
        return [None if r <= m else "too_high" for r in scores]


_NON_WORD = re.compile(r"[\W_]+")


@register_filter
class SrcEqualsTgtFilter(Filter):
    """Drop pairs whose two sides are the same text (untranslated copies).

    Score: ``1.0`` when identical, else ``0.0``. With ``normalize`` the sides
    are compared case-folded with punctuation, symbols and spaces removed, so
    ``"Hello, world!"`` equals ``"hello world"``.

    Args:
        normalize: compare normalised text instead of the raw strings.
    """

    name = "src_equals_tgt"
    cost = 0.1

    def __init__(self, normalize: bool = True):
        self.normalize = bool(normalize)

    def score(self, pairs: list[dict]) -> list:
        if not self.normalize:
            return [1.0 if p["src"].strip() == p["tgt"].strip() else 0.0 for p in pairs]
        sub = _NON_WORD.sub
        out = []
        for p in pairs:
            src, tgt = p["src"], p["tgt"]
            if src == tgt:
                out.append(1.0)
                continue
            # Dropping whitespace with split/join first (C speed) leaves the
            # regex only the punctuation runs to remove.
            a = sub("", "".join(src.split())).casefold()
            b = sub("", "".join(tgt.split())).casefold()
            out.append(1.0 if a == b else 0.0)
        return out

    def accept(self, score):
        return (True, "") if score < 1.0 else (False, "identical")

    def decide(self, scores: list) -> list[Optional[str]]:
        return [None if s < 1.0 else "identical" for s in scores]


@register_filter
class ControlCharsFilter(Filter):
    """Control and non-printing characters (see :class:`ControlCounter`).

    Score: ``(src_count, tgt_count)``.

    Args:
        max_count: most such characters allowed per side.
        allow: characters never counted (default ZWNJ and ZWJ, which Persian
            and Indic orthographies use).
    """

    name = "control_chars"
    cost = 0.15

    def __init__(self, max_count: int = 0, allow: str = "\u200c\u200d"):
        check_range("max_count", max_count, 0)
        if not isinstance(allow, str):
            raise ValueError(f"allow must be a string of characters, got {allow!r}")
        self.max_count = max_count
        self.allow = allow
        self._counter = None

    def __getstate__(self):
        # The compiled class is large: rebuild it in the receiving process.
        state = dict(self.__dict__)
        state["_counter"] = None
        return state

    def score(self, pairs: list[dict]) -> list:
        if self._counter is None:
            self._counter = ControlCounter(self.allow)
        n = self._counter
        return [(n(p["src"]), n(p["tgt"])) for p in pairs]

    def accept(self, score):
        if score[0] > self.max_count:
            return False, "src_control_chars"
        if score[1] > self.max_count:
            return False, "tgt_control_chars"
        return True, ""

    def decide(self, scores: list) -> list[Optional[str]]:
        m = self.max_count
        return [None if s <= m and t <= m else "src_control_chars" if s > m else "tgt_control_chars" for s, t in scores]


# A number: digits (any script: \d is Unicode-aware) with inner separators.
# Separators are dropped before comparing, so "1,000.5", "1.000,5" and
# "1 000,5" all read as 10005 and decimal-comma languages agree with English.
_NUMBER = re.compile(r"\d+(?:[.,'\u00a0\u202f ]\d+)*")
_SEPARATORS = ".,'\u00a0\u202f "


@functools.lru_cache(maxsize=1)
def _digit_table() -> dict:
    """Every decimal digit (Arabic-Indic, Devanagari, fullwidth...) -> ASCII;
    separators -> deleted."""
    table: dict = {ord(c): None for c in _SEPARATORS}
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        if ch.isdecimal() and not ("0" <= ch <= "9"):
            table[cp] = str(unicodedata.decimal(ch))
    return table


def _numbers(text: str) -> frozenset:
    found = _NUMBER.findall(text)
    if not found:
        return frozenset()
    # Compare as canonical digit strings (not int(): no limit on length).
    table = _digit_table()
    return frozenset(n.translate(table).lstrip("0") or "0" for n in found)


@register_filter
class NumbersFilter(Filter):
    """Numbers that disagree between the sides.

    Score: ``(agreement, src_count, tgt_count)`` where agreement is the Jaccard
    overlap of the sets of numbers on each side (1.0 when neither side has
    any). Digits of any script are compared by value.

    Args:
        min_agreement: lowest accepted overlap (1.0: the same set of numbers).
        ignore_one_sided: accept pairs where only one side has digits (numbers
            are often spelled out: "nine o'clock" / "9 Uhr").
    """

    name = "numbers"
    cost = 0.2

    def __init__(self, min_agreement: float = 1.0, ignore_one_sided: bool = True):
        check_range("min_agreement", min_agreement, 0.0, 1.0)
        self.min_agreement = min_agreement
        self.ignore_one_sided = bool(ignore_one_sided)

    def score(self, pairs: list[dict]) -> list:
        out = []
        for p in pairs:
            a, b = _numbers(p["src"]), _numbers(p["tgt"])
            if not a and not b:
                out.append((1.0, 0, 0))
            else:
                out.append((len(a & b) / len(a | b), len(a), len(b)))
        return out

    def accept(self, score):
        agreement, n_src, n_tgt = score
        if self.ignore_one_sided and (n_src == 0 or n_tgt == 0):
            return True, ""
        return (True, "") if agreement >= self.min_agreement else (False, "mismatch")

    def columns(self, score) -> dict[str, float]:
        return {"numbers": float(score[0]), "numbers_src_count": float(score[1]), "numbers_tgt_count": float(score[2])}

    def from_columns(self, row: dict):
        return (row["numbers"], int(row["numbers_src_count"]), int(row["numbers_tgt_count"]))


@register_filter
class MinLettersFilter(Filter):
    """Too few letters: sides made mostly of digits, punctuation or symbols.

    Letters are Unicode letters and combining marks (so Indic vowel signs
    count). Score: ``(src_share, tgt_share, src_letters, tgt_letters)`` where
    share = letters / non-space characters.

    Args:
        min_share: lowest accepted share of letters per side.
        min_letters: fewest letters a side may have.
    """

    name = "min_letters"
    cost = 0.15

    def __init__(self, min_share: float = 0.5, min_letters: int = 1):
        check_range("min_share", min_share, 0.0, 1.0)
        check_range("min_letters", min_letters, 0)
        self.min_share = min_share
        self.min_letters = min_letters

    def score(self, pairs: list[dict]) -> list:
        out = []
        for p in pairs:
            s_n, s_vis = count_letters(p["src"])
            t_n, t_vis = count_letters(p["tgt"])
            out.append((s_n / s_vis if s_vis else 0.0, t_n / t_vis if t_vis else 0.0, s_n, t_n))
        return out

    def accept(self, score):
        s_share, t_share, s_n, t_n = score
        if s_share < self.min_share or s_n < self.min_letters:
            return False, "src_few_letters"
        if t_share < self.min_share or t_n < self.min_letters:
            return False, "tgt_few_letters"
        return True, ""

    def columns(self, score) -> dict[str, float]:
        return {
            "letters_src": float(score[0]),
            "letters_tgt": float(score[1]),
            "letters_src_count": float(score[2]),
            "letters_tgt_count": float(score[3]),
        }

    def from_columns(self, row: dict):
        return (row["letters_src"], row["letters_tgt"], row["letters_src_count"], row["letters_tgt_count"])
