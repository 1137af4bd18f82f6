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

from data_prep.selection.data import CACHE_DIR, ChunkCache, SelectionInput, chunk_ranges, load_input, write_selection
from data_prep.selection.ranking import budget, diversity_select, quota_mask, select_top
from lmt.config import ExperimentConfig, config_hash
from lmt.config.select import SelectConfig
from lmt.errors import ConfigError, MissingResourceError
from lmt.io import content_hash
from lmt.languages import Direction
from lmt.log import get_logger, progress
from lmt.prompts import get_template

log = get_logger("lmt.select")

METHODS = ("miwv", "mdaq")


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


def compute_embeddings(cache: ChunkCache, n: int, chunk_size: int, embed_fn, desc: str) -> np.ndarray:
    """Embeddings of rows ``0..n-1`` chunk by chunk, skipping cached chunks."""
    parts = []
    ranges = chunk_ranges(n, chunk_size)
    for c, (s, e) in enumerate(progress(ranges, desc=desc, unit="chunk")):
        name = f"chunk-{c:05d}"
        if not cache.has(name):
            cache.save(name, emb=embed_fn(s, e))
        parts.append(cache.load(name)["emb"])
    return np.concatenate(parts, axis=0)


def find_neighbors(
    emb: np.ndarray, groups: Optional[np.ndarray], engine: str, block_size: int, device: Optional[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest other row of every row, among all rows or within its group.

    ``emb`` is normalised in place. A group of one row (a direction with a
    single sample) searches among all rows instead. Searching per direction
    also cuts the O(N^2) cost to the sum of the directions' squares.
    """
    from data_prep.selection.retrieval import l2_normalize, nearest_neighbors

    x = l2_normalize(emb, inplace=True)
    if groups is None:
        return nearest_neighbors(x, engine, block_size, normalized=True, device=device)
    nb = np.empty(len(x), dtype=np.int64)
    sim = np.empty(len(x), dtype=np.float32)
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        if rows.size < 2:
            for r in rows:
                nb[r : r + 1], sim[r : r + 1] = nearest_neighbors(x, engine, block_size, r, r + 1, True, device)
            continue
        part_nb, sim[rows] = nearest_neighbors(x[rows], engine, block_size, normalized=True, device=device)
        nb[rows] = rows[part_nb]
    return nb, sim


def miwv_columns(cfg: ExperimentConfig, data: SelectionInput, cache_root: Path) -> dict[str, np.ndarray]:
    """``miwv`` and ``miwv_neighbor`` for every input row (resumable).

    ``miwv_neighbor`` is the input row index (see :mod:`data_prep.selection.data`)
    of the retrieved one-shot example.
    """
    from data_prep.selection.embed import embed_texts, load_encoder, pick_device
    from data_prep.selection.miwv import example_text, miwv_scores
    from lmt.modeling import load_model, load_tokenizer

    sel = select_config(cfg)
    m = sel.miwv
    model_path = miwv_model_path(cfg)
    template = get_template(m.template)
    device = pick_device(sel.device)
    samples = _samples(data)
    n = len(samples)
    state: dict[str, Any] = {}

    def lm() -> tuple[Any, Any]:
        # Loaded lazily: a fully cached rerun never loads the model.
        if "lm" not in state:
            model = load_model(model_path, trust_remote_code=m.trust_remote_code, dtype=m.dtype, device=device).eval()
            tok = load_tokenizer(model_path, trust_remote_code=m.trust_remote_code)
            state["lm"] = (model, tok)
        return state["lm"]

    def embedder() -> tuple[Any, Any]:
        if m.embedder == "model":
            return lm()
        if "enc" not in state:
            state["enc"] = load_encoder(m.embedder, m.trust_remote_code, device)
        return state["enc"]

    # Chunk files are named by position, so the chunk size is part of every key.
    base_key = [data.key, sel.chunk_size, _model_key(model_path), m.template, m.max_length]
    emb_key = content_hash(base_key, "emb", m.embedder if m.embedder == "model" else _model_key(m.embedder))
    emb_cache = ChunkCache(cache_root / "miwv_embeddings", emb_key, sel.overwrite)

    def embed_chunk(s: int, e: int) -> np.ndarray:
        model, tok = embedder()
        return embed_texts(
            model, tok, [example_text(template, x) for x in samples[s:e]], m.batch_size, m.max_length, "embeddings"
        )

    emb = compute_embeddings(emb_cache, n, sel.chunk_size, embed_chunk, "miwv embeddings")

    nb_key = content_hash(emb_key, m.retrieval, m.neighbors, "nb")
    nb_cache = ChunkCache(cache_root / "miwv_neighbors", nb_key, sel.overwrite)
    if not nb_cache.has("neighbors"):
        groups = data.direction_codes() if m.neighbors == "direction" else None
        nb, sim = find_neighbors(emb, groups, m.retrieval, m.block_size, device if device.startswith("cuda") else None)
        nb_cache.save("neighbors", neighbor=nb, similarity=sim)
    neighbors = nb_cache.load("neighbors")["neighbor"]

    loss_key = content_hash(emb_key, m.use_chat_template, "loss")
    loss_cache = ChunkCache(cache_root / "miwv_scores", loss_key, sel.overwrite)
    miwv = np.empty(n, dtype=np.float64)
    for c, (s, e) in enumerate(progress(chunk_ranges(n, sel.chunk_size), desc="miwv", unit="chunk")):
        name = f"chunk-{c:05d}"
        if not loss_cache.has(name):
            model, tok = lm()
            score, with_ex, without = miwv_scores(
                model, tok, template, samples, neighbors, range(s, e), m.use_chat_template, m.batch_size, m.max_length
            )
            loss_cache.save(name, miwv=score, loss_with=with_ex, loss_without=without)
        miwv[s:e] = loss_cache.load(name)["miwv"]
    return {"miwv": miwv, "miwv_neighbor": neighbors.astype(np.int64)}


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


def mdaq_columns(cfg: ExperimentConfig, data: SelectionInput, cache_root: Path, n_keep: int) -> dict[str, np.ndarray]:
    """``qsm_score`` and ``cluster`` for every input row (resumable)."""
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
    qsm_id = [_model_key(str(qpath)), _model_key(str(qpath / "encoder"))]  # head.pt + encoder weights
    key = content_hash(data.key, sel.chunk_size, qsm_id, md.template, "qsm")
    cache = ChunkCache(cache_root / "qsm_scores", key, sel.overwrite)
    scores = np.empty(n, dtype=np.float64)
    for c, (s, e) in enumerate(progress(chunk_ranges(n, sel.chunk_size), desc="qsm", unit="chunk")):
        name = f"chunk-{c:05d}"
        if not cache.has(name):
            cache.save(name, score=scorer().predict(texts[s:e], md.batch_size))
        scores[s:e] = cache.load(name)["score"]

    if md.embedder == "qsm":
        emb_key = content_hash(key, "emb")

        def embed_chunk(s: int, e: int) -> np.ndarray:
            return scorer().embed(texts[s:e], md.batch_size)
    else:
        emb_key = content_hash(data.key, sel.chunk_size, _model_key(md.embedder), md.template, md.max_length, "emb")

        def embed_chunk(s: int, e: int) -> np.ndarray:
            if "enc" not in state:
                state["enc"] = load_encoder(md.embedder, md.trust_remote_code, device)
            model, tok = state["enc"]
            return embed_texts(model, tok, texts[s:e], md.batch_size, md.max_length)

    emb_cache = ChunkCache(cache_root / "mdaq_embeddings", emb_key, sel.overwrite)
    emb = compute_embeddings(emb_cache, n, sel.chunk_size, embed_chunk, "dsa embeddings")
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


def run_selection(cfg: ExperimentConfig, method: Optional[str] = None) -> Path:
    """Score, select and write the selection of ``cfg`` (contract 5).

    Args:
        cfg: the experiment (its ``select:`` section, or defaults).
        method: ``miwv`` or ``mdaq`` (default ``select.method``).

    Returns:
        The output data directory (``select.output_dir`` or ``stage_dir("select")``).
    """
    sel = select_config(cfg)
    method = method or sel.method
    if method not in METHODS:
        raise ConfigError(f"{cfg.source}: select.method: unknown method {method!r}; use one of {', '.join(METHODS)}")
    directions = [Direction.parse(d) for d in sel.directions] or None
    src, out = input_dir(cfg), output_dir(cfg)
    if src.resolve() == out.resolve():
        raise ConfigError(f"{cfg.source}: select.output_dir must differ from the input directory {src}")
    data = load_input(src, directions)
    log.info("select %s: %d samples in %d directions from %s", method, len(data), len(data.direction_list()), src)
    cache_root = out / CACHE_DIR
    n_keep = budget(len(data), sel.share)
    if method == "miwv":
        columns = miwv_columns(cfg, data, cache_root)
    else:
        columns = mdaq_columns(cfg, data, cache_root, n_keep)
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
