"""The ``script`` filter: each side is written in its language's script and variety.

Every FLORES code names a script (``rus_Cyrl``, ``zho_Hans``); a side passes when
at least ``min_share`` of its words (letter runs of one script; each Han or
kana character counts as one) are in that script (see
:func:`lmt.scripts.script_word_share`), so a Latin name inside a
Chinese or Russian sentence does not fail it, transliterated text does. Chinese-script sides are checked further
(:mod:`data_prep.filters.chinese`), because language ID cannot tell the
varieties apart:

* a ``Hans`` side holding Traditional characters, or a ``Hant`` side holding
  Simplified-only ones, is dropped (``tgt_traditional``/``tgt_simplified``) or
  converted to the expected script, by language (``variety``; default: drop
  for ``zho_Hans``, whose Traditional-script lines are mostly Taiwan/Hong Kong
  text mislabelled by the corpus);
* Cantonese-only characters on a Mandarin side (``zho_Hans``, ``zho_Hant``) drop
  the pair (``tgt_cantonese``), by language (``cantonese``).

Conversions are counted as ``script:<side>_converted`` in the manifest's notes.

```yaml
filters:
  defaults:
    script: {min_share: 0.5}
  per_language:
    zho_Hans:
      script: {variety: {zho_Hans: convert}}   # Traditional -> Simplified instead of dropping
```
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Optional

from data_prep.filters.base import Filter, check_range, per_language, register_filter
from data_prep.filters.chinese import (
    cantonese_count,
    simplified_count,
    to_simplified,
    to_traditional,
    traditional_count,
)
from lmt.errors import UnknownLanguageError
from lmt.languages import get_language, normalize_code
from lmt.scripts import script_word_share

POLICIES = ("drop", "convert", "keep")
DEFAULT_VARIETY = {"zho_Hans": "drop"}
DEFAULT_CANTONESE = {"zho_Hans": "drop", "zho_Hant": "drop"}


@per_language
def _script(code: str) -> str:
    return get_language(code).script


class ScriptScore(NamedTuple):
    """Per side: share of words in the expected script (NaN: no letters or
    unknown script), characters of the other Chinese script, Cantonese-only
    characters (0 for non-Chinese sides)."""

    src_lang: str
    src_share: float
    src_other: int
    src_yue: int
    tgt_lang: str
    tgt_share: float
    tgt_other: int
    tgt_yue: int


def _policies(value: Optional[dict], default: dict, key: str, allowed: tuple[str, ...]) -> dict[str, str]:
    out = dict(default)
    for code, policy in (value or {}).items():
        if policy not in allowed:
            raise ValueError(f"{key}.{code}: expected one of {', '.join(allowed)}, got {policy!r}")
        try:
            out[normalize_code(code)] = policy
        except UnknownLanguageError as err:
            raise ValueError(f"{key}.{code}: {err}") from None
    return out


@register_filter
class ScriptFilter(Filter):
    """Writing system and Chinese variety of each side (see the module docs).

    Reasons: ``src_wrong_script``/``tgt_wrong_script``, ``<side>_traditional``
    (Traditional text on a Simplified side), ``<side>_simplified`` (the
    reverse), ``<side>_cantonese``.

    Args:
        min_share: lowest share of a side's words in its language's script;
            a per-language rule's value reaches that side only.
        variety: language -> ``drop``/``convert``/``keep`` for text in the other
            Chinese script (merged over ``{zho_Hans: drop}``).
        cantonese: language -> ``drop``/``keep`` for Cantonese-only characters
            (merged over ``{zho_Hans: drop, zho_Hant: drop}``).
        max_cantonese: Cantonese-only characters tolerated before ``cantonese`` applies.
    """

    name = "script"
    cost = 0.2
    side_params = ("min_share",)

    def __init__(
        self,
        min_share: float = 0.5,
        src_min_share: Optional[float] = None,
        tgt_min_share: Optional[float] = None,
        variety: Optional[dict] = None,
        cantonese: Optional[dict] = None,
        max_cantonese: int = 0,
    ):
        for key, value in (("min_share", min_share), ("src_min_share", src_min_share), ("tgt_min_share", tgt_min_share)):
            check_range(key, value, 0.0, 1.0, allow_none=key != "min_share")
        check_range("max_cantonese", max_cantonese, 0)
        self.min_share = min_share
        self.src_min_share, self.tgt_min_share = src_min_share, tgt_min_share
        self.variety = _policies(variety, DEFAULT_VARIETY, "variety", POLICIES)
        self.cantonese = _policies(cantonese, DEFAULT_CANTONESE, "cantonese", ("drop", "keep"))
        self.max_cantonese = max_cantonese

    def _side_score(self, text: str, lang: str) -> tuple[float, int, int]:
        script = _script(lang)
        share = script_word_share(text, "Hani" if script in ("Hans", "Hant") else script)
        share = math.nan if share is None or (share == 0.0 and not any(c.isalpha() for c in text)) else share
        if script == "Hans":
            return share, traditional_count(text), cantonese_count(text)
        if script == "Hant":
            return share, simplified_count(text), cantonese_count(text)
        return share, 0, 0

    def score(self, pairs: list[dict]) -> list:
        out = []
        for p in pairs:
            s = self._side_score(p["src"], p["src_lang"])
            t = self._side_score(p["tgt"], p["tgt_lang"])
            out.append(ScriptScore(p["src_lang"], *s, p["tgt_lang"], *t))
        return out

    def _side(self, lang: str, share: float, other: int, yue: int, side: str) -> Optional[str]:
        limit = self.src_min_share if side == "src" else self.tgt_min_share
        limit = self.min_share if limit is None else limit
        if share < limit:  # NaN (no letters, unknown script): not checked
            return f"{side}_wrong_script"
        if other and self.variety.get(lang, "keep") == "drop":
            return f"{side}_traditional" if _script(lang) == "Hans" else f"{side}_simplified"
        if yue > self.max_cantonese and self.cantonese.get(lang, "keep") == "drop":
            return f"{side}_cantonese"
        return None

    def accept(self, score: ScriptScore):
        s = score
        reason = self._side(s.src_lang, s.src_share, s.src_other, s.src_yue, "src") or self._side(
            s.tgt_lang, s.tgt_share, s.tgt_other, s.tgt_yue, "tgt"
        )
        return (True, "") if reason is None else (False, reason)

    def rewrite(self, pairs: list[dict], scores: list) -> dict[str, int]:
        events: dict[str, int] = {}
        for p, s in zip(pairs, scores):
            for side, other in (("src", s.src_other), ("tgt", s.tgt_other)):
                lang = p[f"{side}_lang"]
                if other and self.variety.get(lang) == "convert":
                    convert = to_simplified if _script(lang) == "Hans" else to_traditional
                    p[side] = convert(p[side])
                    key = f"{side}_converted"
                    events[key] = events.get(key, 0) + 1
        return events

    def columns(self, score: ScriptScore) -> dict[str, Any]:
        return {
            "script_src": float(score.src_share),
            "script_tgt": float(score.tgt_share),
            "script_src_other": float(score.src_other),
            "script_tgt_other": float(score.tgt_other),
            "script_src_yue": float(score.src_yue),
            "script_tgt_yue": float(score.tgt_yue),
        }

    def from_columns(self, row: dict) -> ScriptScore:
        return ScriptScore(
            row["src_lang"], row["script_src"], int(row["script_src_other"]), int(row["script_src_yue"]),
            row["tgt_lang"], row["script_tgt"], int(row["script_tgt_other"]), int(row["script_tgt_yue"]),
        )
