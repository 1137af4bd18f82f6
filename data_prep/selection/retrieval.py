"""Nearest other sample by cosine similarity, in bounded memory.

For every query row ``i`` the neighbour is ``argmax_{j != i} cos(h_i, h_j)``.
The sample itself is excluded *by index*, never by value: an exact duplicate of
``i`` (same text, same vector) is a valid neighbour, ``i`` is not. Ties go to
the lowest index in the blocked engine (deterministic).

Engines:

* ``blocked``: the similarity matrix is computed one ``block_size x block_size``
  tile at a time while a running best per query is kept, so memory is the
  embeddings plus one tile (64 MiB at 4096), whatever N. numpy on CPU; torch on
  ``device`` when one is given (``cuda``: the GPU does the tiles).
* ``faiss`` (optional extra ``lmt[faiss]``): exact inner-product search
  (``IndexFlatIP``) for the two best hits; the first hit that is not ``i`` is
  kept.

``auto`` picks ``blocked`` (on the GPU when CUDA is available). It does not pick
faiss even when installed: on CPU, faiss-cpu 1.9 measured 3x slower than the
numpy tiles and its index holds a second copy of the embeddings (at 1M x 256:
search memory 996 MB vs 135 MB, 105 s vs 36 s for 4096 queries, one thread; see
``benchmarks/README.md``). Ask for ``faiss`` explicitly, e.g. with a GPU build.

Both take a query range (``start``, ``stop``) so a cluster engine can split one
large search into independent shards of queries.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Literal, Optional

import numpy as np

from lmt.errors import ConfigError, DataError
from lmt.log import progress


def _blocks(q_starts: range) -> Any:
    # No bar for a single block: per-chunk calls would flood the log.
    if len(q_starts) <= 1:
        return q_starts
    return progress(q_starts, desc="neighbours", total=len(q_starts), unit="block")


def l2_normalize(emb: np.ndarray, inplace: bool = False, block: int = 65536) -> np.ndarray:
    """Row-normalised float32 embeddings (all-zero rows stay zero).

    Works in row blocks so temporaries stay small; ``inplace=True`` reuses a
    float32 C-contiguous input instead of copying it (half the peak memory).
    """
    if inplace and isinstance(emb, np.ndarray) and emb.dtype == np.float32 and emb.flags.c_contiguous:
        out = emb
    else:
        out = np.array(emb, dtype=np.float32, order="C")
    for s in range(0, len(out), block):
        part = out[s : s + block]
        part /= np.maximum(np.sqrt(np.einsum("ij,ij->i", part, part)), 1e-12)[:, None]
    return out


def have_faiss() -> bool:
    """Whether the optional faiss package is importable."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def nearest_neighbors(
    emb: np.ndarray,
    engine: Literal["auto", "blocked", "faiss"] = "auto",
    block_size: int = 4096,
    start: int = 0,
    stop: Optional[int] = None,
    normalized: bool = False,
    device: Optional[str] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Most similar other row for each query row ``start <= i < stop``.

    Args:
        emb: ``(N, d)`` embeddings (any scale; cosine is used).
        engine: ``auto`` (faiss when installed), ``blocked`` or ``faiss``.
        block_size: tile size of the blocked engine.
        start, stop: query rows to answer (default all).
        normalized: ``emb`` is already L2-normalised float32 (skip the copy).
        device: run the blocked tiles with torch on this device (``cuda``,
            ``cpu``); default numpy. ``auto`` uses ``cuda`` when available.

    Returns:
        ``(neighbor, similarity)``: int64 and float32 arrays of length ``stop - start``.

    Raises:
        DataError: fewer than two rows (no "other" sample exists).
        ConfigError: ``engine="faiss"`` without faiss installed.
    """
    n = len(emb)
    if n < 2:
        raise DataError(f"nearest-neighbour retrieval needs at least 2 samples, got {n}")
    stop = n if stop is None else min(stop, n)
    x = np.ascontiguousarray(emb, dtype=np.float32) if normalized else l2_normalize(emb)
    if engine == "auto":
        engine = "blocked"
        if device is None:
            import torch

            device = "cuda" if torch.cuda.is_available() else None
    if engine == "faiss":
        if not have_faiss():
            raise ConfigError(
                "select.miwv.retrieval: faiss is not installed (run `uv sync --extra faiss`, or use 'blocked')"
            )
        return _faiss_search(x, start, stop)
    if engine != "blocked":
        raise ConfigError(f"select.miwv.retrieval: unknown engine {engine!r}; use auto, blocked or faiss")
    if device is not None:
        return _blocked_search_torch(x, start, stop, block_size, device)
    return _blocked_search(x, start, stop, block_size)


_CACHE: dict = {}


def _cached(kind: tuple, x: np.ndarray, build: Callable[[], Any]) -> Any:
    """Reuse the keys' device copy / faiss index across query chunks of the same array.

    Keyed by a weak reference to ``x`` itself (not its address, which a new
    array may reuse), one entry only, so memory does not accumulate. The
    caller must not modify ``x`` in place between calls.
    """
    ref = _CACHE.get("ref")
    if _CACHE.get("kind") != kind or ref is None or ref() is not x:
        _CACHE.clear()
        _CACHE.update(kind=kind, ref=weakref.ref(x), value=build())
    return _CACHE["value"]


def _blocked_search(x: np.ndarray, start: int, stop: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(x)
    best_idx = np.full(stop - start, -1, dtype=np.int64)
    best_sim = np.full(stop - start, -np.inf, dtype=np.float32)
    q_starts = range(start, stop, block)
    for qs in _blocks(q_starts):
        qe = min(qs + block, stop)
        q = x[qs:qe]
        rows = np.arange(qe - qs)
        b_idx, b_sim = best_idx[qs - start : qe - start], best_sim[qs - start : qe - start]
        for ks in range(0, n, block):
            ke = min(ks + block, n)
            sim = q @ x[ks:ke].T
            # Exclude each query's own column (by index: duplicates stay eligible).
            lo, hi = max(qs, ks), min(qe, ke)
            if lo < hi:
                own = np.arange(lo, hi)
                sim[own - qs, own - ks] = -np.inf
            arg = sim.argmax(axis=1)
            val = sim[rows, arg]
            # Strictly greater: on ties the earlier (lower-index) block wins.
            better = val > b_sim
            b_sim[better] = val[better]
            b_idx[better] = arg[better] + ks
    return best_idx, best_sim


def _blocked_search_torch(
    x: np.ndarray, start: int, stop: int, block: int, device: str
) -> tuple[np.ndarray, np.ndarray]:
    import torch

    n = len(x)
    keys = _cached(("torch", device), x, lambda: torch.from_numpy(x).to(device))
    best_idx = torch.full((stop - start,), -1, dtype=torch.long, device=device)
    best_sim = torch.full((stop - start,), float("-inf"), dtype=torch.float32, device=device)
    q_starts = range(start, stop, block)
    for qs in _blocks(q_starts):
        qe = min(qs + block, stop)
        q = keys[qs:qe]
        b_idx, b_sim = best_idx[qs - start : qe - start], best_sim[qs - start : qe - start]
        for ks in range(0, n, block):
            ke = min(ks + block, n)
            sim = q @ keys[ks:ke].T
            lo, hi = max(qs, ks), min(qe, ke)
            if lo < hi:
                own = torch.arange(lo, hi, device=device)
                sim[own - qs, own - ks] = float("-inf")
            # torch.max returns the first maximal index on ties, like numpy's argmax.
            val, arg = sim.max(dim=1)
            better = val > b_sim
            b_sim[better] = val[better]
            b_idx[better] = arg[better] + ks
    return best_idx.cpu().numpy(), best_sim.cpu().numpy()


def _faiss_search(x: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    def build() -> "faiss.IndexFlatIP":
        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x)
        return index

    index = _cached(("faiss",), x, build)
    sims, ids = index.search(x[start:stop], 2)
    own = np.arange(start, stop)
    # With exact duplicates faiss may rank i second or not at all: take the
    # first hit that is not i (two hits always contain one).
    first_is_self = ids[:, 0] == own
    nb = np.where(first_is_self, ids[:, 1], ids[:, 0]).astype(np.int64)
    sim = np.where(first_is_self, sims[:, 1], sims[:, 0]).astype(np.float32)
    return nb, sim


def full_matrix_neighbors(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Baseline: the whole ``N x N`` similarity matrix at once (O(N^2) memory).

    Only for benchmarks and tests; use :func:`nearest_neighbors`.
    """
    x = l2_normalize(emb)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    arg = sim.argmax(axis=1)
    return arg.astype(np.int64), sim[np.arange(len(x)), arg]
