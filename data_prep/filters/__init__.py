"""Pair filters: small registered classes that score, then accept.

Built-in filters (registry names usable in YAML):

=================  ==========================================================
``length``         side lengths (words; characters for spaceless scripts)
``length_ratio``   longer/shorter side (paper: drop > 3.0)
``src_equals_tgt`` untranslated copies (normalised comparison)
``control_chars``  control and non-printing characters
``numbers``        numbers that disagree between the sides
``min_letters``    too few letters (mostly digits, punctuation, symbols)
``script``         letters in the language's script; Chinese variety (Hans/Hant, Cantonese)
``lid``            fastText language ID on both sides (lid.176 by default)
``quality``        reference-free COMET (CometKiwi-style) quality estimation
=================  ==========================================================

Custom filters subclass :class:`Filter` and load by dotted path
(``my_pkg.mod:MyFilter``). Deduplication is not a filter: the prep pipeline
does it across shards.

```python
from data_prep.filters import build_chain
from lmt.config.filters import FiltersConfig

chain = build_chain(FiltersConfig(), "eng_Latn", "kir_Cyrl", corpus="WikiMatrix")
kept, dropped = chain.apply(records)   # dropped[i]["drop_reason"] == "lid:tgt_wrong_lang"
chain.counts                           # Counter of drop reasons
```
"""

from data_prep.filters.base import Filter, get_filter_class, register_filter, registered_filters
from data_prep.filters.chain import FilterChain, build_chain, resolve_filters, validate_filters_config
from data_prep.filters.lid import LidFilter
from data_prep.filters.quality import QualityFilter
from data_prep.filters.script_check import ScriptFilter
from data_prep.filters.rules import (
    ControlCharsFilter,
    LengthFilter,
    LengthRatioFilter,
    MinLettersFilter,
    NumbersFilter,
    SrcEqualsTgtFilter,
)

__all__ = [
    "ControlCharsFilter",
    "Filter",
    "FilterChain",
    "LengthFilter",
    "LengthRatioFilter",
    "LidFilter",
    "MinLettersFilter",
    "NumbersFilter",
    "QualityFilter",
    "ScriptFilter",
    "SrcEqualsTgtFilter",
    "build_chain",
    "get_filter_class",
    "register_filter",
    "registered_filters",
    "resolve_filters",
    "validate_filters_config",
]
