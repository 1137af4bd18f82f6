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
from data_prep.pipeline.plan import PrepPlan, write_shard
from lmt.io import read_json, write_json_atomic

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


#: Rows a worker holds as Python dicts at once: memory stays flat whatever the shard size.
BATCH = 8192


class _Columns:
    """Kept pairs accumulated column-wise, turned into Arrow batch by batch.

    One dict per pair is large; the Python objects of one batch at most exist
    at a time, the rest of the shard is compact Arrow data.
    """

    def __init__(self, keep_scores: bool) -> None:
        self.keep_scores = keep_scores
        self.batches: list[pa.Table] = []
        self.buckets: list[np.ndarray] = []
        self.n = 0
        self._reset()

    def _reset(self) -> None:
        self.cols: dict[str, list] = {c: [] for c in BASE_COLUMNS + KEY_COLUMNS}
        self.bucket: list[int] = []
        self.scores: dict[str, list] = {}
        self.rows = 0

    def add(self, rec: dict, keys: tuple[int, int, int]) -> None:
        cols = self.cols
        for c in BASE_COLUMNS:
            cols[c].append(rec[c])
        cols["_exact"].append(keys[0])
        cols["_norm"].append(keys[1])
        self.bucket.append(keys[2])
        if self.keep_scores:
            for k, v in rec.items():
                # Label columns (lid_src_label) are stored under scores/, not in the training data.
                if k not in cols and k not in self.scores and k != "drop_reason" and not k.endswith("_label"):
                    self.scores[k] = [None] * self.rows
            for k, col in self.scores.items():
                col.append(rec.get(k))
        self.rows += 1
        self.n += 1

    def flush(self) -> None:
        """Turn the buffered rows into one Arrow table."""
        if not self.rows:
            return
        arrays = {c: pa.array(self.cols[c], type=pa.int64() if c in ("_ord", "_exact", "_norm") else pa.string()) for c in self.cols}
        for c, values in self.scores.items():
            arrays[c] = pa.array(values, type=pa.float64())
        self.batches.append(pa.table(arrays))
        self.buckets.append(np.asarray(self.bucket, dtype=np.int64))
        self._reset()

    def table(self) -> tuple[pa.Table, np.ndarray]:
        """All kept rows (score columns unified across batches) and their buckets."""
        self.flush()
        if not self.batches:
            return pa.table({c: pa.array([], pa.int64() if c in ("_ord", "_exact", "_norm") else pa.string()) for c in BASE_COLUMNS + KEY_COLUMNS}), np.zeros(0, np.int64)
        return pa.concat_tables(self.batches, promote_options="default"), np.concatenate(self.buckets)


def filter_shard(plan: PrepPlan, shard: tuple[int, int]) -> dict:
    """Filter raw chunk ``(corpus, chunk)``; skip when already done.

    The chunk is processed in batches of :data:`BATCH` rows (record dicts are
    what the filters take; they are large, so only one batch lives at a time).
    Pairs that cannot reach the output (:meth:`PrepPlan.in_scope`) are counted
    as ``out_of_scope`` and not filtered. With ``keep_scores`` every in-scope
    pair is also written with all its filter scores to ``scores/<shard>``.

    Returns:
        ``{"pairs": n_in, "kept": n, "drops": {reason: n}, "notes": {...},
        "out_of_scope": n}`` (the done marker).
    """
    corpus_id, chunk = shard
    name = plan.shard_name(corpus_id, chunk)
    done = plan.filter_done(name)
    if done.is_file():
        return read_json(done)
    table = pq.read_table(plan.raw_chunk(corpus_id, chunk))
    result = _filter_table(plan, name, table, None)
    write_json_atomic(done, result)
    return result


def refilter_shard(plan: PrepPlan, name: str) -> dict:
    """Decide shard ``name`` again from its stored scores (``lmt prep --refilter``).

    Reads ``scores/<name>.parquet`` only: no raw corpus, no model. The reader,
    normalisation and scope counts come from the stored run
    (``plan.stored[name]``).

    Returns:
        The same done marker as :func:`filter_shard`.
    """
    done = plan.filter_done(name)
    if done.is_file():
        return read_json(done)
    result = _filter_table(plan, name, pq.read_table(plan.scores_file(name)), plan.stored[name])
    write_json_atomic(done, result)
    return result


def _filter_table(plan: PrepPlan, name: str, table: pa.Table, stored: Optional[dict]) -> dict:
    """Filter (``stored`` None) or re-decide (``stored``: the first run's counts) one shard."""
    prep = plan.prep
    refilter = stored is not None
    drops: Counter = Counter(stored["pre_drops"] if refilter else {})
    pre_drops: Counter = Counter()
    # Re-deciding does not score: the scoring run's notes (e.g. LID skips) carry over.
    notes: Counter = Counter(stored.get("score_notes", {}) if refilter else {})
    score_notes: Counter = Counter()
    dropped: list[dict] = []
    out_of_scope = stored["out_of_scope"] if refilter else 0
    in_scope = plan.in_scope()
    rank = language_rank(prep.pivot.via, prep.pivot.centres)
    kept_cols = _Columns(prep.keep_scores)
    scored = _Scored() if prep.keep_scores and not refilter else None
    n_buckets = plan.buckets
    for start in range(0, table.num_rows, BATCH):
        records = table.slice(start, BATCH).to_pylist()
        if not refilter and prep.normalize:
            kept_norm = _normalize(records, pre_drops)
            if prep.write_dropped:
                dropped += [r for r in records if "drop_reason" in r]
            records = kept_norm
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in records:
            if not refilter and not in_scope(r["src_lang"], r["tgt_lang"]):
                out_of_scope += 1
                continue
            groups[(r["src_lang"], r["tgt_lang"], r["corpus"])].append(r)
        kept: list[dict] = []
        for (sl, tl, corpus), recs in groups.items():
            chain = get_chain(plan, sl, tl, corpus)
            before, score_before = Counter(chain.notes), Counter(chain.score_notes)
            texts = [(r["src"], r["tgt"]) for r in recs] if scored is not None else None
            ok, bad = chain.redecide(recs) if refilter else chain.apply(recs)
            if scored is not None:
                scored.add(recs, texts)
            notes.update(Counter(chain.notes) - before)  # chains are cached: count this shard's events only
            score_notes.update(Counter(chain.score_notes) - score_before)
            kept += ok
            for r in bad:
                drops[r["drop_reason"]] += 1
            if prep.write_dropped:
                dropped += bad
        if len(groups) > 1:
            kept.sort(key=lambda r: r["_ord"])  # groups interleave: restore file order
        for r in kept:
            r = _orient(r, rank)
            kept_cols.add(r, pair_keys(r["src_lang"], r["tgt_lang"], r["src"], r["tgt"], n_buckets))
        kept_cols.flush()
        del records, groups, kept
    drops.update(pre_drops)
    _write_buckets(plan, name, kept_cols)
    if prep.write_dropped:
        _write_dropped(plan, name, dropped)
    if scored is not None:
        write_shard(scored.table(), plan.scores_file(name))
    return {
        "pairs": stored["pairs"] if refilter else table.num_rows,
        "kept": kept_cols.n,
        "drops": dict(sorted(drops.items())),
        "notes": dict(sorted(notes.items())),
        "out_of_scope": out_of_scope,
        "pre_drops": dict(sorted((stored["pre_drops"] if refilter else pre_drops).items())),
        "score_notes": dict(sorted((stored.get("score_notes", {}) if refilter else score_notes).items())),
    }


class _Scored:
    """In-scope pairs as the filters saw them, with every score column (``keep_scores``).

    Turned into Arrow batch by batch, like :class:`_Columns`, so memory stays flat.
    """

    def __init__(self) -> None:
        self.batches: list[pa.Table] = []

    def add(self, records: list[dict], texts: list[tuple[str, str]]) -> None:
        rows = []
        for r, (src, tgt) in zip(records, texts):
            row = {k: v for k, v in r.items() if k != "drop_reason"}
            row["src"], row["tgt"] = src, tgt  # the text before any rewrite (script conversion)
            rows.append(row)
        if rows:
            names = list(BASE_COLUMNS) + sorted({k for r in rows for k in r} - set(BASE_COLUMNS))
            self.batches.append(pa.Table.from_pylist(rows, schema=pa.schema([pa.field(n, _score_type(n)) for n in names])))

    def table(self) -> pa.Table:
        if not self.batches:
            return pa.table({n: pa.array([], _score_type(n)) for n in BASE_COLUMNS})
        table = pa.concat_tables(self.batches, promote_options="default").sort_by("_ord")
        names = list(BASE_COLUMNS) + sorted(set(table.column_names) - set(BASE_COLUMNS))
        return table.select(names)


def _score_type(name: str) -> pa.DataType:
    if name == "_ord":
        return pa.int64()
    return pa.string() if name in BASE_COLUMNS or name.endswith("_label") else pa.float64()


def _write_buckets(plan: PrepPlan, name: str, kept: _Columns) -> None:
    table, b_arr = kept.table()
    order = np.argsort(b_arr, kind="stable")
    sorted_b = b_arr[order]
    table = table.take(pa.array(order)) if len(order) else table
    plan.filter_dir(name).mkdir(parents=True, exist_ok=True)
    for b in np.unique(sorted_b):
        lo, hi = np.searchsorted(sorted_b, b, "left"), np.searchsorted(sorted_b, b, "right")
        write_shard(table.slice(lo, hi - lo), plan.bucket_part(name, int(b)))


def _write_dropped(plan: PrepPlan, name: str, dropped: list[dict]) -> None:
    dropped.sort(key=lambda r: r["_ord"])
    cols = {c: [r.get(c) for r in dropped] for c in BASE_COLUMNS if c != "_ord"}
    cols["drop_reason"] = [r.get("drop_reason") for r in dropped]
    schema = pa.schema([(c, pa.string()) for c in cols])
    write_shard(pa.table(cols, schema=schema), plan.dropped_file(name))


def bucket_parts(plan: PrepPlan, shards: list[str], bucket: int) -> list[Optional[str]]:
    """Existing parts of ``bucket`` over ``shards`` (in shard order)."""
    out = []
    for s in shards:
        p = plan.bucket_part(s, bucket)
        if p.is_file():
            out.append(str(p))
    return out
