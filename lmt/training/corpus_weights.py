"""Weigh training records by corpus name: exclude, thin or repeat whole corpora.

``corpus_weights`` maps shell-style patterns of the ``corpus`` column (as
prep wrote it) to weights; the first matching pattern wins and unmatched
corpora weigh 1. A weight ``w`` gives every record ``floor(w)`` copies plus
one more with probability ``w - floor(w)``, decided by a hash of the record
and the seed (so the same records are kept whatever the worker count).
Typical use: synthetic pairs (corpus ``synth_<model>``, see ``lmt synth``;
pivoted pairs built from them are named ``a+b``)::

    corpus_weights: {"*synth_*": 0}      # train without synthetic pairs
    corpus_weights: {"*synth_*": 0.3}    # keep 30% of them
"""

from __future__ import annotations

import fnmatch
import math
from typing import Any, Optional

import numpy as np

from lmt.errors import DataError
from lmt.training.pmp import unit_hash


def corpus_weight(corpus: Optional[str], weights: dict[str, float]) -> float:
    """Weight of one corpus name (first matching pattern; 1.0 when none matches)."""
    for pattern, weight in weights.items():
        if fnmatch.fnmatchcase(corpus or "", pattern):
            return float(weight)
    return 1.0


def weigh_corpora(ds: Any, weights: Optional[dict[str, float]], seed: int, text_columns: tuple[str, ...] = ("src", "tgt")) -> Any:
    """The records of a ``datasets.Dataset`` repeated or dropped by corpus weight.

    Raises:
        DataError: weights are set but the records have no ``corpus`` column.
    """
    if not weights or len(ds) == 0:
        return ds
    if "corpus" not in ds.column_names:
        raise DataError(f"corpus_weights is set but the records have no 'corpus' column (columns: {ds.column_names})")
    corpora = np.asarray(ds["corpus"], dtype=object)
    keep: list[np.ndarray] = []
    for name in dict.fromkeys(corpora.tolist()):
        w = corpus_weight(name, weights)
        rows = np.flatnonzero(corpora == name)
        whole, part = int(math.floor(w)), w - math.floor(w)
        keep += [rows] * whole
        if part > 0:
            texts = ds.select(rows).select_columns(list(text_columns))
            draws = [unit_hash(seed, "corpus_weight", *(r[c] for c in text_columns)) for r in texts]
            keep.append(rows[np.asarray(draws) < part])
    idx = np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
    return ds.select(idx)
