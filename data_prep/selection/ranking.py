"""Turning scores into a kept set: top share, per-direction quotas, diversity.

Exact rules (shared by MIWV and M-DaQ):

* Budget: ``budget(N, share) = ceil(share * N)`` (a float error of 1e-9 is
  forgiven, so 1% of 300 is 3) and at least 1 when ``N > 0``: any positive share
  keeps something.
* Order: score descending; ties go to the lower input row; NaN scores rank last.
* Quotas (``min_per_direction = q``): each direction first keeps its best
  ``min(q, n_dir)`` rows; the rest of the budget goes to the best remaining rows.
  When the quotas alone exceed the budget the selection grows to the quotas.
* ``scope="per_direction"``: the budget is computed and applied inside each
  direction (``budget(n_dir, share)``, raised to the quota).
* Diversity (M-DaQ DSA): the budget is split over clusters in proportion to
  their size (largest-remainder method), every cluster getting at least one
  row when the budget allows; then each cluster keeps its best rows.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np


def budget(n: int, share: float) -> int:
    """Number of rows kept out of ``n`` for ``share`` (see module docs)."""
    if n <= 0:
        return 0
    return min(n, max(1, math.ceil(share * n - 1e-9)))


def rank_order(scores: np.ndarray) -> np.ndarray:
    """Row indices from best to worst (descending, ties by index, NaN last)."""
    s = np.asarray(scores, dtype=np.float64)
    key = np.where(np.isnan(s), np.inf, -s)
    return np.lexsort((np.arange(len(s)), key))


def _top_within(scores: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The best ``k`` of ``candidates`` (row indices) by score."""
    if k <= 0 or candidates.size == 0:
        return candidates[:0]
    return candidates[rank_order(scores[candidates])[:k]]


def quota_mask(scores: np.ndarray, groups: np.ndarray, min_per_group: int) -> np.ndarray:
    """Rows reserved by the per-direction quota (best ``min_per_group`` of each group)."""
    keep = np.zeros(len(scores), dtype=bool)
    if min_per_group <= 0:
        return keep
    for g in np.unique(groups):
        keep[_top_within(scores, np.flatnonzero(groups == g), min_per_group)] = True
    return keep


def select_top(
    scores: np.ndarray,
    groups: np.ndarray,
    share: float,
    scope: str = "global",
    min_per_group: int = 0,
) -> np.ndarray:
    """Boolean mask of kept rows: top share by score, with quotas.

    Args:
        scores: one score per row (higher is better).
        groups: direction id per row.
        share: kept share (0 < share <= 1).
        scope: ``global`` or ``per_direction``.
        min_per_group: quota per direction.
    """
    scores = np.asarray(scores, dtype=np.float64)
    groups = np.asarray(groups)
    keep = quota_mask(scores, groups, min_per_group)
    if scope == "per_direction":
        for g in np.unique(groups):
            rows = np.flatnonzero(groups == g)
            extra = budget(rows.size, share) - int(keep[rows].sum())
            keep[_top_within(scores, rows[~keep[rows]], extra)] = True
        return keep
    if scope != "global":
        raise ValueError(f"scope must be 'global' or 'per_direction', got {scope!r}")
    extra = budget(len(scores), share) - int(keep.sum())
    keep[_top_within(scores, np.flatnonzero(~keep), extra)] = True
    return keep


def cluster_allocation(sizes: np.ndarray, n_keep: int) -> np.ndarray:
    """How many rows each cluster contributes (sums to ``min(n_keep, sizes.sum())``).

    Proportional to cluster size by the largest-remainder method (ties: lower
    cluster id). Then, when ``n_keep`` allows, every non-empty cluster that got
    nothing takes one row from the cluster most above its proportional share,
    so the selection covers every cluster; with fewer rows than clusters the
    largest clusters get one each.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    n_keep = int(min(n_keep, sizes.sum()))
    alloc = np.zeros_like(sizes)
    nonempty = np.flatnonzero(sizes > 0)
    if n_keep <= 0:
        return alloc
    if n_keep < nonempty.size:
        largest = nonempty[np.lexsort((nonempty, -sizes[nonempty]))][:n_keep]
        alloc[largest] = 1
        return alloc
    ideal = n_keep * sizes / sizes.sum()
    alloc = np.floor(ideal).astype(np.int64)
    frac = ideal - alloc
    alloc[np.lexsort((np.arange(len(sizes)), -frac))[: n_keep - int(alloc.sum())]] += 1
    empty = nonempty[alloc[nonempty] == 0]
    for c in empty[np.lexsort((empty, -ideal[empty]))]:
        surplus = np.where(alloc > 1, alloc - ideal, -np.inf)
        donor = int(np.argmax(surplus))
        alloc[donor] -= 1
        alloc[c] = 1
    return alloc


def diversity_select(
    scores: np.ndarray,
    clusters: np.ndarray,
    n_keep: int,
    reserved: Optional[np.ndarray] = None,
) -> np.ndarray:
    """M-DaQ/CaR diversity selection: best rows of every cluster, in proportion.

    Args:
        scores: quality score per row.
        clusters: cluster id per row (``0..K-1``).
        n_keep: total rows to keep, including ``reserved``.
        reserved: rows already kept (quotas); they count towards the budget and
            the rest is allocated over the remaining rows.

    Returns:
        Boolean mask of kept rows.
    """
    scores = np.asarray(scores, dtype=np.float64)
    clusters = np.asarray(clusters, dtype=np.int64)
    keep = np.zeros(len(scores), dtype=bool) if reserved is None else reserved.copy()
    free = ~keep
    rest = n_keep - int(keep.sum())
    if rest <= 0:
        return keep
    n_clusters = int(clusters.max()) + 1 if clusters.size else 0
    sizes = np.bincount(clusters[free], minlength=n_clusters)
    alloc = cluster_allocation(sizes, rest)
    for c in np.flatnonzero(alloc):
        keep[_top_within(scores, np.flatnonzero(free & (clusters == c)), int(alloc[c]))] = True
    return keep
