"""The prep pipeline: raw OPUS corpora to filtered, pivoted, downsampled shards.

Entry point: :func:`run_prep` (``lmt prep CONFIG``). The steps are plain
functions over independent units of work, ``step(plan, unit)``, so a cluster
engine can run them instead of the local pool:

* :func:`ingest_corpus` (unit: corpus index) -- stream a corpus into raw chunks;
* :func:`filter_shard` (unit: ``(corpus, chunk)``) -- normalise, filter, key, bucket;
* :func:`process_bucket` (unit: bucket index) -- dedup, pivot join, aux, emit,
  downsample, write ``parallel/{src}-{tgt}/part-NNNNN.parquet``;
* :func:`filter_mono_shard` (unit: ``(file, chunk)``) -- monolingual shards.

``lmt prep CONFIG --refilter`` (:func:`data_prep.pipeline.refilter.refilter_prep`)
replaces the first two steps by ``refilter_shard`` (unit: shard name), which
re-decides from the scores a ``prep.keep_scores`` run stored under ``scores/``.

:func:`plan_prep` resolves a config into the picklable :class:`PrepPlan` the
steps take and :func:`finish_prep` writes the manifest, so a cluster engine can
run the units as jobs; run order and resume rules are in
:mod:`data_prep.pipeline.runner`.
"""

from data_prep.pipeline.downsample import Downsampler
from data_prep.pipeline.ingest import ingest_corpus, ingest_mono
from data_prep.pipeline.mono import filter_mono_shard
from data_prep.pipeline.multiway import DirectionSelector, process_bucket
from data_prep.pipeline.plan import PrepPlan
from data_prep.pipeline.runner import finish_prep, output_dir, plan_prep, resolve_sources, run_prep
from data_prep.pipeline.shards import filter_shard

__all__ = [
    "Downsampler",
    "DirectionSelector",
    "PrepPlan",
    "filter_mono_shard",
    "filter_shard",
    "finish_prep",
    "plan_prep",
    "ingest_corpus",
    "ingest_mono",
    "output_dir",
    "process_bucket",
    "resolve_sources",
    "run_prep",
]
