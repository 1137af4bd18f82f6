"""The filter interface, the registry and dotted-path loading.

A filter splits *scoring* from *deciding* (as OpusFilter does): ``score`` turns a
batch of pair records into one score per pair (the expensive part: model calls,
counting), ``accept`` turns one score into a decision with the filter's current
thresholds. Thresholds can therefore be re-tuned on stored scores without
re-scoring.

```python
@register_filter
class MaxDigits(Filter):
    name = "max_digits"
    cost = 1

    def __init__(self, max_digits: int = 10):
        self.max_digits = max_digits

    def score(self, pairs):
        return [sum(c.isdigit() for c in p["src"] + p["tgt"]) for p in pairs]

    def accept(self, score):
        return (True, "") if score <= self.max_digits else (False, "too_many_digits")
```

Filters are built from plain keyword parameters (the YAML mapping under the
filter's name); :func:`validate_params` checks them against ``__init__`` so a
typo is a :class:`ConfigError` naming the key, not a silently ignored setting.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable, ClassVar, Optional, Type

from lmt.errors import ConfigError
from lmt.plugins import import_dotted, is_dotted_path

class Filter:
    """Base class of pair filters.

    Subclasses set ``name`` (the registry/YAML name), optionally ``cost`` (chains
    run cheap filters first so expensive ones only see survivors) and
    ``side_params`` (parameters that exist as ``src_<p>``/``tgt_<p>`` too, so a
    per-language setting reaches only the side in that language), and implement
    :meth:`score` and :meth:`accept`.
    """

    name: ClassVar[str] = ""
    #: Relative cost per pair; the chain sorts filters by it (stable).
    cost: ClassVar[float] = 1.0
    #: Parameters a per-language rule applies to one side only (``threshold`` ->
    #: ``src_threshold`` when the language is the source side).
    side_params: ClassVar[tuple[str, ...]] = ()

    def score(self, pairs: list[dict]) -> list:
        """Score a batch of pair records (one score per pair, same order)."""
        raise NotImplementedError

    def accept(self, score: Any) -> "bool | tuple[bool, str]":
        """Decide on one score: ``True`` or ``(False, "short_reason")``."""
        raise NotImplementedError

    def decide(self, scores: list) -> list[Optional[str]]:
        """Decide a batch: ``None`` for kept pairs, the drop reason otherwise.

        Override for a faster vectorised decision; the default calls
        :meth:`accept` per score.
        """
        out: list[Optional[str]] = []
        accept = self.accept
        for s in scores:
            verdict = accept(s)
            if isinstance(verdict, tuple):
                ok, reason = verdict
                out.append(None if ok else (reason or "rejected"))
            else:  # a bool (or numpy bool) without a reason
                out.append(None if verdict else "rejected")
        return out

    def columns(self, score: Any) -> dict[str, float]:
        """Score columns written into kept records with ``keep_scores``.

        The default handles numbers (one column named after the filter) and
        ``(src, tgt)`` pairs of numbers (``<name>_src``, ``<name>_tgt``).
        """
        if isinstance(score, bool):
            return {self.name: float(score)}
        if isinstance(score, (int, float)):
            return {self.name: float(score)}
        if isinstance(score, tuple) and len(score) == 2 and all(isinstance(x, (int, float)) for x in score):
            return {f"{self.name}_src": float(score[0]), f"{self.name}_tgt": float(score[1])}
        return {}

    def from_columns(self, row: dict) -> Any:
        """Rebuild a score from the columns :meth:`columns` stored (for re-deciding).

        ``row`` is a stored record: the pair's own fields plus every score
        column. The default inverts the default :meth:`columns`; filters with
        richer scores override both, so that ``accept(from_columns(row))``
        decides exactly as ``accept(score)`` did.

        Raises:
            KeyError: a column this filter needs is not in ``row``.
        """
        if self.name in row:
            return row[self.name]
        return (row[f"{self.name}_src"], row[f"{self.name}_tgt"])

    def rewrite(self, pairs: list[dict], scores: list) -> Optional[dict[str, int]]:
        """Change the text of kept pairs (e.g. script conversion); counts per event.

        Called by the chain on the pairs every filter kept, with this filter's
        scores of them. The default changes nothing and returns None.
        """
        return None

    def notes(self) -> dict[str, int]:
        """Non-drop events since the last call (e.g. LID checks skipped), then reset."""
        return {}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()) if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


_REGISTRY: dict[str, Type[Filter]] = {}


def register_filter(cls: Type[Filter]) -> Type[Filter]:
    """Class decorator: make a filter available under ``cls.name`` in configs."""
    if not cls.name:
        raise TypeError(f"{cls.__qualname__} needs a class attribute 'name' to be registered")
    other = _REGISTRY.get(cls.name)
    if other is not None and other is not cls and other.__qualname__ != cls.__qualname__:
        raise TypeError(f"filter name {cls.name!r} is already registered by {other.__module__}.{other.__qualname__}")
    _REGISTRY[cls.name] = cls
    return cls


def registered_filters() -> dict[str, Type[Filter]]:
    """Name -> class of every registered filter (built-ins are imported first)."""
    _import_builtins()
    return dict(_REGISTRY)


def _import_builtins() -> None:
    # Importing the modules runs their @register_filter decorators.
    from data_prep.filters import lid, quality, rules, script_check  # noqa: F401


def get_filter_class(name: str, key: str = "filters") -> Type[Filter]:
    """Resolve a registry name or a dotted path to a filter class.

    Args:
        name: ``lid``, ``length`` ... or ``my_pkg.mod:MyFilter`` /
            ``my_pkg.mod.MyFilter``.
        key: the config key being resolved, for error messages.

    Raises:
        ConfigError: unknown name, unimportable path, or not a Filter subclass.
    """
    _import_builtins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if not is_dotted_path(name):
        import difflib

        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"{key}: unknown filter {name!r}{hint} (registered: {', '.join(sorted(_REGISTRY))}; "
            "custom filters load by dotted path, e.g. my_pkg.mod:MyFilter)"
        )
    module_name, attr, cls = import_dotted(name, key, "filter")
    if cls is None:
        raise ConfigError(f"{key}: module {module_name!r} has no attribute {attr!r} (filter {name!r})")
    if not (inspect.isclass(cls) and issubclass(cls, Filter)):
        raise ConfigError(f"{key}: {name!r} is not a subclass of data_prep.filters.Filter")
    return cls


def filter_params(cls: Type[Filter]) -> Optional[set[str]]:
    """Names ``cls.__init__`` accepts, or ``None`` when it takes ``**kwargs``."""
    sig = inspect.signature(cls.__init__)
    names = set()
    for p in list(sig.parameters.values())[1:]:
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            names.add(p.name)
    return names


def validate_params(cls: Type[Filter], params: dict, key: str, check_required: bool = True) -> None:
    """Check ``params`` against ``cls.__init__`` (torchtune style).

    ``check_required=False`` checks names only (for one level of the cascade:
    a required parameter may come from another level).

    Raises:
        ConfigError: naming ``key.<param>`` for an unknown parameter, with the
            accepted ones, or a required parameter that is missing.
    """
    accepted = filter_params(cls)
    if accepted is None:
        return
    for p in params:
        if p not in accepted:
            raise ConfigError(f"{key}.{p}: unknown parameter of filter {cls.name or cls.__qualname__!r} (accepts: {', '.join(sorted(accepted)) or 'none'})")
    if not check_required:
        return
    sig = inspect.signature(cls.__init__)
    for p in list(sig.parameters.values())[1:]:
        required = p.default is inspect.Parameter.empty and p.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
        if required and p.name not in params:
            raise ConfigError(f"{key}: filter {cls.name or cls.__qualname__!r} needs parameter {p.name!r}")


def instantiate(cls: Type[Filter], params: dict, key: str) -> Filter:
    """Build a filter; bad values become a ConfigError naming ``key``."""
    validate_params(cls, params, key)
    try:
        return cls(**params)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{key}: invalid parameters for filter {cls.name or cls.__qualname__!r}: {err}") from None


def check_range(name: str, value: Any, low: float = -math.inf, high: float = math.inf, allow_none: bool = False) -> None:
    """Raise ValueError unless ``low <= value <= high`` (for filter __init__s)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")


def per_language(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    """Memoise a per-language lookup (record languages repeat in every batch)."""
    cache: dict[str, Any] = {}

    def wrapper(code: str) -> Any:
        try:
            return cache[code]
        except KeyError:
            value = cache[code] = fn(code)
            return value

    return wrapper

