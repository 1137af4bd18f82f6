"""The selection step: input -> resumable scores -> kept set -> output directory.

Each method computes per-row columns in chunks cached under
``<output_dir>/cache/`` (see :class:`data_prep.selection.data.ChunkCache`) and
then picks rows with :mod:`data_prep.selection.ranking`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import numpy as np

from data_prep.selection.data import (
    CACHE_DIR,
    ChunkCache,
    SelectionInput,
    ShardPending,
    chunk_ranges,
    load_input,
    write_selection,
)
from data_prep.selection.ranking import budget, diversity_select, quota_mask, select_top
from lmt.config import ExperimentConfig, config_hash
from lmt.config.select import SelectConfig
from lmt.errors import ConfigError, LMTError, MissingResourceError
from lmt.io import content_hash
from lmt.languages import Direction
from lmt.log import get_logger
from lmt.prompts import get_template

log = get_logger("lmt.select")

METHODS = ("miwv", "mdaq")

__all__ = ["run_selection", "ShardPending", "miwv_columns", "mdaq_columns", "choose_rows", "find_neighbors"]


def select_config(cfg: ExperimentConfig) -> SelectConfig:
    """The ``select:`` section, or its defaults when the config has none."""
    return cfg.select if cfg.select is not None else SelectConfig()


def input_dir(cfg: ExperimentConfig) -> Path:
    """Where selection reads from: ``select.input_dir``, else the prep output
    (``prep.output_dir`` when the config sets one, else ``stage_dir("prep")``)."""
    sel = select_config(cfg)
    if sel.input_dir:
        return Path(sel.input_dir)
    prep_out = getattr(cfg.prep, "output_dir", None) if cfg.prep is not None else None
    return Path(prep_out) if prep_out else cfg.stage_dir("prep")


def output_dir(cfg: ExperimentConfig) -> Path:
    """Where selection writes: ``select.output_dir`` or ``stage_dir("select")``."""
    sel = select_config(cfg)
    return Path(sel.output_dir) if sel.output_dir else cfg.stage_dir("select")


def _model_key(path: str) -> Any:
    """Identity of a model for cache keys: weight files' fingerprints when local."""
    from lmt.io import file_fingerprint

    p = Path(path)
    if not p.is_dir():
        return path
    files = sorted(list(p.glob("*.safetensors")) + list(p.glob("*.bin")) + list(p.glob("*.pt")))
    return [path] + [{k: v for k, v in file_fingerprint(f).items() if k != "path"} for f in files]


def _samples(data: SelectionInput) -> list:
    from data_prep.selection.miwv import Sample

    cols = [data.column(c) for c in ("src_lang", "tgt_lang", "src", "tgt")]
    return [Sample(*row) for row in zip(*cols)]


def miwv_model_path(cfg: ExperimentConfig) -> str:
    """The model being tuned: ``select.miwv.model``, else the model SFT starts from.

    Without ``select.miwv.model``: ``train.sft.init_from``, else the training
    stage's default (the CPT output when CPT is enabled, else
    ``train.model.path``, else the tiny init model), else ``checkpoints/cpt/final``.

    Raises:
        MissingResourceError: that default is a local path that does not exist yet.
    """
    sel = select_config(cfg)
    if sel.miwv.model:
        return sel.miwv.model
    path: Optional[str] = None
    if cfg.train is not None:
        sft = getattr(cfg.train, "sft", None)
        path = getattr(sft, "init_from", None) if sft is not None else None
        if not path:
            from lmt.training.stage import default_init_from

            path = default_init_from(cfg, "sft")
    path = path or str(cfg.stage_dir("cpt") / "final")
    local = path.startswith((".", "/", "~")) or Path(path).exists() or path.count("/") != 1
    if local and not Path(path).expanduser().exists():
        raise MissingResourceError(
            f"{cfg.source}: MIWV scores with the model being tuned, and its default {path} does not exist yet; "
            "run selection after `lmt train cpt` (`lmt select miwv CONFIG`, with select.enabled=false so "
            "`lmt prep` skips it) or set select.miwv.model=PATH_OR_HUB_ID"
        )
    return path


def find_neighbors(
    x: np.ndarray,
    groups: Optional[np.ndarray],
    engine: str,
    block_size: int,
    device: Optional[str],
    start: int = 0,
    stop: Optional[int] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest other row of rows ``start..stop-1``, among all rows or within their group.

    ``x`` must be L2-normalised. A group of one row (a direction with a single
    sample) searches among all rows instead. Searching per direction also cuts
    the O(N^2) cost to the sum of the directions' squares.
    """
    from data_prep.selection.retrieval import nearest_neighbors

    stop = len(x) if stop is None else stop
    if groups is None:
        return nearest_neighbors(x, engine, block_size, start, stop, True, device)
    nb = np.empty(stop - start, dtype=np.int64)
    sim = np.empty(stop - start, dtype=np.float32)
    for g in np.unique(groups[start:stop]):
        rows = np.flatnonzero(groups == g)
        mine = rows[(rows >= start) & (rows < stop)]
        if rows.size < 2:
            for r in mine:
                nb[r - start : r - start + 1], sim[r - start : r - start + 1] = nearest_neighbors(
                    x, engine, block_size, int(r), int(r) + 1, True, device
                )
            continue
        # Rows of the group in row order; the queries are a run of them (input
        # rows are grouped by direction) or, failing that, searched one by one.
        keys = x[rows] if rows[-1] - rows[0] + 1 != rows.size else x[rows[0] : rows[-1] + 1]
        pos = np.searchsorted(rows, mine)
        if mine.size and pos[-1] - pos[0] + 1 == mine.size:
            part_nb, part_sim = nearest_neighbors(keys, engine, block_size, int(pos[0]), int(pos[-1]) + 1, True, device)
        else:
            found = [nearest_neighbors(keys, engine, block_size, int(p), int(p) + 1, True, device) for p in pos]
            part_nb = np.concatenate([f[0] for f in found]) if found else np.zeros(0, dtype=np.int64)
            part_sim = np.concatenate([f[1] for f in found]) if found else np.zeros(0, dtype=np.float32)
        nb[mine - start] = rows[part_nb]
        sim[mine - start] = part_sim
    return nb, sim


def miwv_columns(
    cfg: ExperimentConfig, data: SelectionInput, cache_root: Path, shard: tuple[int, int] = (0, 1)
) -> dict[str, np.ndarray]:
    """``miwv`` and ``miwv_neighbor`` for every input row (resumable, shardable).

    Three chunked phases, each cached: embeddings, neighbours (query chunks),
    losses. ``miwv_neighbor`` is the input row index (see
    :mod:`data_prep.selection.data`) of the retrieved one-shot example.

    Raises:
        ShardPending: with ``shard``, when other shards' chunks are missing.
    """
    from data_prep.selection.embed import embed_texts, load_encoder, pick_device
    from data_prep.selection.miwv import example_text
    from data_prep.selection.retrieval import l2_normalize
    from lmt.modeling import load_model, load_tokenizer

    sel = select_config(cfg)
    m = sel.miwv
    model_path = miwv_model_path(cfg)
    template = get_template(m.template)
    device = pick_device(sel.device)
    samples = _samples(data)
    ranges = chunk_ranges(len(samples), sel.chunk_size)
    state: dict[str, Any] = {}

    def lm() -> tuple[Any, Any]:
        # Loaded lazily: a fully cached rerun never loads the model.
        if "lm" not in state:
            model = load_model(model_path, trust_remote_code=m.trust_remote_code, dtype=m.dtype, device=device).eval()
            tok = load_tokenizer(model_path, trust_remote_code=m.trust_remote_code)
            state["lm"] = (model, tok)
        return state["lm"]

    def embed_chunk(s: int, e: int) -> dict:
        if m.embedder == "model":
            model, tok = lm()
        else:
            if "enc" not in state:
                state["enc"] = load_encoder(m.embedder, m.trust_remote_code, device)
            model, tok = state["enc"]
        texts = [example_text(template, x) for x in samples[s:e]]
        return {"emb": embed_texts(model, tok, texts, m.batch_size, m.max_length, "embeddings")}

    # Chunk files are named by position, so the chunk size is part of every key.
    base_key = [data.key, sel.chunk_size, _model_key(model_path), m.template, m.max_length]
    emb_key = content_hash(base_key, "emb", m.embedder if m.embedder == "model" else _model_key(m.embedder))
    emb_cache = ChunkCache(cache_root / "miwv_embeddings", emb_key, sel.overwrite)
    emb_cache.run(ranges, embed_chunk, "miwv embeddings", shard)

    nb_key = content_hash(emb_key, m.retrieval, m.neighbors, m.block_size, "nb")
    nb_cache = ChunkCache(cache_root / "miwv_neighbors", nb_key, sel.overwrite)
    groups = data.direction_codes() if m.neighbors == "direction" else None
    nb_device = device if device.startswith("cuda") else None

    def neighbor_chunk(s: int, e: int) -> dict:
        if "x" not in state:
            state["x"] = l2_normalize(emb_cache.gather(ranges, "emb"), inplace=True)
        nb, sim = find_neighbors(state["x"], groups, m.retrieval, m.block_size, nb_device, s, e)
        return {"neighbor": nb, "similarity": sim}

    nb_cache.run(ranges, neighbor_chunk, "miwv neighbours", shard)
    state.pop("x", None)
    neighbors = nb_cache.gather(ranges, "neighbor")

    def score_chunk(s: int, e: int) -> dict:
        # Looked up at call time so tests can count calls.
        from data_prep.selection import miwv as miwv_mod

        model, tok = lm()
        score, with_ex, without = miwv_mod.miwv_scores(
            model, tok, template, samples, neighbors, range(s, e), m.use_chat_template, m.batch_size, m.max_length
        )
        return {"miwv": score, "loss_with": with_ex, "loss_without": without}

    loss_cache = ChunkCache(
        cache_root / "miwv_scores", content_hash(nb_key, m.use_chat_template, "loss"), sel.overwrite
    )
    loss_cache.run(ranges, score_chunk, "miwv", shard)
    return {"miwv": loss_cache.gather(ranges, "miwv"), "miwv_neighbor": neighbors.astype(np.int64)}


def qsm_path(cfg: ExperimentConfig) -> Path:
    """``select.mdaq.qsm`` or ``<run_dir>/qsm``."""
    q = select_config(cfg).mdaq.qsm
    return Path(q) if q else cfg.root / "qsm"


def cluster_embeddings(emb: np.ndarray, n_clusters: int, pca_variance: Optional[float], seed: int) -> np.ndarray:
    """k-means cluster id per row (MiniBatchKMeans; PCA first when asked).

    PCA keeps ``pca_variance`` of the variance (CaR: 0.95); it is fitted on at
    most 100k rows so its cost stays bounded at millions of rows.
    """
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import PCA

    x = np.asarray(emb, dtype=np.float32)
    n_clusters = max(1, min(n_clusters, len(x)))
    if n_clusters == 1:
        return np.zeros(len(x), dtype=np.int64)
    if pca_variance is not None and pca_variance < 1 and min(x.shape) > 1:
        rng = np.random.default_rng(seed)
        fit_rows = x if len(x) <= 100_000 else x[rng.choice(len(x), 100_000, replace=False)]
        pca = PCA(n_components=pca_variance, svd_solver="full", random_state=seed).fit(fit_rows)
        x = pca.transform(x).astype(np.float32)
    km = MiniBatchKMeans(n_clusters=n_clusters, random_state=seed, batch_size=min(len(x), 4096), n_init=3)
    return km.fit_predict(x).astype(np.int64)


def default_clusters(n: int, n_keep: int) -> int:
    """CaR's ``k = int(sqrt(N / 2))``, capped at the budget so every cluster can be covered."""
    return max(1, min(int(math.sqrt(n / 2)), n_keep))


def mdaq_columns(
    cfg: ExperimentConfig, data: SelectionInput, cache_root: Path, n_keep: int, shard: tuple[int, int] = (0, 1)
) -> dict[str, np.ndarray]:
    """``qsm_score`` and ``cluster`` for every input row (resumable, shardable).

    Raises:
        ShardPending: with ``shard``, when other shards' chunks are missing.
    """
    from data_prep.selection.embed import embed_texts, load_encoder, pick_device
    from data_prep.selection.qsm import load_qsm, pair_instruction, qsm_text

    sel = select_config(cfg)
    md = sel.mdaq
    qpath = qsm_path(cfg)
    device = pick_device(sel.device)
    state: dict[str, Any] = {}

    def scorer() -> Any:
        if "qsm" not in state:
            state["qsm"] = load_qsm(qpath, device)
        return state["qsm"]

    if not (qpath / "qsm.json").is_file():
        scorer()  # raises MissingResourceError naming the command that trains one
    samples = _samples(data)
    texts = [qsm_text(pair_instruction(md.template, s.src_lang, s.tgt_lang, s.src), s.tgt) for s in samples]
    n = len(texts)
    ranges = chunk_ranges(n, sel.chunk_size)
    qsm_id = [_model_key(str(qpath)), _model_key(str(qpath / "encoder"))]  # head.pt + encoder weights
    key = content_hash(data.key, sel.chunk_size, qsm_id, md.template, "qsm")
    cache = ChunkCache(cache_root / "qsm_scores", key, sel.overwrite)
    cache.run(ranges, lambda s, e: {"score": scorer().predict(texts[s:e], md.batch_size)}, "qsm", shard)
    scores = cache.gather(ranges, "score").astype(np.float64)

    if md.embedder == "qsm":
        emb_key = content_hash(key, "emb")

        def embed_chunk(s: int, e: int) -> dict:
            return {"emb": scorer().embed(texts[s:e], md.batch_size)}
    else:
        emb_key = content_hash(data.key, sel.chunk_size, _model_key(md.embedder), md.template, md.max_length, "emb")

        def embed_chunk(s: int, e: int) -> dict:
            if "enc" not in state:
                state["enc"] = load_encoder(md.embedder, md.trust_remote_code, device)
            model, tok = state["enc"]
            return {"emb": embed_texts(model, tok, texts[s:e], md.batch_size, md.max_length)}

    emb_cache = ChunkCache(cache_root / "mdaq_embeddings", emb_key, sel.overwrite)
    emb_cache.run(ranges, embed_chunk, "dsa embeddings", shard)
    emb = emb_cache.gather(ranges, "emb")
    k = md.n_clusters or default_clusters(n, n_keep)
    seed = sel.seed if sel.seed is not None else cfg.seed
    clusters = cluster_embeddings(emb, k, md.pca_variance, seed)
    return {"qsm_score": scores, "cluster": clusters}


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
