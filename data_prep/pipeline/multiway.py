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

Only one bucket is in memory at a time, so memory is bounded by the bucket size.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from typing import Any, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.pipeline.downsample import Downsampler
from data_prep.pipeline.keys import swap_score_name
from data_prep.pipeline.plan import PrepPlan
from data_prep.pipeline.shards import BASE_COLUMNS, KEY_COLUMNS, bucket_parts
from lmt.datafiles import direction_dir
from lmt.errors import ConfigError, UnknownLanguageError
from lmt.io import read_json, write_json_atomic, write_parquet_atomic
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


def _dedup(cols: dict[str, list], exact_on: bool, norm_on: bool, drops: Counter) -> list[int]:
    keep: list[int] = []
    seen_exact: set[int] = set()
    seen_norm: set[int] = set()
    for i, (e, n) in enumerate(zip(cols["_exact"], cols["_norm"])):
        if exact_on and e in seen_exact:
            drops["dedup:exact"] += 1
            continue
        if norm_on and n in seen_norm:
            drops["dedup:normalized"] += 1
            continue
        seen_exact.add(e)
        seen_norm.add(n)
        keep.append(i)
    return keep


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
    outputs: dict[Direction, dict[str, list]] = {}
    if parts:
        table = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="default").sort_by("_ord")
        cols = {name: table.column(name).to_pylist() for name in table.column_names}
        del table
        score_names = [c for c in cols if c not in BASE_COLUMNS and c not in KEY_COLUMNS]
        keep = _dedup(cols, prep.dedup.exact, prep.dedup.normalized, drops)
        outputs = _emit(plan, cols, keep, score_names, stats)
    for d, out in outputs.items():
        if out["src"]:
            write_parquet_atomic(_to_table(out), direction_dir(plan.out_dir, d) / f"part-{bucket:05d}.parquet")
    result = {"drops": dict(sorted(drops.items())), "directions": {k: dict(v) for k, v in sorted(stats.items())}}
    write_json_atomic(done, result)
    return result


def _to_table(out: dict[str, list]) -> pa.Table:
    fields = list(PARALLEL_SCHEMA)
    arrays = [pa.array(out[f.name], type=f.type) for f in fields]
    for name in out:
        if name not in PARALLEL_SCHEMA.names:
            fields.append(pa.field(name, pa.float64()))
            arrays.append(pa.array(out[name], type=pa.float64()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


class _Sink:
    """One output direction of a bucket: its settings, counters and columns."""

    __slots__ = ("src", "tgt", "aux", "stats", "out", "_p", "_seed", "_prefix")

    def __init__(self, d: Direction, aux: Optional[str], ds: Downsampler, out: dict, stats: Counter) -> None:
        self.src, self.tgt, self.aux, self.out, self.stats = d.src, d.tgt, aux, out, stats
        self._p = ds.ratio_for(d)
        self._seed = ds.seed
        self._prefix = ds.prefix(d)

    def keep(self, s: str, t: str) -> bool:
        p = self._p
        if p >= 1.0:
            return True
        if p <= 0.0:
            return False
        return Downsampler.draw(self._prefix, s, t, self._seed) < p


def _emit(plan: PrepPlan, cols: dict[str, list], keep: list[int], score_names: list[str], stats: dict) -> dict:
    prep = plan.prep
    via, centres = prep.pivot.via, list(prep.pivot.centres)
    aux_map = plan.aux() if prep.pivot.attach_aux else None
    wanted = _selector(tuple(prep.directions))
    seed = prep.downsample.seed if prep.downsample.seed is not None else plan.seed
    ds = Downsampler(prep.downsample.ratio, prep.downsample.per_direction, seed)
    src_l, tgt_l, src, tgt = cols["src_lang"], cols["tgt_lang"], cols["src"], cols["tgt"]
    corpus, origin = cols["corpus"], cols["origin"]
    swapped_names = {n: swap_score_name(n) for n in score_names}

    # Multi-way groups: identical pivot sentence -> first pair per language.
    groups: dict[str, dict[str, int]] = {}
    if prep.pivot.enabled or aux_map is not None:
        for i in keep:
            if src_l[i] == via and len(src[i]) >= prep.pivot.min_chars:
                groups.setdefault(src[i], {}).setdefault(tgt_l[i], i)

    outputs: dict[Direction, dict[str, list]] = {}
    sinks: dict[tuple[str, str], Optional[_Sink]] = {}

    def sink(a: str, b: str) -> "Optional[_Sink]":
        # Per-direction settings resolved once per bucket, not per record.
        try:
            return sinks[(a, b)]
        except KeyError:
            d = Direction(a, b)
            if not wanted(d):
                sinks[(a, b)] = None
                return None
            aux = aux_map.aux_language(a, b) if aux_map is not None else None
            out = outputs[d] = {name: [] for name in PARALLEL_SCHEMA.names}
            for name in score_names:
                out[name] = []
            snk = sinks[(a, b)] = _Sink(d, aux, ds, out, stats[str(d)])
            return snk

    def add(snk: "_Sink", s: str, t: str, corp: str, orig: str, group: Optional[dict], pivot_text: Optional[str], scores: dict) -> None:
        st = snk.stats
        st["before"] += 1
        a_lang = snk.aux
        a_text = None
        if a_lang is not None:
            if a_lang == via and pivot_text is not None:
                a_text = pivot_text
            elif group is not None and a_lang in group:
                a_text = tgt[group[a_lang]]
        if not snk.keep(s, t):
            return
        out = snk.out
        out["src_lang"].append(snk.src)
        out["tgt_lang"].append(snk.tgt)
        out["src"].append(s)
        out["tgt"].append(t)
        out["corpus"].append(corp)
        out["origin"].append(orig)
        out["aux_lang"].append(a_lang if a_text is not None else None)
        out["aux"].append(a_text)
        for name in score_names:
            out[name].append(scores.get(name))
        st["after"] += 1
        if a_text is not None:
            st["aux"] += 1
        if orig.startswith("pivot("):
            st["pivot"] += 1

    for i in keep:
        a, b = src_l[i], tgt_l[i]
        group = groups.get(src[i]) if a == via else None
        pivot_text = src[i] if a == via else None
        fwd_scores = {n: cols[n][i] for n in score_names} if score_names else {}
        rev_scores = {swapped_names[n]: cols[n][i] for n in score_names} if score_names else {}
        snk = sink(a, b)
        if snk is not None:
            add(snk, src[i], tgt[i], corpus[i], origin[i], group, pivot_text, fwd_scores)
        snk = sink(b, a)
        if snk is not None:
            add(snk, tgt[i], src[i], corpus[i], origin[i], group, pivot_text, rev_scores)
        # Pivot: first En-X pair of the group x each centre C present -> C-X.
        if prep.pivot.enabled and group is not None and b not in centres and b != via and group.get(b) == i:
            for c in centres:
                j = group.get(c)
                if j is None:
                    continue
                corp = corpus[j] if corpus[j] == corpus[i] else f"{corpus[j]}+{corpus[i]}"
                orig = f"pivot({origin[j]};{origin[i]})"
                snk = sink(c, b)
                if snk is not None:
                    add(snk, tgt[j], tgt[i], corp, orig, group, pivot_text, {})
                snk = sink(b, c)
                if snk is not None:
                    add(snk, tgt[i], tgt[j], corp, orig, group, pivot_text, {})
    return outputs
