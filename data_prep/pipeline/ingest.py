"""Step 1, ingest: stream one corpus into raw Parquet chunks of ``shard_size`` pairs.

Reading is sequential within a corpus (the readers stream) and parallel across
corpora. Each record gets ``_ord`` = ``corpus_id << 40 | row``: a global order
that does not depend on chunking, so "keep the first occurrence" means the same
record whatever the shard size or worker count.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Iterator, Optional

import pyarrow as pa

from data_prep.pipeline.plan import PrepPlan, write_shard
from lmt.io import read_json, write_json_atomic
from lmt.schemas import PARALLEL_SCHEMA

ORD_SHIFT = 40
# The reader fields of PARALLEL_SCHEMA (no aux yet) plus the read-order number.
RAW_SCHEMA = pa.schema(
    [PARALLEL_SCHEMA.field(name) for name in ("src_lang", "tgt_lang", "src", "tgt", "corpus", "origin")]
    + [pa.field("_ord", pa.int64())]
)
MONO_RAW_SCHEMA = pa.schema([("lang", pa.string()), ("text", pa.string()), ("corpus", pa.string()), ("_ord", pa.int64())])


#: Rows buffered as Python objects before they become one compact Arrow batch.
BATCH = 8192


def _chunks(records: Iterator[dict], size: int, base: int, schema: pa.Schema) -> Iterator[pa.Table]:
    """Group records into tables of ``size`` rows, numbering them from ``base``.

    Rows are turned into Arrow record batches every :data:`BATCH` rows, so the
    Python objects of at most one batch exist at a time.
    """
    keys = schema.names
    batches: list[pa.RecordBatch] = []
    cols: dict[str, list] = {k: [] for k in keys}
    in_chunk = 0
    n = 0
    for rec in records:
        for k in keys[:-1]:
            cols[k].append(rec.get(k))
        cols["_ord"].append(base + n)
        n += 1
        in_chunk += 1
        if len(cols["_ord"]) >= BATCH or in_chunk >= size:
            batches.append(pa.RecordBatch.from_pydict(cols, schema=schema))
            cols = {k: [] for k in keys}
        if in_chunk >= size:
            yield pa.Table.from_batches(batches, schema=schema)
            batches, in_chunk = [], 0
    if cols["_ord"]:
        batches.append(pa.RecordBatch.from_pydict(cols, schema=schema))
    if batches:
        yield pa.Table.from_batches(batches, schema=schema)


def _noting(records: Iterator[dict], seen: dict) -> Iterator[dict]:
    """Pass records through, counting them per (corpus name, src_lang, tgt_lang)."""
    for rec in records:
        key = (rec["corpus"], rec["src_lang"], rec["tgt_lang"])
        seen[key] = seen.get(key, 0) + 1
        yield rec


def ingest_corpus(plan: PrepPlan, corpus: int, on_chunk: Optional[Callable[[int], None]] = None) -> dict:
    """Read parallel corpus ``corpus`` into raw chunks; skip when already done.

    Args:
        plan: the run.
        corpus: index into ``plan.sources``.
        on_chunk: called with the chunk index as soon as a chunk is on disk (the
            runner starts filtering it while reading goes on); for a corpus
            already ingested, called for every chunk.

    Returns:
        ``{"chunks": n, "pairs": n, "counts": {reader counters}}`` (also the
        content of the done marker).
    """
    done = plan.ingest_done(corpus)
    if done.is_file():
        result = read_json(done)
        for k in range(result["chunks"]):
            if on_chunk is not None:
                on_chunk(k)
        return result
    from data_prep.readers import read_corpus

    counts: Counter = Counter()
    source = plan.sources[corpus]
    n_chunks = n_pairs = 0
    seen: dict[tuple[str, str, str], int] = {}
    records = read_corpus(source, counts, plan.prep.max_line_bytes, plan.prep.strict)
    for table in _chunks(_noting(records, seen), plan.prep.shard_size, corpus << ORD_SHIFT, RAW_SCHEMA):
        write_shard(table, plan.raw_chunk(corpus, n_chunks))
        if on_chunk is not None:
            on_chunk(n_chunks)
        n_chunks += 1
        n_pairs += table.num_rows
    result = {
        "chunks": n_chunks,
        "pairs": n_pairs,
        "counts": dict(sorted(counts.items())),
        # What the reader resolved (a corpus listed by path alone has no name or languages in the config).
        "found": [{"name": c, "src_lang": a, "tgt_lang": b, "pairs": n} for (c, a, b), n in seen.items()],
    }
    write_json_atomic(done, result)
    return result


def ingest_mono(plan: PrepPlan, source: int) -> dict:
    """Read monolingual file ``source`` into raw chunks; skip when already done."""
    done = plan.mono_ingest_done(source)
    if done.is_file():
        return read_json(done)
    from pathlib import Path

    from data_prep.readers import read_monolingual

    spec = plan.prep.monolingual[source]
    corpus = spec.corpus or Path(spec.path).name.split(".")[0]
    counts: Counter = Counter()
    n_chunks = n_lines = 0
    records = read_monolingual(spec.path, spec.lang, corpus, counts, plan.prep.max_line_bytes)
    for table in _chunks(records, plan.prep.shard_size, source << ORD_SHIFT, MONO_RAW_SCHEMA):
        write_shard(table, plan.mono_ingest_dir(source) / f"chunk-{n_chunks:05d}.parquet")
        n_chunks += 1
        n_lines += table.num_rows
    result = {"chunks": n_chunks, "lines": n_lines, "counts": dict(sorted(counts.items()))}
    write_json_atomic(done, result)
    return result
