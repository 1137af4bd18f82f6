"""Degenerate model outputs, dropped before anything is written.

Four checks, cheapest first; the first that fires names the drop
(``synth:<reason>``, counted per direction in the manifest):

* ``empty``: nothing but whitespace (the engines' blank marker ``#`` included);
* ``repeated_ngram``: an n-gram (up to ``max_ngram`` words, or characters for
  spaceless scripts) repeated ``min_repeats`` times in a row: a decoding loop;
* ``copy``: the source returned unchanged (compared casefolded, punctuation and
  spaces removed: prep's ``src_equals_tgt`` rule);
* ``wrong_script``: fewer than ``min_script_share`` of the output's letters are
  in the target language's script (a Cyrillic target answered in Latin).

Language ID and length ratio stay with ``lmt prep``, which applies all its
filters to the synthetic corpus like to any other.
"""

from __future__ import annotations

from typing import Optional, Sequence

from data_prep.filters.rules import SrcEqualsTgtFilter
from lmt.config.synth import DegenerateConfig
from lmt.generation.base import EMPTY_HYP
from lmt.languages import get_language
from lmt.scripts import script_share

REASONS = ("empty", "repeated_ngram", "copy", "wrong_script")


def has_loop(tokens: Sequence[str], min_repeats: int, max_ngram: int) -> bool:
    """Whether some n-gram (``n <= max_ngram``) occurs ``min_repeats`` times in a row.

    A period-``n`` repetition over ``n * min_repeats`` tokens is a run of
    ``n * (min_repeats - 1)`` positions with ``tokens[i] == tokens[i + n]``,
    so each ``n`` takes one pass.
    """
    for n in range(1, max_ngram + 1):
        need = n * (min_repeats - 1)
        if len(tokens) < n * min_repeats:
            break
        run = 0
        for i in range(len(tokens) - n):
            if tokens[i] == tokens[i + n]:
                run += 1
                if run >= need:
                    return True
            else:
                run = 0
    return False


class DegenerateCheck:
    """Decide which outputs of one direction are degenerate.

    Args:
        settings: thresholds (``synth.degenerate``).
        tgt_lang: FLORES code of the outputs' language.
    """

    def __init__(self, settings: DegenerateConfig, tgt_lang: str) -> None:
        self.settings = settings
        lang = get_language(tgt_lang)
        self.script = lang.script
        self.spaceless = lang.spaceless
        self.copies = SrcEqualsTgtFilter(normalize=True)

    def _tokens(self, text: str) -> Sequence[str]:
        return [c for c in text if not c.isspace()] if self.spaceless else text.split()

    def reasons(self, sources: Sequence[str], outputs: Sequence[str]) -> list[Optional[str]]:
        """One drop reason (or None to keep) per output."""
        s = self.settings
        out: list[Optional[str]] = [None] * len(outputs)
        for i, text in enumerate(outputs):
            if not text.strip() or text == EMPTY_HYP:
                out[i] = "empty"
            elif has_loop(self._tokens(text), s.min_repeats, s.max_ngram):
                out[i] = "repeated_ngram"
        if s.drop_copies:
            todo = [i for i, r in enumerate(out) if r is None]
            same = self.copies.score([{"src": sources[i], "tgt": outputs[i]} for i in todo])
            for i, score in zip(todo, same):
                if score >= 1.0:
                    out[i] = "copy"
        for i, r in enumerate(out):
            if r is None:
                share = script_share(outputs[i], self.script)
                if share is not None and share < s.min_script_share:
                    out[i] = "wrong_script"
        return out
