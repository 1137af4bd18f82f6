"""Monolingual text (CPT data): raw chunks -> normalised, filtered ``mono/{lang}/`` shards.

The filters are those of ``prep.filters`` named in ``prep.mono_filters``
(default LID and length), resolved through the same cascade for the pair
``(lang, lang)`` and applied to pseudo-pairs whose target side is empty of
meaning: only filters that look at each side separately make sense here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.pipeline.plan import PrepPlan, write_shard
from lmt.datafiles import mono_dir
from lmt.io import read_json, write_json_atomic
from lmt.schemas import MONO_SCHEMA

_CHAINS: dict[Any, Any] = {}


def mono_chain(plan: PrepPlan, lang: str, corpus: str):
    """Chain of the ``mono_filters`` for one language and corpus (cached per process)."""
    key = (plan.config_hash, lang, corpus)
    chain = _CHAINS.get(key)
    if chain is None:
        from data_prep.filters.chain import FilterChain, resolve_filters
        from data_prep.filters.base import instantiate

        wanted = set(plan.prep.mono_filters)
        filters, names = [], []
        for name, cls, params in resolve_filters(plan.prep.filters, lang, lang, corpus, "prep.filters"):
            if name in wanted or (cls.name and cls.name in wanted):
                filters.append(instantiate(cls, params, f"prep.filters[{lang}, corpus {corpus}].{name}"))
                names.append(cls.name or name)
        chain = _CHAINS[key] = FilterChain(filters, names=names)
    return chain


def mono_part(plan: PrepPlan, lang: str, source: int, chunk: int):
    """Output file of one monolingual shard."""
    return mono_dir(plan.out_dir, lang) / f"part-{source:04d}{chunk:05d}.parquet"


def filter_mono_shard(plan: PrepPlan, shard: tuple[int, int]) -> dict:
    """Filter monolingual chunk ``(source, chunk)`` into ``mono/{lang}/``; skip when done."""
    source, chunk = shard
    name = f"m{source:04d}-{chunk:05d}"
    done = plan.mono_done(name)
    if done.is_file():
        return read_json(done)
    from data_prep.pipeline.shards import text_normalizer

    table = pq.read_table(plan.mono_ingest_dir(source) / f"chunk-{chunk:05d}.parquet")
    langs, texts, corpora = (table.column(c).to_pylist() for c in ("lang", "text", "corpus"))
    drops: Counter = Counter()
    norm = text_normalizer() if plan.prep.normalize else (lambda s: s)
    pairs = []
    for lang, text, corpus in zip(langs, texts, corpora):
        t = norm(text)
        if not t:
            drops["normalize:empty"] += 1
            continue
        pairs.append({"src_lang": lang, "tgt_lang": lang, "src": t, "tgt": t, "corpus": corpus})
    kept: list[dict] = []
    if pairs:
        chain = mono_chain(plan, pairs[0]["src_lang"], pairs[0]["corpus"])  # one file = one language and corpus
        kept, dropped = chain.apply(pairs)
        for r in dropped:
            drops[r["drop_reason"]] += 1
    lang = langs[0] if langs else plan.prep.monolingual[source].lang
    if kept:
        cols = {"lang": [r["src_lang"] for r in kept], "text": [r["src"] for r in kept], "corpus": [r["corpus"] for r in kept]}
        write_shard(pa.table(cols, schema=MONO_SCHEMA), mono_part(plan, lang, source, chunk))
    result = {"lang": lang, "lines": len(texts), "kept": len(kept), "drops": dict(sorted(drops.items()))}
    write_json_atomic(done, result)
    return result
