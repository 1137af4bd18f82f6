"""The selection step: input -> resumable scores -> kept set -> output directory.

Each method computes per-row columns in chunks cached under
``<output_dir>/cache/`` (:mod:`.miwv_step`, :mod:`.mdaq_step`) and then picks
rows with :mod:`data_prep.selection.ranking`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from data_prep.selection.data import CACHE_DIR, ShardPending, load_input, write_selection
from data_prep.selection.mdaq_step import cluster_embeddings, default_clusters, mdaq_columns
from data_prep.selection.miwv_step import find_neighbors, miwv_columns
from data_prep.selection.paths import input_dir, miwv_model_path, output_dir, qsm_path, select_config
from data_prep.selection.ranking import budget, diversity_select, quota_mask, select_top
from lmt.config import ExperimentConfig, config_hash
from lmt.config.select import SelectConfig
from lmt.errors import ConfigError, LMTError
from lmt.languages import Direction
from lmt.log import get_logger

log = get_logger("lmt.select")

METHODS = ("miwv", "mdaq")

__all__ = [
    "run_selection",
    "ShardPending",
    "choose_rows",
    "miwv_columns",
    "mdaq_columns",
    "find_neighbors",
    "cluster_embeddings",
    "default_clusters",
    "input_dir",
    "output_dir",
    "qsm_path",
    "select_config",
]


def choose_rows(method: str, sel: SelectConfig, columns: dict[str, np.ndarray], groups: np.ndarray) -> np.ndarray:
    """The kept mask for the method's scores (see :mod:`data_prep.selection.ranking`)."""
    if method == "miwv":
        return select_top(columns["miwv"], groups, sel.share, sel.scope, sel.min_per_direction)
    scores, clusters = columns["qsm_score"], columns["cluster"]
    reserved = quota_mask(scores, groups, sel.min_per_direction)
    if sel.scope == "global":
        return diversity_select(scores, clusters, max(budget(len(scores), sel.share), int(reserved.sum())), reserved)
    keep = reserved.copy()
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        part = diversity_select(
            scores[rows], clusters[rows], max(budget(rows.size, sel.share), int(reserved[rows].sum())), reserved[rows]
        )
        keep[rows] = part
    return keep


def _stats(values: np.ndarray) -> dict:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return {"n": 0}
    return {"n": int(v.size), "mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())}


def run_selection(cfg: ExperimentConfig, method: Optional[str] = None, shard: Optional[tuple[int, int]] = None) -> Path:
    """Score, select and write the selection of ``cfg`` (contract 5).

    Args:
        cfg: the experiment (its ``select:`` section, or defaults).
        method: ``miwv`` or ``mdaq`` (default ``select.method``).
        shard: ``(i, n)``: compute only this worker's chunks of each phase
            (chunks ``c % n == i``), for ``n`` workers sharing the output
            directory (e.g. one per GPU or a cluster array job). A worker stops
            with :class:`ShardPending` at the first phase that needs other
            shards' chunks; rerun the workers until one finishes the selection.

    Returns:
        The output data directory (``select.output_dir`` or ``stage_dir("select")``).

    Raises:
        ShardPending: only with ``shard``.
    """
    sel = select_config(cfg)
    method = method or sel.method
    shard = shard or (0, 1)
    if not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
        raise ConfigError(f"shard {shard[0]}/{shard[1]}: expected I/N with 0 <= I < N")
    if method not in METHODS:
        raise ConfigError(f"{cfg.source}: select.method: unknown method {method!r}; use one of {', '.join(METHODS)}")
    try:
        directions = [Direction.parse(d) for d in sel.directions] or None
    except LMTError as err:
        raise ConfigError(f"{cfg.source}: select.directions: {err}") from None
    src, out = input_dir(cfg), output_dir(cfg)
    if src.resolve() == out.resolve():
        raise ConfigError(f"{cfg.source}: select.output_dir must differ from the input directory {src}")
    data = load_input(src, directions)
    log.info("select %s: %d samples in %d directions from %s", method, len(data), len(data.direction_list()), src)
    cache_root = out / CACHE_DIR
    n_keep = budget(len(data), sel.share)
    if method == "miwv":
        columns = miwv_columns(cfg, data, cache_root, shard)
    else:
        columns = mdaq_columns(cfg, data, cache_root, n_keep, shard)
    groups = data.direction_codes()
    keep = choose_rows(method, sel, columns, groups)
    manifest = {
        "stage": "select",
        "method": method,
        "params": sel.model_dump(mode="json"),
        "config_hash": config_hash(sel),
    }
    score = columns["miwv" if method == "miwv" else "qsm_score"]
    manifest["score_stats"] = {"all": _stats(score), "kept": _stats(score[keep])}
    if method == "miwv":
        manifest["model"] = miwv_model_path(cfg)
    else:
        manifest["qsm"] = str(qsm_path(cfg))
        manifest["n_clusters"] = int(columns["cluster"].max()) + 1
    write_selection(out, data, keep, columns, manifest)
    log.info("select %s: kept %d of %d -> %s", method, int(keep.sum()), len(data), out)
    return out
