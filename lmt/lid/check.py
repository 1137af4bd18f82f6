"""Is a text in language X? The top-1 label, read through the label maps and confusables."""

from __future__ import annotations

from typing import Optional, Sequence

from lmt.lid.identifier import LanguageIdentifier
from lmt.lid.labels import merge_confusables


class LanguageCheck:
    """Whether texts are in their expected languages (FLORES codes).

    A top-1 label counts as language ``code`` when it identifies ``code`` or
    one of its accepted confusables (Malay also accepts Indonesian...). Data
    prep's ``lid`` filter adds probability thresholds on top; eval's off-target
    rate and the GRPO wrong-language penalty use the label check as is.

    Args:
        model_path, labels, extra_labels, max_chars, cache_size, setting: as
            for :class:`~lmt.lid.identifier.LanguageIdentifier`.
        confusables: expected language -> FLORES codes also accepted, merged
            over :data:`~lmt.lid.labels.DEFAULT_CONFUSABLES` (``[]`` removes a default).

    Raises:
        MissingResourceError: the model file (or the bundled model) is missing.
        ValueError: a bad setting, named with its key.
    """

    def __init__(
        self,
        model_path: Optional[str] = None,
        labels: str = "auto",
        extra_labels: Optional[dict] = None,
        max_chars: int = 1000,
        cache_size: int = 0,
        confusables: Optional[dict] = None,
        setting: str = "model_path",
    ):
        self.confusables = merge_confusables(confusables)
        self.identifier = LanguageIdentifier(model_path, labels, extra_labels, max_chars, cache_size, setting)
        self._accepted: dict[str, frozenset[str]] = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_accepted"] = {}
        return state

    def label_matches(self, code: str, label: str) -> bool:
        """Whether raw ``label`` identifies ``code`` or one of its confusables."""
        codes = self.identifier.codes(label) if label else ()
        return code in codes or any(c in codes for c in self.confusables.get(code, ()))

    def accepted_labels(self, code: str) -> frozenset[str]:
        """Raw labels accepted for expected language ``code`` (own + confusables)."""
        hit = self._accepted.get(code)
        if hit is None:
            ident = self.identifier
            labels = set(ident.labels_for(code))
            for other in self.confusables.get(code, ()):
                labels |= ident.labels_for(other)
            hit = self._accepted[code] = frozenset(labels)
        return hit

    def is_language(self, texts: Sequence[str], codes: Sequence[str]) -> list[bool]:
        """Whether each text's top-1 label counts as its expected language."""
        return [self.label_matches(code, label) for (label, _), code in zip(self.identifier.top1(texts), codes)]
