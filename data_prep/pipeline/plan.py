"""The resolved, picklable description of one prep run and its work layout.

A :class:`PrepPlan` is everything a step needs to process one unit of work
(one corpus, one shard, one bucket), so a step is a plain function
``step(plan, unit_id)`` that a local process pool -- or any cluster engine --
can run anywhere the files are visible. Work layout under the output dir::

    _work/state.json                          config hash, input fingerprints, bucket count
    _work/ingest/c0003/chunk-00012.parquet     raw pairs of corpus 3 (shard_size rows each)
    _work/ingest/c0003.done.json               reader counts, chunk count
    _work/filter/c0003-00012/b0005.parquet     filtered pairs of that shard falling in bucket 5
    _work/filter/c0003-00012.done.json         drop counts of the shard
    _work/bucket/b0005.done.json               per-direction counts of bucket 5
    scores/c0003-00012.parquet                 every in-scope pair of the shard with all filter scores (keep_scores)
    scores/index.json                          inputs and counts --refilter needs (keep_scores)
    parallel/{src}-{tgt}/part-00005.parquet    final records of bucket 5 (lmt.datafiles layout)

Every Parquet file is written atomically and a ``.done.json`` marker is written
after the files it vouches for, so a killed run resumes at the first unit
without a marker and reproduces the same bytes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from lmt.config.prep import PrepConfig

WORK = "_work"
DROPPED = "dropped"
#: Every in-scope pair with every filter's score columns (``prep.keep_scores``), for ``--refilter``.
SCORES = "scores"
#: Columns worth dictionary-encoding in Parquet (few distinct values). Text
#: columns are not: the encoder would hash every sentence before giving up,
#: costing memory and time for no gain.
DICT_COLUMNS = ["src_lang", "tgt_lang", "corpus", "aux_lang", "lang", "drop_reason"]


def write_shard(table, path) -> None:
    """Write a Parquet shard atomically, dictionary-encoding only low-cardinality columns."""
    from lmt.io import write_parquet_atomic

    write_parquet_atomic(table, path, use_dictionary=[c for c in DICT_COLUMNS if c in table.column_names])


@dataclass
class PrepPlan:
    """A prep run, resolved: config section, inputs, directories, seeds.

    Attributes:
        prep: the ``prep:`` config section.
        out_dir: the output directory (``lmt.datafiles`` layout).
        sources: parallel corpora after directory discovery, in a fixed order
            (their index is the corpus id ``cNNNN``).
        seed: downsampling seed.
        aux_map: ``default`` or the path of the auxiliary-language map.
        languages: extra languages of the experiment config (re-registered in
            each worker process, which does not inherit the parent's registry).
        buckets: hash buckets of dedup and the pivot join (set after ingest).
        config_hash: identity of the settings that shape the output.
        shards: names of all filtered shards (set after ingest).
        stored: per shard, the first run's counts (``--refilter`` only).
    """

    prep: PrepConfig
    out_dir: Path
    sources: list = field(default_factory=list)
    seed: int = 0
    aux_map: str = "default"
    languages: list[dict] = field(default_factory=list)
    buckets: int = 1
    config_hash: str = ""
    shards: list[str] = field(default_factory=list)
    stored: dict = field(default_factory=dict)

    # ---- directories -------------------------------------------------------------------------
    @property
    def work(self) -> Path:
        """Intermediate files (removed after success unless ``keep_work``)."""
        return self.out_dir / WORK

    def ingest_dir(self, corpus: int) -> Path:
        """Raw chunks of one corpus."""
        return self.work / "ingest" / f"c{corpus:04d}"

    def ingest_done(self, corpus: int) -> Path:
        """Marker of a fully ingested corpus."""
        return self.work / "ingest" / f"c{corpus:04d}.done.json"

    def raw_chunk(self, corpus: int, chunk: int) -> Path:
        """One raw chunk (``shard_size`` pairs as read)."""
        return self.ingest_dir(corpus) / f"chunk-{chunk:05d}.parquet"

    def mono_ingest_dir(self, source: int) -> Path:
        """Raw chunks of one monolingual file."""
        return self.work / "ingest" / f"m{source:04d}"

    def mono_ingest_done(self, source: int) -> Path:
        """Marker of a fully ingested monolingual file."""
        return self.work / "ingest" / f"m{source:04d}.done.json"

    @staticmethod
    def shard_name(corpus: int, chunk: int) -> str:
        """Name of the shard made from one raw chunk."""
        return f"c{corpus:04d}-{chunk:05d}"

    def filter_dir(self, shard: str) -> Path:
        """Filtered bucket parts of one shard."""
        return self.work / "filter" / shard

    def filter_done(self, shard: str) -> Path:
        """Marker of a filtered shard."""
        return self.work / "filter" / f"{shard}.done.json"

    def bucket_part(self, shard: str, bucket: int) -> Path:
        """The part of a filtered shard that falls in one bucket."""
        return self.filter_dir(shard) / f"b{bucket:04d}.parquet"

    def bucket_done(self, bucket: int) -> Path:
        """Marker of a bucket whose final records are written."""
        return self.work / "bucket" / f"b{bucket:04d}.done.json"

    def mono_done(self, shard: str) -> Path:
        """Marker of a filtered monolingual shard."""
        return self.work / "mono" / f"{shard}.done.json"

    def dropped_file(self, shard: str) -> Path:
        """Dropped pairs of one shard, with ``drop_reason`` (``write_dropped``)."""
        return self.out_dir / DROPPED / f"{shard}.parquet"

    def scores_file(self, shard: str) -> Path:
        """Scored pairs of one shard, kept and dropped (``keep_scores``)."""
        return self.out_dir / SCORES / f"{shard}.parquet"

    @property
    def scores_index(self) -> Path:
        """What ``--refilter`` needs besides the scores: inputs, reader counts, shard counts."""
        return self.out_dir / SCORES / "index.json"

    def in_scope(self) -> Callable[[str, str], bool]:
        """``(lang_a, lang_b) -> bool``: whether a pair of these languages can reach the output.

        In scope: both languages are in ``prep.languages`` (when set) and the
        pair emits a wanted direction itself, or feeds one: an English-X pair
        makes the pivot pairs C-X of the centres C, and carries the auxiliary
        sentence of wanted En<->Y directions whose auxiliary language is X.
        Pairs out of scope are counted (``out_of_scope``), never filtered.
        """
        from data_prep.pipeline.multiway import DirectionSelector
        from lmt.languages import Direction

        prep = self.prep
        wanted = DirectionSelector(prep.directions)
        allowed = set(prep.languages) if prep.languages else None
        via, centres = prep.pivot.via, list(prep.pivot.centres)
        aux_langs: set[str] = set()
        if prep.pivot.attach_aux:
            aux = self.aux()
            aux_langs = {z for x, z in aux.en_centred.items() if wanted(Direction(via, x)) or wanted(Direction(x, via))}
            if prep.pivot.enabled and aux.zh_centred:
                aux_langs.add(aux.zh_centred)
        cache: dict[tuple[str, str], bool] = {}

        def check(a: str, b: str) -> bool:
            if allowed is not None and not (a in allowed and b in allowed):
                return False
            if a != b and (wanted(Direction(a, b)) or wanted(Direction(b, a))):
                return True
            if via in (a, b) and a != b:
                x = b if a == via else a
                if x in aux_langs:
                    return True
                if prep.pivot.enabled:
                    return any(x == c or wanted(Direction(c, x)) or wanted(Direction(x, c)) for c in centres)
            return False

        def in_scope(a: str, b: str) -> bool:
            hit = cache.get((a, b))
            if hit is None:
                hit = cache[(a, b)] = check(a, b)
            return hit

        return in_scope

    @property
    def state_file(self) -> Path:
        """Config hash and input fingerprints of the run that owns ``out_dir``."""
        return self.work / "state.json"

    # ---- per-process setup -------------------------------------------------------------------
    def setup(self) -> None:
        """Prepare this process (Arrow allocator, extra languages); cheap and idempotent."""
        _arrow_allocator()
        specs = tuple(
            tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items())) for d in self.languages
        )
        _register_languages(specs)

    def aux(self):
        """The auxiliary-language map (loaded once per process)."""
        return _aux_map(self.aux_map)


@functools.lru_cache(maxsize=1)
def _arrow_allocator() -> str:
    """Use jemalloc for Arrow buffers when this pyarrow has it.

    Measured on 100k-pair shards: with the default mimalloc pool a worker's RSS
    grew by ~4 MB per 20k pairs filtered (memory kept by the allocator, not by
    Python objects) and reached ~600 MB; with jemalloc it stays flat (~190 MB).
    """
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, AttributeError):  # pyarrow built without jemalloc
        pass
    return pa.default_memory_pool().backend_name


@functools.lru_cache(maxsize=8)
def _register_languages(specs: tuple) -> None:
    from lmt.languages import register_language

    for spec in specs:
        d: dict[str, Any] = dict(spec)
        code, name = d.pop("code"), d.pop("name")
        d["aliases"] = tuple(d.get("aliases") or ())
        register_language(code, name, **d)


@functools.lru_cache(maxsize=4)
def _aux_map(path: Optional[str]):
    from lmt.aux_map import AuxMap

    return AuxMap.load(path)
