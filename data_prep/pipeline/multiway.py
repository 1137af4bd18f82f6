"""Step 3, per bucket: dedup, English-pivot join, aux attachment, directions, downsampling.

A bucket holds every filtered pair whose canonical source has one dedup-key hash
(see :mod:`data_prep.pipeline.keys`), gathered from all shards and sorted by the
global read order ``_ord``. In that order:

1. **dedup** per language pair: the first occurrence of an exact (normalised
   text) pair is kept, later ones count as ``dedup:exact``; with
   ``dedup.normalized`` a pair equal after casefolding and stripping
   punctuation/digits/spaces counts as ``dedup:normalized``.
2. **multi-way groups**: pairs whose source is the pivot language (English) and
   share the identical English sentence form one group ``{lang: first pair}``.
3. **emit** both directions of every pair (those selected by ``prep.directions``),
   each with the auxiliary-language sentence (``AuxMap.aux_language``) taken from
   its group when the group has that language;
4. **pivot**: for the first En-X pair of each group and each centre C (Chinese)
   in the group, the pair C-X (both directions; the aux for Zh<->X is the English
   sentence itself). One pivot pair per group and language keeps the join linear
   (no cross product of alternative translations).
5. **downsample** reverse directions (:mod:`data_prep.pipeline.downsample`).

Each direction's part ``part-{bucket}.parquet`` holds its corpus pairs in read
order, then its pivot pairs in the read order of their X side. Pivot pairs are
not deduplicated against a direct Zh-X corpus holding the same pair, and a
direct (non-English) pair gets no auxiliary sentence (the join key is the
English side). Only one bucket is in memory at a time, so memory is bounded by
the bucket size.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.pipeline.downsample import Downsampler
from data_prep.pipeline.keys import swap_score_name
from data_prep.pipeline.plan import DROPPED, PrepPlan, write_shard
from data_prep.pipeline.shards import KEY_COLUMNS, bucket_parts
from lmt.datafiles import direction_dir
from lmt.errors import ConfigError, UnknownLanguageError
from lmt.io import read_json, write_json_atomic
from lmt.languages import TIERS, Direction
from lmt.schemas import PARALLEL_SCHEMA

GROUP_NAMES = ("en2x", "x2en", "zh2x", "x2zh", "other")


class DirectionSelector:
    """Which directions ``prep.directions`` asks for (groups, tiers, explicit)."""

    def __init__(self, spec: list[str]) -> None:
        self.groups: set[str] = set()
        self.tiers: set[str] = set()
        self.explicit: set[Direction] = set()
        for item in spec:
            item = item.strip()
            if item == "all":
                self.groups |= {"en2x", "x2en", "zh2x", "x2zh"}
            elif item in GROUP_NAMES:
                self.groups.add(item)
            elif item in TIERS:
                self.tiers.add(item)
            else:
                try:
                    self.explicit.add(Direction.parse(item))
                except UnknownLanguageError as err:
                    raise ConfigError(f"prep.directions: {item!r}: {err}") from None
        self._cache: dict[Direction, bool] = {}

    def __call__(self, d: Direction) -> bool:
        hit = self._cache.get(d)
        if hit is None:
            hit = self._cache[d] = d in self.explicit or d.group in self.groups or (d.group != "other" and d.tier in self.tiers)
        return hit


@functools.lru_cache(maxsize=4)
def _selector(spec: tuple[str, ...]) -> DirectionSelector:
    return DirectionSelector(list(spec))


def _dedup(exact: np.ndarray, norm: np.ndarray, exact_on: bool, norm_on: bool, drops: Counter) -> tuple[np.ndarray, np.ndarray]:
    """Indices (in order) of first occurrences, and a reason per row (``""`` when kept).

    Counts the duplicates by kind into ``drops``.

    An exact duplicate is also a normalised one (the normalised key is a
    function of the text), so with both on a pair is kept iff it is the first
    of its normalised key; it counts as ``dedup:exact`` when its exact key was
    seen before, else ``dedup:normalized``.
    """
    n = len(exact)
    reasons = np.full(n, "", dtype=object)
    if not (exact_on or norm_on) or n == 0:
        return np.arange(n), reasons
    key = norm if norm_on else exact
    _, first = np.unique(key, return_index=True)
    keep = np.zeros(n, dtype=bool)
    keep[first] = True
    if exact_on:
        _, first_exact = np.unique(exact, return_index=True)
        is_first_exact = np.zeros(n, dtype=bool)
        is_first_exact[first_exact] = True
        reasons[~keep & ~is_first_exact] = "dedup:exact"
        reasons[~keep & is_first_exact] = "dedup:normalized"
    else:
        reasons[~keep] = "dedup:normalized"
    for reason in ("dedup:exact", "dedup:normalized"):
        hits = int((reasons == reason).sum())
        if hits:
            drops[reason] += hits
    return np.flatnonzero(keep), reasons


def process_bucket(plan: PrepPlan, bucket: int) -> dict:
    """Dedup, join, emit and downsample one bucket; write its output parts.

    Returns:
        ``{"drops": {...}, "directions": {"src-tgt": {"before", "after", "aux",
        "pivot"}}}`` (also the done marker).
    """
    done = plan.bucket_done(bucket)
    if done.is_file():
        return read_json(done)
    prep = plan.prep
    parts = bucket_parts(plan, plan.shards, bucket)
    drops: Counter = Counter()
    stats: dict[str, Counter] = defaultdict(Counter)
    tables: dict[Direction, list[pa.Table]] = {}
    if parts:
        table = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="default").sort_by("_ord")
        keep, reasons = _dedup(
            table.column("_exact").to_numpy(), table.column("_norm").to_numpy(), prep.dedup.exact, prep.dedup.normalized, drops
        )
        if prep.write_dropped and len(keep) < table.num_rows:
            gone = np.flatnonzero(reasons != "")
            dropped = table.take(pa.array(gone)).select(["src_lang", "tgt_lang", "src", "tgt", "corpus", "origin"])
            dropped = dropped.append_column("drop_reason", pa.array(list(reasons[gone]), pa.string()))
            write_shard(dropped, plan.out_dir / DROPPED / f"dedup-b{bucket:04d}.parquet")
        table = table.take(pa.array(keep)).drop_columns(list(KEY_COLUMNS) + ["_ord"])
        tables = _emit(plan, table, stats)
    for d, ts in tables.items():
        out = pa.concat_tables(ts) if len(ts) > 1 else ts[0]
        if out.num_rows:
            write_shard(out, direction_dir(plan.out_dir, d) / f"part-{bucket:05d}.parquet")
    result = {"drops": dict(sorted(drops.items())), "directions": {k: dict(v) for k, v in sorted(stats.items())}}
    write_json_atomic(done, result)
    return result


def _output(d: Direction, src, tgt, corpus, origin, aux_lang: Optional[str], aux: list, scores: dict[str, Any]) -> pa.Table:
    """One direction's records in the output schema (score columns after the base ones)."""
    n = len(src)
    has_aux = [a is not None for a in aux]
    arrays = [
        pa.array([d.src] * n, pa.string()),
        pa.array([d.tgt] * n, pa.string()),
        src,
        tgt,
        corpus,
        origin,
        pa.array([aux_lang if h else None for h in has_aux], pa.string()),
        pa.array(aux, pa.string()),
    ]
    fields = list(PARALLEL_SCHEMA)
    for name in sorted(scores):  # one column order whichever side a score came from
        fields.append(pa.field(name, pa.float64()))
        arrays.append(scores[name])
    arrays = [a if isinstance(a, (pa.Array, pa.ChunkedArray)) else pa.array(a, pa.string()) for a in arrays]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _emit(plan: PrepPlan, table: pa.Table, stats: dict) -> dict[Direction, list[pa.Table]]:
    """Both directions of every pair, pivot pairs, aux sentences, downsampling.

    Column-wise: per language pair and direction, the kept rows are one Arrow
    ``take``; Python only touches what is per record by nature (the
    downsampling hash, the aux lookup, pivot pairs).
    """
    prep = plan.prep
    via, centres = prep.pivot.via, list(prep.pivot.centres)
    aux_map = plan.aux() if prep.pivot.attach_aux else None
    wanted = _selector(tuple(prep.directions))
    seed = prep.downsample.seed if prep.downsample.seed is not None else plan.seed
    ds = Downsampler(prep.downsample.ratio, prep.downsample.per_direction, seed)
    src_l, tgt_l = table.column("src_lang").to_pylist(), table.column("tgt_lang").to_pylist()
    src, tgt = table.column("src").to_pylist(), table.column("tgt").to_pylist()
    score_names = [c for c in table.column_names if c not in PARALLEL_SCHEMA.names]

    # Multi-way groups: identical pivot sentence -> first pair per language.
    groups: dict[str, dict[str, int]] = {}
    if prep.pivot.enabled or aux_map is not None:
        min_chars = prep.pivot.min_chars
        for i, (a, s, b) in enumerate(zip(src_l, src, tgt_l)):
            if a == via and len(s) >= min_chars:
                groups.setdefault(s, {}).setdefault(b, i)

    by_pair: dict[tuple[str, str], list[int]] = {}
    for i, ab in enumerate(zip(src_l, tgt_l)):
        by_pair.setdefault(ab, []).append(i)

    out: dict[Direction, list[pa.Table]] = {}

    def aux_texts(aux: Optional[str], rows: list[int], pivot_texts: Optional[list]) -> list:
        if aux is None:
            return [None] * len(rows)
        if aux == via and pivot_texts is not None:
            return pivot_texts
        res = []
        for i in rows:
            g = groups.get(src[i]) if src_l[i] == via else None
            j = g.get(aux) if g is not None else None
            res.append(tgt[j] if j is not None else None)
        return res

    def emit(d: Direction, rows: list[int], s_list: list, t_list: list, corpus, origin, scores: dict, aux: list, aux_lang, pivot: bool) -> None:
        st = stats[str(d)]
        n = len(rows)
        st["before"] += n
        p = ds.ratio_for(d)
        if p >= 1.0:
            sel = list(range(n))
        elif p <= 0.0:
            sel = []
        else:
            prefix, seed_ = ds.prefix(d), ds.seed
            draw = Downsampler.draw
            sel = [k for k in range(n) if draw(prefix, s_list[k], t_list[k], seed_) < p]
        if not sel:
            return
        idx = pa.array(sel, pa.int64())
        aux_sel = [aux[k] for k in sel]
        t = _output(
            d,
            pa.array(s_list, pa.string()).take(idx),
            pa.array(t_list, pa.string()).take(idx),
            corpus.take(idx),
            origin.take(idx),
            aux_lang,
            aux_sel,
            {name: col.take(idx) for name, col in scores.items()},
        )
        out.setdefault(d, []).append(t)
        st["after"] += len(sel)
        n_aux = sum(1 for a in aux_sel if a is not None)
        if n_aux:
            st["aux"] += n_aux
        if pivot:
            st["pivot"] += len(sel)

    for (a, b), rows in by_pair.items():
        rows_arr = pa.array(rows, pa.int64())
        sub = table.take(rows_arr)
        s_rows, t_rows = [src[i] for i in rows], [tgt[i] for i in rows]
        pivot_texts = s_rows if a == via else None
        for d, s_list, t_list, swap in ((Direction(a, b), s_rows, t_rows, False), (Direction(b, a), t_rows, s_rows, True)):
            if not wanted(d):
                continue
            aux_lang = aux_map.aux_language(d.src, d.tgt) if aux_map is not None else None
            scores = {(swap_score_name(n) if swap else n): sub.column(n) for n in score_names}
            emit(d, rows, s_list, t_list, sub.column("corpus"), sub.column("origin"), scores,
                 aux_texts(aux_lang, rows, pivot_texts), aux_lang, False)

    # Pivot: the first En-X pair of each group x each centre C in the group -> C-X.
    if prep.pivot.enabled:
        corpus, origin = table.column("corpus").to_pylist(), table.column("origin").to_pylist()
        piv: dict[tuple[str, str], dict[str, list]] = {}
        for s_text, g in groups.items():
            for c in centres:
                j = g.get(c)
                if j is None:
                    continue
                for b, i in g.items():
                    if b in centres or b == via:
                        continue
                    p = piv.setdefault((c, b), {"i": [], "c": [], "x": [], "corpus": [], "origin": [], "en": []})
                    p["i"].append(i)
                    p["c"].append(tgt[j])
                    p["x"].append(tgt[i])
                    p["corpus"].append(corpus[j] if corpus[j] == corpus[i] else f"{corpus[j]}+{corpus[i]}")
                    p["origin"].append(f"pivot({origin[j]};{origin[i]})")
                    p["en"].append(s_text)
        for (c, b), p in piv.items():
            order = sorted(range(len(p["i"])), key=p["i"].__getitem__)  # read order of the X side
            cols = {k: [v[o] for o in order] for k, v in p.items()}
            corpus_a, origin_a = pa.array(cols["corpus"], pa.string()), pa.array(cols["origin"], pa.string())
            for d, s_list, t_list in ((Direction(c, b), cols["c"], cols["x"]), (Direction(b, c), cols["x"], cols["c"])):
                if not wanted(d):
                    continue
                aux_lang = aux_map.aux_language(d.src, d.tgt) if aux_map is not None else None
                rows = cols["i"]
                if aux_lang == via:
                    aux = cols["en"]
                else:  # another auxiliary (custom map): from the same multi-way group
                    aux = [g.get(aux_lang) for g in (groups[e] for e in cols["en"])] if aux_lang else [None] * len(rows)
                    aux = [tgt[j] if j is not None else None for j in aux]
                scores = {n: pa.nulls(len(rows), pa.float64()) for n in score_names}
                emit(d, rows, s_list, t_list, corpus_a, origin_a, scores, aux, aux_lang, True)
    return out
