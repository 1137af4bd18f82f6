"""Language ID once per unique sentence of the run: collect, identify, join back.

In OPUS-shaped data one English sentence recurs in many corpora (one per
language pair, and the corpora overlap), so identifying every side of every
pair repeats most of the fastText calls. With the pass on (``prep.lid_pass``),
three steps replace them, each over independent units:

1. :func:`collect_lid_shard` per raw chunk: the distinct texts the chunk's LID
   filters will see, per model (path and ``max_chars``: what the prediction
   depends on), written to hash buckets of the text;
2. :func:`identify_lid_bucket` per bucket: every distinct text of the whole run
   that hashes there, normalised as the filter step will, identified once, and
   the predictions written back per chunk that holds the text;
3. :func:`filter_shard_with_lid` per raw chunk: the usual
   :func:`~data_prep.pipeline.shards.filter_shard` with the chunk's predictions
   installed (:func:`lmt.lid.known_predictions`), so the
   filter chain, its order, scores, drop reasons and notes are those of the
   run without the pass, bit for bit; a text the pass did not see is
   identified as usual.

The key is the text a filter gives the model, not ``(language, text)``: the
prediction does not depend on the expected language, so one call serves a
sentence that is in two languages' corpora too. Texts are collected before the
cheaper filters run, so a few texts those filters drop are identified as well.
Monolingual shards are identified as before (their lines rarely recur).
Work layout under ``_work/lid/``: ``collect/<shard>/bNNNN.parquet`` (sig, text),
``known/<shard>/bNNNN.parquet`` (sig, text, label, prob) and ``.done.json``
markers, written atomically like every other unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from data_prep.pipeline.plan import PrepPlan, write_shard
from data_prep.pipeline.shards import filter_shard, get_chain, text_normalizer
from lmt.io import read_json, write_json_atomic

SIG_SEP = "\x1f"


def _lid_dir(plan: PrepPlan) -> Path:
    return plan.work / "lid"


def _collect_dir(plan: PrepPlan, shard: str) -> Path:
    return _lid_dir(plan) / "collect" / shard


def _known_dir(plan: PrepPlan, shard: str) -> Path:
    return _lid_dir(plan) / "known" / shard


def _bucket_file(bucket: int) -> str:
    return f"b{bucket:04d}.parquet"


def lid_signature(identifier: Any) -> str:
    """What a prediction depends on besides the text: model file and ``max_chars``."""
    return f"{identifier.model_path}{SIG_SEP}{identifier.max_chars}"


def _identifier(sig: str) -> Any:
    from lmt.lid import LanguageIdentifier

    path, max_chars = sig.split(SIG_SEP)
    return LanguageIdentifier(path, max_chars=int(max_chars))


def _lid_filters(chain: Any) -> list:
    from data_prep.filters.lid import LidFilter

    return [f for f in chain.filters if isinstance(f, LidFilter)]


def uses_lid(filters_cfg: Any) -> bool:
    """Whether any level of ``prep.filters`` names a language-ID filter."""
    from data_prep.filters.base import get_filter_class
    from data_prep.filters.lid import LidFilter

    levels = [filters_cfg.defaults, *filters_cfg.per_language.values(), *filters_cfg.per_pair.values(), *filters_cfg.per_corpus.values()]
    return any(issubclass(get_filter_class(name), LidFilter) for rules in levels for name, on in rules.items() if on is not False)


def lid_pass_wanted(plan: PrepPlan) -> bool:
    """``prep.lid_pass``: ``on``/``off``, or ``auto``: on when LID is configured
    and there are two or more parallel corpora (sentences can recur across them)."""
    mode = plan.prep.lid_pass
    if mode == "off" or not uses_lid(plan.prep.filters):
        return False
    return mode == "on" or len(plan.sources) >= 2


def collect_lid_shard(plan: PrepPlan, shard: tuple[int, int]) -> dict:
    """Step 1: the distinct texts LID will see in raw chunk ``shard``, by bucket.

    Returns:
        ``{"pairs": rows, "texts": distinct (model, text) of the chunk}``.
    """
    name = plan.shard_name(*shard)
    done = _lid_dir(plan) / "collect" / f"{name}.done.json"
    if done.is_file():
        return read_json(done)
    prep = plan.prep
    table = pq.read_table(plan.raw_chunk(*shard), columns=["src_lang", "tgt_lang", "src", "tgt", "corpus"])
    wanted = set(prep.languages) if prep.languages else None
    groups = table.group_by(["src_lang", "tgt_lang", "corpus"], use_threads=False).aggregate([]).to_pylist()
    sigs: list[pa.Array] = []
    texts: list[pa.Array] = []
    for g in groups:
        sl, tl, corpus = g["src_lang"], g["tgt_lang"], g["corpus"]
        if wanted is not None and not (sl in wanted and tl in wanted):
            continue
        lid = _lid_filters(get_chain(plan, sl, tl, corpus))
        if not lid:
            continue
        rows = table.filter(pc.and_(pc.and_(pc.equal(table["src_lang"], sl), pc.equal(table["tgt_lang"], tl)), pc.equal(table["corpus"], corpus)))
        for f in lid:
            sig = lid_signature(f.identifier)
            for side, lang in (("src", sl), ("tgt", tl)):
                if f.identifier.can_label(lang):
                    column = rows[side].combine_chunks()
                    texts.append(column)
                    sigs.append(pa.array([sig] * len(column), pa.string()))
    collected = pa.table({"sig": pa.concat_arrays(sigs) if sigs else pa.array([], pa.string()),
                          "text": pa.concat_arrays(texts) if texts else pa.array([], pa.string())})
    distinct = collected.group_by(["sig", "text"], use_threads=False).aggregate([])
    # Buckets by the raw text: cheap here, and equal texts meet in one bucket.
    bucket = np.fromiter(
        (xxhash.xxh64_intdigest(t.encode("utf-8")) % plan.buckets for t in distinct["text"].to_pylist()),
        dtype=np.int64, count=distinct.num_rows,
    )
    order = np.argsort(bucket, kind="stable")
    distinct, bucket = distinct.take(pa.array(order)), bucket[order]
    for b in np.unique(bucket):
        lo, hi = np.searchsorted(bucket, b, "left"), np.searchsorted(bucket, b, "right")
        write_shard(distinct.slice(lo, hi - lo), _collect_dir(plan, name) / _bucket_file(int(b)))
    result = {"pairs": table.num_rows, "texts": distinct.num_rows}
    write_json_atomic(done, result)
    return result


def identify_lid_bucket(plan: PrepPlan, bucket: int) -> dict:
    """Step 2: identify every distinct text of ``bucket`` once; write the predictions back per chunk.

    Returns:
        ``{"texts": (chunk, model, text) rows, "identified": model calls}``.
    """
    done = _lid_dir(plan) / "bucket" / f"b{bucket:04d}.done.json"
    if done.is_file():
        return read_json(done)
    parts = []
    for i, shard in enumerate(plan.shards):
        path = _collect_dir(plan, shard) / _bucket_file(bucket)
        if path.is_file():
            t = pq.read_table(path)
            parts.append(t.append_column("shard", pa.array(np.full(t.num_rows, i, dtype=np.int32))))
    identified = rows = 0
    out: list[pa.Table] = []
    if parts:
        table = pa.concat_tables(parts)
        rows = table.num_rows
        for sig in pc.unique(table["sig"]).to_pylist():
            sub = table.filter(pc.equal(table["sig"], sig))
            labels, probs, texts, calls = _identify(plan, sig, sub["text"].combine_chunks())
            identified += calls
            keep = pc.not_equal(texts, "")  # empty after normalisation: dropped before LID
            out.append(pa.table({"shard": sub["shard"], "sig": sub["sig"], "text": texts,
                                 "label": labels, "prob": probs}).filter(keep))
    if out:
        known = pa.concat_tables(out)
        shard_ids = known["shard"].to_numpy()
        order = np.argsort(shard_ids, kind="stable")
        known, shard_ids = known.take(pa.array(order)).drop_columns(["shard"]), shard_ids[order]
        for s in np.unique(shard_ids):
            lo, hi = np.searchsorted(shard_ids, s, "left"), np.searchsorted(shard_ids, s, "right")
            write_shard(known.slice(lo, hi - lo), _known_dir(plan, plan.shards[int(s)]) / _bucket_file(bucket))
    result = {"texts": rows, "identified": identified}
    write_json_atomic(done, result)
    return result


def _identify(plan: PrepPlan, sig: str, raw: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array, int]:
    """Labels, probabilities and normalised texts of the rows ``raw``, and the
    number of model calls (one per distinct normalised text)."""
    encoded = pc.dictionary_encode(raw)
    values = encoded.dictionary.to_pylist()
    if plan.prep.normalize:
        norm = text_normalizer()
        values = [norm(v) for v in values]
    distinct = {v: i for i, v in enumerate(dict.fromkeys(v for v in values if v))}
    predictions = _identifier(sig).top1(list(distinct))
    at = np.fromiter((distinct.get(v, -1) for v in values), dtype=np.int64, count=len(values))
    label_of = np.array([p[0] for p in predictions] + [""], dtype=object)
    prob_of = np.array([p[1] for p in predictions] + [0.0], dtype=np.float64)
    rows = at[encoded.indices.to_numpy(zero_copy_only=False)]
    texts = pa.array(values, pa.string()).take(encoded.indices)
    return pa.array(label_of[rows], pa.string()), pa.array(prob_of[rows]), texts, len(distinct)


def filter_shard_with_lid(plan: PrepPlan, shard: tuple[int, int]) -> dict:
    """Step 3: :func:`filter_shard` with the chunk's predictions from step 2."""
    from lmt.lid import known_predictions

    name = plan.shard_name(*shard)
    if plan.filter_done(name).is_file():
        return read_json(plan.filter_done(name))
    tables: dict[tuple[str, int], dict] = {}
    for path in sorted(_known_dir(plan, name).glob("b*.parquet")):
        known = pq.read_table(path)
        for sig in pc.unique(known["sig"]).to_pylist():
            rows = known.filter(pc.equal(known["sig"], sig))
            model, max_chars = sig.split(SIG_SEP)
            table = tables.setdefault((model, int(max_chars)), {})
            table.update(zip(rows["text"].to_pylist(), zip(rows["label"].to_pylist(), rows["prob"].to_pylist())))
    with known_predictions(tables):
        return filter_shard(plan, shard)


def log_summary(log: Any, collected: Iterable[dict], identified: Iterable[dict]) -> None:
    """Log how many model calls the pass saved."""
    pairs = sum(r["pairs"] for r in collected)
    calls = sum(r["identified"] for r in identified)
    log.info("language ID: %d model calls for %d pairs (%.2f per pair)", calls, pairs, calls / max(pairs, 1))


__all__ = ["collect_lid_shard", "identify_lid_bucket", "filter_shard_with_lid", "lid_pass_wanted", "lid_signature", "uses_lid"]
