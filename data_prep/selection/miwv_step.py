"""MIWV as a resumable, shardable step: embeddings -> neighbours -> losses.

Each phase runs in chunks cached by :class:`data_prep.selection.data.ChunkCache`;
the arithmetic lives in :mod:`data_prep.selection.miwv` and
:mod:`data_prep.selection.retrieval`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from data_prep.selection.data import ChunkCache, SelectionInput, chunk_ranges
from data_prep.selection.paths import miwv_model_path, model_key, samples_of, select_config
from lmt.config import ExperimentConfig
from lmt.io import content_hash
from lmt.prompts import get_template


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
    samples = samples_of(data)
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
    base_key = [data.key, sel.chunk_size, model_key(model_path), m.template, m.max_length]
    emb_key = content_hash(base_key, "emb", m.embedder if m.embedder == "model" else model_key(m.embedder))
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
