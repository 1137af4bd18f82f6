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

    aux_cache: dict[Direction, Optional[str]] = {}

    def aux_lang(d: Direction) -> Optional[str]:
        if d not in aux_cache:
            aux_cache[d] = aux_map.aux_language(d.src, d.tgt) if aux_map is not None else None
        return aux_cache[d]

    outputs: dict[Direction, dict[str, list]] = {}

    def add(d: Direction, s: str, t: str, corp: str, orig: str, group: Optional[dict], pivot_text: Optional[str], scores: dict) -> None:
        st = stats[str(d)]
        st["before"] += 1
        a_lang = aux_lang(d)
        a_text = None
        if a_lang is not None:
            if a_lang == via and pivot_text is not None:
                a_text = pivot_text
            elif group is not None and a_lang in group:
                a_text = tgt[group[a_lang]]
        if not ds.keep(d, s, t):
            return
        out = outputs.get(d)
        if out is None:
            out = outputs[d] = {name: [] for name in PARALLEL_SCHEMA.names}
            for name in score_names:
                out[name] = []
        out["src_lang"].append(d.src)
        out["tgt_lang"].append(d.tgt)
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
        fwd_scores = {n: cols[n][i] for n in score_names}
        rev_scores = {swapped_names[n]: cols[n][i] for n in score_names}
        d = Direction(a, b)
        if wanted(d):
            add(d, src[i], tgt[i], corpus[i], origin[i], group, pivot_text, fwd_scores)
        d = Direction(b, a)
        if wanted(d):
            add(d, tgt[i], src[i], corpus[i], origin[i], group, pivot_text, rev_scores)
        # Pivot: first En-X pair of the group x each centre C present -> C-X.
        if prep.pivot.enabled and group is not None and b not in centres and b != via and group.get(b) == i:
            for c in centres:
                j = group.get(c)
                if j is None:
                    continue
                corp = corpus[j] if corpus[j] == corpus[i] else f"{corpus[j]}+{corpus[i]}"
                orig = f"pivot({origin[j]};{origin[i]})"
                d = Direction(c, b)
                if wanted(d):
                    add(d, tgt[j], tgt[i], corp, orig, group, pivot_text, {})
                d = Direction(b, c)
                if wanted(d):
                    add(d, tgt[i], tgt[j], corp, orig, group, pivot_text, {})
    return outputs
