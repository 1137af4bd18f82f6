"""M-DaQ as a resumable, shardable step: QSM scores -> embeddings -> k-means clusters.

The scorer is :mod:`data_prep.selection.qsm`; the diversity selection over the
clusters is :func:`data_prep.selection.ranking.diversity_select`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import numpy as np

from data_prep.selection.data import ChunkCache, SelectionInput, chunk_ranges
from data_prep.selection.paths import model_key, qsm_path, samples_of, select_config
from lmt.config import ExperimentConfig
from lmt.io import content_hash


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
    samples = samples_of(data)
    texts = [qsm_text(pair_instruction(md.template, s.src_lang, s.tgt_lang, s.src), s.tgt) for s in samples]
    n = len(texts)
    ranges = chunk_ranges(n, sel.chunk_size)
    qsm_id = [model_key(str(qpath)), model_key(str(qpath / "encoder"))]  # head.pt + encoder weights
    key = content_hash(data.key, sel.chunk_size, qsm_id, md.template, "qsm")
    cache = ChunkCache(cache_root / "qsm_scores", key, sel.overwrite)
    cache.run(ranges, lambda s, e: {"score": scorer().predict(texts[s:e], md.batch_size)}, "qsm", shard)
    scores = cache.gather(ranges, "score").astype(np.float64)

    if md.embedder == "qsm":
        emb_key = content_hash(key, "emb")

        def embed_chunk(s: int, e: int) -> dict:
            return {"emb": scorer().embed(texts[s:e], md.batch_size)}
    else:
        emb_key = content_hash(data.key, sel.chunk_size, model_key(md.embedder), md.template, md.max_length, "emb")

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
