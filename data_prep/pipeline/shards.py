"""Step 2, filter: one raw chunk -> normalised, filtered pairs split by bucket.

Runs in a worker process per shard. The filter chains come from
``data_prep.filters.build_chain`` (one per language pair and corpus, cached per
process; the LID model loads once per process). Kept pairs are canonically
oriented, keyed for dedup and written as one Parquet part per hash bucket;
dropped pairs are counted by reason and optionally written with the reason.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from typing import Any, Callable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.pipeline.keys import language_rank, pair_keys, swap_score_name
from data_prep.pipeline.plan import PrepPlan
from lmt.io import read_json, write_json_atomic, write_parquet_atomic

BASE_COLUMNS = ("src_lang", "tgt_lang", "src", "tgt", "corpus", "origin", "_ord")
KEY_COLUMNS = ("_exact", "_norm")


@functools.lru_cache(maxsize=1)
def text_normalizer() -> Callable[[str], str]:
    """The text normalisation of ``data_prep.normalize`` (NFC, spaces, controls)."""
    from data_prep import normalize

    return normalize.normalize_text


_CHAINS: dict[Any, Any] = {}


def get_chain(plan: PrepPlan, src_lang: str, tgt_lang: str, corpus: str):
    """The filter chain of one language pair and corpus (cached per process)."""
    key = (plan.config_hash, src_lang, tgt_lang, corpus)
    chain = _CHAINS.get(key)
    if chain is None:
        from data_prep.filters import build_chain

        chain = _CHAINS[key] = build_chain(plan.prep.filters, src_lang, tgt_lang, corpus, keep_scores=plan.prep.keep_scores)
    return chain


def _normalize(records: list[dict], counts: Counter) -> list[dict]:
    norm = text_normalizer()
    out = []
    for r in records:
        src, tgt = norm(r["src"]), norm(r["tgt"])
        if not src or not tgt:
            counts["normalize:empty"] += 1
            r["drop_reason"] = "normalize:empty"
            continue
        r["src"], r["tgt"] = src, tgt
        out.append(r)
    return out


def _orient(rec: dict, rank: Callable) -> dict:
    if rank(rec["tgt_lang"]) < rank(rec["src_lang"]):
        swapped = {}
        for k, v in rec.items():
            swapped[swap_score_name(k) if k not in BASE_COLUMNS else k] = v
        swapped["src_lang"], swapped["tgt_lang"] = rec["tgt_lang"], rec["src_lang"]
        swapped["src"], swapped["tgt"] = rec["tgt"], rec["src"]
        return swapped
    return rec


def filter_shard(plan: PrepPlan, shard: tuple[int, int]) -> dict:
    """Filter raw chunk ``(corpus, chunk)``; skip when already done.

    Returns:
        ``{"pairs": n_in, "kept": n, "drops": {reason: n}}`` (the done marker).
    """
    corpus_id, chunk = shard
    name = plan.shard_name(corpus_id, chunk)
    done = plan.filter_done(name)
    if done.is_file():
        return read_json(done)
    records = pq.read_table(plan.raw_chunk(corpus_id, chunk)).to_pylist()
    n_in = len(records)
    drops: Counter = Counter()
    dropped: list[dict] = []
    if plan.prep.normalize:
        kept_norm = _normalize(records, drops)
        if plan.prep.write_dropped:
            dropped += [r for r in records if "drop_reason" in r]
        records = kept_norm
    wanted = set(plan.prep.languages) if plan.prep.languages else None
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        if wanted is not None and not (r["src_lang"] in wanted and r["tgt_lang"] in wanted):
            drops["prep:language_not_selected"] += 1
            if plan.prep.write_dropped:
                dropped.append({**r, "drop_reason": "prep:language_not_selected"})
            continue
        groups[(r["src_lang"], r["tgt_lang"], r["corpus"])].append(r)
    kept: list[dict] = []
    notes: Counter = Counter()
    for (sl, tl, corpus), recs in groups.items():
        chain = get_chain(plan, sl, tl, corpus)
        before = Counter(chain.notes)
        ok, bad = chain.apply(recs)
        notes.update(Counter(chain.notes) - before)  # chains are cached: count this shard's events only
        kept += ok
        for r in bad:
            drops[r["drop_reason"]] += 1
        if plan.prep.write_dropped:
            dropped += bad
    kept.sort(key=lambda r: r["_ord"])  # groups interleave: restore file order
    rank = language_rank(plan.prep.pivot.via, plan.prep.pivot.centres)
    kept = [_orient(r, rank) for r in kept]
    _write_buckets(plan, name, kept)
    if plan.prep.write_dropped:
        _write_dropped(plan, name, dropped)
    result = {"pairs": n_in, "kept": len(kept), "drops": dict(sorted(drops.items())), "notes": dict(sorted(notes.items()))}
    write_json_atomic(done, result)
    return result


def _score_columns(records: list[dict]) -> list[str]:
    names: dict[str, None] = {}
    for r in records:
        for k in r:
            if k not in BASE_COLUMNS and k not in names and k != "drop_reason":
                names[k] = None
    return list(names)


def _write_buckets(plan: PrepPlan, name: str, kept: list[dict]) -> None:
    n_buckets = plan.buckets
    exact, norm, bucket = [], [], []
    for r in kept:
        e, n, b = pair_keys(r["src_lang"], r["tgt_lang"], r["src"], r["tgt"], n_buckets)
        exact.append(e)
        norm.append(n)
        bucket.append(b)
    scores = _score_columns(kept) if plan.prep.keep_scores else []
    cols: dict[str, Any] = {c: [r[c] for r in kept] for c in BASE_COLUMNS}
    for c in scores:
        cols[c] = pa.array([r.get(c) for r in kept], type=pa.float64())
    cols["_exact"] = pa.array(exact, type=pa.int64())
    cols["_norm"] = pa.array(norm, type=pa.int64())
    cols["_ord"] = pa.array(cols["_ord"], type=pa.int64())
    table = pa.table(cols)
    b_arr = np.asarray(bucket, dtype=np.int64)
    order = np.argsort(b_arr, kind="stable")
    sorted_b = b_arr[order]
    table = table.take(pa.array(order)) if len(order) else table
    plan.filter_dir(name).mkdir(parents=True, exist_ok=True)
    for b in np.unique(sorted_b):
        lo, hi = np.searchsorted(sorted_b, b, "left"), np.searchsorted(sorted_b, b, "right")
        write_parquet_atomic(table.slice(lo, hi - lo), plan.bucket_part(name, int(b)))


def _write_dropped(plan: PrepPlan, name: str, dropped: list[dict]) -> None:
    dropped.sort(key=lambda r: r["_ord"])
    cols = {c: [r.get(c) for r in dropped] for c in BASE_COLUMNS if c != "_ord"}
    cols["drop_reason"] = [r.get("drop_reason") for r in dropped]
    schema = pa.schema([(c, pa.string()) for c in cols])
    write_parquet_atomic(pa.table(cols, schema=schema), plan.dropped_file(name))


def bucket_parts(plan: PrepPlan, shards: list[str], bucket: int) -> list[Optional[str]]:
    """Existing parts of ``bucket`` over ``shards`` (in shard order)."""
    out = []
    for s in shards:
        p = plan.bucket_part(s, bucket)
        if p.is_file():
            out.append(str(p))
    return out
