"""Filter chains: the settings cascade resolved for one pair and corpus.

:func:`build_chain` turns a :class:`~lmt.config.filters.FiltersConfig` into a
:class:`FilterChain` for ``(src_lang, tgt_lang, corpus)``: defaults <
per-language (source, then target) < per-pair < per-corpus, each level merging
its parameters over the previous ones. The chain runs its filters on a batch,
cheapest first by default, so expensive ones (LID, COMET) only score the pairs
that survived the cheap ones.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Optional, Type

from data_prep.filters.base import Filter, get_filter_class, instantiate, validate_params
from lmt.config.filters import FiltersConfig, pair_key
from lmt.errors import ConfigError, DataError
from lmt.languages import normalize_code


class FilterChain:
    """Filters applied in order to batches of pair records.

    Attributes:
        filters: the filter instances, in application order.
        keep_scores: write each filter's score columns into the records.
        counts: drops per reason (``"lid:src_wrong_lang"``), over every batch.
        notes: non-drop events per filter (``"lid:tgt_unlabelable_skipped:mvf_Mong"``).
        score_notes: the part of ``notes`` raised while scoring (``keep_scores``).
        seen: pairs given to :meth:`apply`; ``kept``: pairs returned as kept.
    """

    def __init__(self, filters: Iterable[Filter], keep_scores: bool = False, names: Optional[list[str]] = None):
        self.filters = list(filters)
        self.names = names or [f.name or type(f).__qualname__ for f in self.filters]
        self.keep_scores = keep_scores
        self.counts: Counter = Counter()
        self.notes: Counter = Counter()
        # The notes of scoring alone (with keep_scores), which re-deciding cannot repeat.
        self.score_notes: Counter = Counter()
        self.seen = 0
        self.kept = 0

    def apply(self, pairs: list[dict]) -> tuple[list[dict], list[dict]]:
        """Filter a batch.

        The records are updated in place: dropped ones get ``drop_reason =
        "<filter>:<reason>"``, kept ones may have their text rewritten
        (:meth:`Filter.rewrite`, e.g. Traditional -> Simplified). With
        ``keep_scores`` every filter scores every pair (not only the survivors
        of the cheaper ones) and each record gets all the score columns, so
        that :meth:`redecide` can later decide again from them alone.

        Returns:
            ``(kept, dropped)``: kept pairs in input order; dropped pairs in the
            order the filters dropped them.
        """
        if self.keep_scores:
            return self._decide_all(pairs, lambda filt, alive: filt.score(alive), store=True)
        self.seen += len(pairs)
        alive = list(pairs)
        dropped: list[dict] = []
        counts = self.counts
        rewrites: list[tuple[Filter, dict[int, Any]]] = []
        for name, filt in zip(self.names, self.filters):
            if not alive:
                break
            scores = filt.score(alive)
            if len(scores) != len(alive):
                raise RuntimeError(f"filter {name!r} returned {len(scores)} scores for {len(alive)} pairs")
            decisions = filt.decide(scores)
            survivors = []
            kept_scores = {}
            for rec, reason, score in zip(alive, decisions, scores):
                if reason is None:
                    survivors.append(rec)
                    kept_scores[id(rec)] = score
                else:
                    full = f"{name}:{reason}"
                    rec["drop_reason"] = full
                    counts[full] += 1
                    dropped.append(rec)
            if type(filt).rewrite is not Filter.rewrite:
                rewrites.append((filt, kept_scores))
            alive = survivors
            for key, n in filt.notes().items():
                self.notes[f"{name}:{key}"] += n
        self._rewrite(alive, [(filt, [by_id[id(r)] for r in alive]) for filt, by_id in rewrites])
        self.kept += len(alive)
        return alive, dropped

    def redecide(self, pairs: list[dict]) -> tuple[list[dict], list[dict]]:
        """Decide a batch again from the score columns stored with ``keep_scores``.

        No filter scores anything (no model is loaded): each filter rebuilds its
        scores with :meth:`Filter.from_columns` and decides with its current
        thresholds. Same in-place updates and results as :meth:`apply`.

        Raises:
            DataError: the records lack a filter's score columns (that filter
                was not in the chain that stored them).
        """

        def stored(filt: Filter, alive: list[dict]) -> list:
            try:
                return [filt.from_columns(r) for r in alive]
            except KeyError as err:
                raise DataError(
                    f"the stored scores have no column {err.args[0]!r} of filter {filt.name!r}: it was not in the "
                    "chain that stored them; run prep without --refilter to score it"
                ) from None

        return self._decide_all(pairs, stored, store=False)

    def _decide_all(self, pairs: list[dict], scorer, store: bool) -> tuple[list[dict], list[dict]]:
        """Every filter scores (or rebuilds the scores of) every pair; the first
        filter in chain order that rejects a pair names its drop reason."""
        self.seen += len(pairs)
        reasons: list[Optional[str]] = [None] * len(pairs)
        all_scores = []
        for name, filt in zip(self.names, self.filters):
            scores = scorer(filt, pairs) if pairs else []
            if len(scores) != len(pairs):
                raise RuntimeError(f"filter {name!r} returned {len(scores)} scores for {len(pairs)} pairs")
            if store:
                columns = filt.columns
                for rec, score in zip(pairs, scores):
                    rec.update(columns(score))
            for i, reason in enumerate(filt.decide(scores)):
                if reason is not None and reasons[i] is None:
                    reasons[i] = f"{name}:{reason}"
            all_scores.append(scores)
            for key, n in filt.notes().items():
                self.notes[f"{name}:{key}"] += n
                self.score_notes[f"{name}:{key}"] += n
        kept, dropped, keep_idx = [], [], []
        for i, (rec, reason) in enumerate(zip(pairs, reasons)):
            if reason is None:
                kept.append(rec)
                keep_idx.append(i)
            else:
                rec["drop_reason"] = reason
                self.counts[reason] += 1
                dropped.append(rec)
        rewrites = [
            (filt, [scores[i] for i in keep_idx])
            for filt, scores in zip(self.filters, all_scores)
            if type(filt).rewrite is not Filter.rewrite
        ]
        self._rewrite(kept, rewrites)
        self.kept += len(kept)
        return kept, dropped

    def _rewrite(self, kept: list[dict], rewrites: list[tuple[Filter, list]]) -> None:
        for filt, scores in rewrites:
            events = filt.rewrite(kept, scores) if kept else None
            for key, n in (events or {}).items():
                self.notes[f"{filt.name}:{key}"] += n

    def describe(self) -> list[dict]:
        """``[{"name": ..., "params": {...}}]`` of the resolved chain, JSON-ready
        (for manifests and logs)."""
        return [
            {"name": name, "params": _plain({k: v for k, v in vars(filt).items() if not k.startswith("_")})}
            for name, filt in zip(self.names, self.filters)
        ]

    def __repr__(self) -> str:
        return f"FilterChain({', '.join(self.names)})"


def _plain(value: Any) -> Any:
    """JSON-friendly copy: containers recursed, other objects by ``repr``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return repr(value)


def _settings(value: Any, key: str) -> tuple[bool, dict]:
    """(enabled, params) of one level's entry for a filter."""
    if value is None or value is True:
        return True, {}
    if value is False:
        return False, {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping of filter parameters, true or false, got {value!r}")
    params = dict(value)
    enabled = params.pop("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{key}.enabled: expected true or false, got {enabled!r}")
    return enabled, params


def _levels(cfg: FiltersConfig, src_lang: str, tgt_lang: str, corpus: Optional[str], prefix: str):
    """(key, rules, side) per cascade level that applies, lowest first."""
    yield f"{prefix}.defaults", cfg.defaults, None
    for side, lang in (("src", src_lang), ("tgt", tgt_lang)):
        if lang in cfg.per_language:
            yield f"{prefix}.per_language.{lang}", cfg.per_language[lang], side
    key = "-".join(sorted((src_lang, tgt_lang)))
    if key in cfg.per_pair:
        yield f"{prefix}.per_pair.{key}", cfg.per_pair[key], None
    if corpus is not None and corpus in cfg.per_corpus:
        yield f"{prefix}.per_corpus.{corpus}", cfg.per_corpus[corpus], None


def resolve_filters(
    cfg: FiltersConfig, src_lang: str, tgt_lang: str, corpus: Optional[str] = None, prefix: str = "filters"
) -> list[tuple[str, Type[Filter], dict]]:
    """Resolve the cascade for one pair and corpus.

    Args:
        cfg: the filters config.
        src_lang, tgt_lang: languages of the pair (any code; normalised).
        corpus: corpus name (``per_corpus`` key), or None.
        prefix: dotted config path of ``cfg``, for error messages.

    Returns:
        ``(name, class, params)`` of every enabled filter, in application
        order (by cost with ``order: cost``, stable; else config order).

    Raises:
        ConfigError: unknown filter or parameter, naming the config key.
    """
    src_lang, tgt_lang = normalize_code(src_lang), normalize_code(tgt_lang)
    merged: dict[str, dict] = {}
    enabled: dict[str, bool] = {}
    classes: dict[str, Type[Filter]] = {}
    for level_key, rules, side in _levels(cfg, src_lang, tgt_lang, corpus, prefix):
        for name, value in rules.items():
            key = f"{level_key}.{name}"
            cls = classes.get(name) or get_filter_class(name, key)
            classes[name] = cls
            on, params = _settings(value, key)
            validate_params(cls, params, key, check_required=False)
            if side is not None:
                # A per-language rule reaches only its side for side parameters.
                params = {(f"{side}_{k}" if k in cls.side_params else k): v for k, v in params.items()}
            merged.setdefault(name, {}).update(params)
            enabled[name] = on
    out = [(name, classes[name], merged[name]) for name in merged if enabled[name]]
    if cfg.order == "cost":
        out.sort(key=lambda item: item[1].cost)
    return out


def build_chain(
    cfg: Optional[FiltersConfig],
    src_lang: str,
    tgt_lang: str,
    corpus: Optional[str] = None,
    keep_scores: bool = False,
    prefix: str = "filters",
) -> FilterChain:
    """Build the filter chain of one language pair and corpus.

    Args:
        cfg: the filters config (None: the default chain).
        src_lang, tgt_lang: the pair's languages.
        corpus: corpus name, for ``per_corpus`` rules.
        keep_scores: write score columns into records.
        prefix: dotted config path of ``cfg`` for error messages
            (e.g. ``prep.filters``).

    Raises:
        ConfigError: unknown filter/parameter or invalid value, naming the key.
        MissingResourceError: a model a filter needs is absent (LID, COMET).
    """
    cfg = cfg if cfg is not None else FiltersConfig()
    filters, names = [], []
    for name, cls, params in resolve_filters(cfg, src_lang, tgt_lang, corpus, prefix):
        filters.append(instantiate(cls, params, f"{prefix}[{src_lang}-{tgt_lang}, corpus {corpus}].{name}"))
        names.append(cls.name or name)
    return FilterChain(filters, keep_scores=keep_scores, names=names)


def validate_filters_config(cfg: FiltersConfig, prefix: str = "filters") -> None:
    """Check every filter name and parameter at every level, without building.

    Call it once when a run starts, so a typo fails before any data is read.

    Raises:
        ConfigError: naming the key (``prep.filters.per_pair.eng_Latn-kir_Cyrl.lid.treshold``).
    """
    levels = [(f"{prefix}.defaults", cfg.defaults)]
    levels += [(f"{prefix}.per_language.{k}", v) for k, v in cfg.per_language.items()]
    levels += [(f"{prefix}.per_pair.{k}", v) for k, v in cfg.per_pair.items()]
    levels += [(f"{prefix}.per_corpus.{k}", v) for k, v in cfg.per_corpus.items()]
    for level_key, rules in levels:
        for name, value in rules.items():
            key = f"{level_key}.{name}"
            _, params = _settings(value, key)
            validate_params(get_filter_class(name, key), params, key, check_required=False)


__all__ = ["FilterChain", "build_chain", "pair_key", "resolve_filters", "validate_filters_config"]
