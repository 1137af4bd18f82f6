"""``lmt prep CONFIG --refilter``: decide again from the scores a ``keep_scores`` run stored.

A run with ``prep.keep_scores: true`` writes, next to its output, every
in-scope pair with every filter's score (``scores/<shard>.parquet``, see
:func:`data_prep.pipeline.shards.filter_shard`) and ``scores/index.json``: the
resolved corpora, input fingerprints, reader counts and per-shard counts of
pairs that never reached the filters. :func:`refilter_prep` rebuilds the
filter chains with the current config, lets each filter rebuild its scores
from the columns (:meth:`data_prep.filters.Filter.from_columns`) and decide
with its new thresholds, then runs dedup, the pivot join and downsampling as a
full run does. No raw corpus is read and no model is loaded, and the output
(layout, records, manifest) is what a full run with the new config writes.
"""

from __future__ import annotations

import shutil
import time
from typing import Optional

from data_prep.pipeline.executor import LocalExecutor
from data_prep.pipeline.multiway import process_bucket
from data_prep.pipeline.plan import DROPPED, SCORES, WORK, PrepPlan
from data_prep.pipeline.runner import finish_prep, output_dir, prep_config_hash
from data_prep.pipeline.shards import refilter_shard
from lmt.config import ExperimentConfig
from lmt.config.corpora import CorpusSource
from lmt.datafiles import MANIFEST, PARALLEL_DIR
from lmt.errors import ConfigError
from lmt.io import content_hash, read_json, write_json_atomic

#: Settings --refilter may change: they act after scoring (filter thresholds, dedup, downsampling).
REFILTER_FREE = {"filters", "dedup", "downsample", "write_dropped", "keep_work", "num_workers", "output_dir", "enabled", "buckets"}


def write_scores_index(plan: PrepPlan, state: dict, ingested: list, filtered: list, mono_ingested: list, mono_done: list) -> None:
    """Write ``scores/index.json``: all that --refilter needs besides the scores."""
    write_json_atomic(
        plan.scores_index,
        {
            "read_hash": read_config_hash(plan),
            "inputs": state["inputs"],
            "buckets": plan.buckets,
            "sources": [src.model_dump(mode="json") for src in plan.sources],
            "ingested": ingested,
            "shards": {
                name: {k: res.get(k) for k in ("pairs", "pre_drops", "out_of_scope", "score_notes")}
                for name, res in zip(plan.shards, filtered)
            },
            "mono_ingested": mono_ingested,
            "mono_done": mono_done,
        },
    )


def read_config_hash(plan: PrepPlan) -> str:
    """Hash of the settings that decide which pairs get scored (all but :data:`REFILTER_FREE`)."""
    prep = plan.prep.model_dump(mode="json", exclude=REFILTER_FREE)
    prep["monolingual"] = [m["lang"] for m in prep["monolingual"]]
    return content_hash(prep, plan.languages)


def refilter_prep(cfg: ExperimentConfig, num_workers: Optional[int] = None) -> dict:
    """``lmt prep CONFIG --refilter``: decide again from the stored scores.

    Needs an output written with ``prep.keep_scores: true``. Reads only
    ``DIR/scores/`` (never the raw corpora, no language-ID or COMET model),
    rebuilds the filter chains with this config's thresholds, and writes the
    same layout and manifest as a full run with this config would. Only the
    filter, dedup and downsampling settings may differ from the scoring run;
    monolingual shards are kept as they are.

    Raises:
        ConfigError: no stored scores, or a setting that changes which pairs
            are scored (corpora, languages, directions, normalisation...) differs.
        DataError: the new chain has a filter whose scores were not stored.
        RunLockedError: another run is writing the same output directory.
    """
    from lmt.runlock import run_lock

    prep = cfg.require("prep")
    out = output_dir(cfg)
    with run_lock(out, "lmt prep --refilter " + str(cfg.source)):
        index_file = out / SCORES / "index.json"
        if not index_file.is_file():
            raise ConfigError(
                f"{out} has no stored scores ({index_file} is missing): run `lmt prep {cfg.source} "
                "prep.keep_scores=true` once, then --refilter re-decides from those scores"
            )
        if not prep.keep_scores:
            raise ConfigError(f"{cfg.source}: --refilter needs prep.keep_scores: true (as in the run that stored the scores)")
        from data_prep.filters.chain import validate_filters_config

        validate_filters_config(prep.filters, "prep.filters")
        t_start = time.time()
        index = read_json(index_file)
        plan = PrepPlan(
            prep=prep,
            out_dir=out,
            sources=[CorpusSource(**d) for d in index["sources"]],
            seed=cfg.seed,
            aux_map=cfg.aux_map,
            languages=[spec.model_dump(mode="json") for spec in cfg.languages],
            buckets=index["buckets"],
            config_hash=prep_config_hash(cfg),
            shards=list(index["shards"]),
            stored=index["shards"],
        )
        plan.setup()
        if read_config_hash(plan) != index["read_hash"]:
            raise ConfigError(
                f"{cfg.source}: --refilter can change only {', '.join(sorted(REFILTER_FREE - {'enabled', 'keep_work', 'num_workers', 'output_dir', 'buckets'}))}; "
                f"other prep settings differ from the run that stored the scores in {out} (run without --refilter)"
            )
        for name in (PARALLEL_DIR, DROPPED, WORK, MANIFEST):
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        write_json_atomic(plan.state_file, {"config_hash": plan.config_hash, "inputs": index["inputs"], "buckets": plan.buckets})
        timings: dict[str, float] = {}
        with LocalExecutor(num_workers or prep.num_workers) as ex:
            t = time.time()
            filtered = ex.map(refilter_shard, plan, plan.shards, "refilter")
            timings["refilter"] = time.time() - t
            t = time.time()
            bucketed = ex.map(process_bucket, plan, range(plan.buckets), "dedup+pivot+write", unit="bucket")
            timings["dedup_pivot_write"] = time.time() - t
        timings["total"] = time.time() - t_start
        return finish_prep(plan, index["ingested"], filtered, bucketed, index["mono_ingested"], index["mono_done"], timings)


