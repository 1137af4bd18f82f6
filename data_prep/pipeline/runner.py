"""``run_prep``: the whole prep stage, resumable, on a local process pool or Ray.

Order of steps (each a function over independent units, see
:mod:`data_prep.pipeline.plan` for the work layout; ``prep.executor`` picks
who runs them, see :mod:`data_prep.pipeline.executor`):

1. :func:`~data_prep.pipeline.ingest.ingest_corpus` per corpus, streaming in
   this process (on Ray: one task per corpus) (and
   :func:`~data_prep.pipeline.ingest.ingest_mono` per monolingual file);
2. :func:`~data_prep.pipeline.shards.filter_shard` per raw chunk, submitted to
   the workers as soon as the chunk is written (reading overlaps filtering);
   with ``prep.lid_pass`` on, language ID runs first once per unique sentence
   (:mod:`data_prep.pipeline.lid_pass`: collect per chunk, identify per bucket,
   then filter with the predictions);
3. :func:`~data_prep.pipeline.multiway.process_bucket` per hash bucket
   (dedup, pivot join, aux, directions, downsampling, final shards);
4. :func:`~data_prep.pipeline.mono.filter_mono_shard` per monolingual chunk;
5. ``manifest.json``; then data selection when ``select:`` is enabled.

A unit whose done marker exists is skipped, so rerunning after a crash or a
``kill -9`` continues where it stopped and yields the same records.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any, Optional

from data_prep.pipeline.executor import make_executor
from data_prep.pipeline.ingest import ingest_corpus, ingest_mono
from data_prep.pipeline.lid_pass import collect_lid_shard, filter_shard_with_lid, identify_lid_bucket, lid_pass_wanted
from data_prep.pipeline.lid_pass import log_summary as lid_log_summary
from data_prep.pipeline.manifest import build_manifest, input_fingerprints
from data_prep.pipeline.mono import filter_mono_shard
from data_prep.pipeline.multiway import DirectionSelector, process_bucket
from data_prep.pipeline.plan import DROPPED, SCORES, WORK, PrepPlan
from data_prep.pipeline.shards import filter_shard
from lmt.config import ExperimentConfig
from lmt.config.corpora import CorpusSource
from lmt.datafiles import MANIFEST, MONO_DIR, PARALLEL_DIR
from lmt.errors import ConfigError, UnknownLanguageError
from lmt.io import content_hash, read_json, write_json_atomic
from lmt.log import get_logger

log = get_logger("lmt.prep")

#: Target pairs per bucket when ``prep.buckets`` is unset (bounds worker memory).
PAIRS_PER_BUCKET = 200_000
BYTES_PER_PAIR = 250
COMPRESSION = 3
MAX_BUCKETS = 4096
_OUTPUTS = (PARALLEL_DIR, MONO_DIR, DROPPED, WORK, MANIFEST, SCORES)


def _resolve(path: str, base: Path) -> str:
    p = Path(path)
    if p.is_absolute() or p.exists() or not (base / p).exists():
        return path
    return str(base / p)


def _config_dir(cfg: ExperimentConfig) -> Path:
    return Path(cfg.source).resolve().parent if cfg.source and cfg.source != "<config>" else Path.cwd()


def resolve_sources(cfg: ExperimentConfig) -> list[CorpusSource]:
    """``prep.corpora`` with relative paths resolved and directories discovered.

    A relative path is taken from the working directory, else from the config
    file's directory. A directory (without ``src_path``/``tgt_path``) expands to
    every OPUS corpus :func:`data_prep.readers.discover` finds in it.
    """
    from data_prep.readers import resolve_sources as expand

    base = _config_dir(cfg)
    out: list[CorpusSource] = []
    for i, src in enumerate(cfg.prep.corpora):
        update: dict[str, Any] = {"path": _resolve(src.path, base)}
        if src.docs is not None:
            update["docs"] = [_resolve(d, base) for d in src.doc_roots()]
        src = src.model_copy(update=update)
        _check_codes(src, f"{cfg.source}: prep.corpora.{i}")
        found = expand([src])
        if not found:
            raise ConfigError(f"{cfg.source}: prep.corpora.{i}.path: no OPUS corpus found in {src.path}")
        for f in found:
            if f in out:  # a folder and its subfolder both listed: read each corpus once
                log.warning("prep.corpora.%d: %s is already listed; read once", i, f.path)
            else:
                out.append(f)
    return out


def _check_codes(src: CorpusSource, where: str) -> None:
    """A bad src_lang/tgt_lang is an error naming the config file and key."""
    from data_prep.readers.opus_names import flores

    for key in ("src_lang", "tgt_lang"):
        code = getattr(src, key)
        if code is not None:
            try:
                flores(code)
            except UnknownLanguageError as err:
                raise ConfigError(f"{where}.{key}: {err}") from None


def prep_config_hash(cfg: ExperimentConfig) -> str:
    """Hash of everything that shapes prep's output (not workers or output dir)."""
    # Executor and LID pass change where and how often work runs, not the output.
    exclude = {"num_workers", "enabled", "keep_work", "output_dir", "executor", "ray", "lid_pass"}
    prep = cfg.prep.model_dump(mode="json", exclude=exclude)
    aux = cfg.aux_map
    if aux != "default" and Path(aux).is_file():
        aux = Path(aux).read_text(encoding="utf-8")
    langs = [spec.model_dump(mode="json") for spec in cfg.languages]
    return content_hash(prep, cfg.seed, aux, langs)


def output_dir(cfg: ExperimentConfig) -> Path:
    """Where prep writes (``prep.output_dir`` or ``runs/<name>/data/prep``)."""
    prep = cfg.require("prep")
    return Path(prep.output_dir) if prep.output_dir else cfg.stage_dir("prep")


def _wipe(out: Path) -> None:
    for name in _OUTPUTS:
        p = out / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def _clean_temp_files(out: Path) -> None:
    """Remove temp files a killed run left behind (``.name.XXXX.tmp``)."""
    for sub in (PARALLEL_DIR, MONO_DIR, DROPPED, WORK):
        root = out / sub
        if root.is_dir():
            for p in root.rglob(".*.tmp"):
                p.unlink(missing_ok=True)


def _check_state(out: Path, state: dict, overwrite: bool) -> Optional[dict]:
    """Compare with the run that owns ``out``; returns its manifest when complete."""
    if overwrite:
        _wipe(out)
        return None
    previous = None
    for f in (out / WORK / "state.json", out / MANIFEST):
        if f.is_file():
            previous = read_json(f)
            break
    if previous is None:
        if (out / PARALLEL_DIR).exists() or (out / MONO_DIR).exists():
            raise ConfigError(
                f"{out} already holds data that no prep state describes; pass --overwrite to replace it "
                "or set prep.output_dir to another directory"
            )
        return None
    old_inputs = {json_key(f): f for f in previous.get("inputs", [])}
    new_inputs = {json_key(f): f for f in state["inputs"]}
    if (previous.get("config_hash") != state["config_hash"] or old_inputs != new_inputs) and _wrote_nothing(out):
        # An earlier run failed before writing any output (e.g. on a bad input
        # file since fixed): its intermediate files are worth nothing under the
        # new inputs or config, so no --overwrite is needed.
        log.info("%s: the previous run failed before writing any data; starting afresh", out)
        _wipe(out)
        return None
    if previous.get("config_hash") != state["config_hash"]:
        raise ConfigError(
            f"{out} was written with a different prep config (hash {previous.get('config_hash')}, now "
            f"{state['config_hash']}); pass --overwrite to redo it, or set prep.output_dir to another directory"
        )
    if old_inputs != new_inputs:
        changed = sorted(set(old_inputs) ^ set(new_inputs))
        raise ConfigError(
            f"{out} was written from other input files (changed: {', '.join(changed[:3]) or 'order'}); "
            "pass --overwrite to redo it, or set prep.output_dir to another directory"
        )
    manifest = out / MANIFEST
    if manifest.is_file():
        data = read_json(manifest)
        if data.get("complete"):
            return data
    return None


def _wrote_nothing(out: Path) -> bool:
    """No manifest and no output shard under ``out`` (intermediate files do not count)."""
    if (out / MANIFEST).is_file():
        return False
    return not any((out / sub).is_dir() and next((out / sub).rglob("*.parquet"), None) is not None for sub in (PARALLEL_DIR, MONO_DIR))


def json_key(fp: dict) -> str:
    """One input's identity as a string (for comparing fingerprints)."""
    return f"{fp.get('path')}|{fp.get('size')}|{fp.get('mtime')}|{fp.get('head_sha256')}|{fp.get('files')}"


def estimate_buckets(inputs: list[dict], prep: Any) -> int:
    """Bucket count from the input sizes (~PAIRS_PER_BUCKET pairs each).

    A pair takes ~BYTES_PER_PAIR bytes of plain text; compressed inputs
    (.gz, .zip) count COMPRESSION times their size. Monolingual files are not
    bucketed. Deterministic for given inputs, so a resumed run agrees.
    """
    mono = {str(m.path) for m in prep.monolingual}
    total = 0
    for fp in inputs:
        if fp["path"] in mono:
            continue
        size = fp.get("size", 0)
        total += size * COMPRESSION if str(fp["path"]).endswith((".gz", ".zip")) else size
    return max(1, min(MAX_BUCKETS, math.ceil(total / BYTES_PER_PAIR / PAIRS_PER_BUCKET)))


def plan_prep(cfg: ExperimentConfig, overwrite: bool = False) -> "tuple[PrepPlan, Optional[dict]]":
    """Resolve and check a prep run; create its output dir and state.

    This is all a cluster engine needs before running the steps itself::

        plan, done = plan_prep(cfg)
        # ingest_corpus(plan, c) for every corpus c (one job each), then
        # filter_shard(plan, (c, k)) for every chunk k of its done marker,
        # plan.shards = [plan.shard_name(c, k) ...]; process_bucket(plan, b)
        # for b in range(plan.buckets); then finish_prep(plan, ...).

    Returns:
        ``(plan, manifest)``: the manifest when the output is already complete
        for this config and these inputs (nothing to do), else None.

    Raises:
        ConfigError: no inputs, bad filter/direction settings, or an output dir
            holding another config's or other inputs' output (``overwrite`` off).
        MissingResourceError: a model the filters need is absent.
    """
    prep = cfg.require("prep")
    out = output_dir(cfg)
    from data_prep.filters.chain import validate_filters_config

    validate_filters_config(prep.filters, "prep.filters")
    DirectionSelector(prep.directions)  # fail on a bad direction spec before reading anything
    sources = resolve_sources(cfg)
    if not sources and not prep.monolingual:
        raise ConfigError(f"{cfg.source}: prep has no input: list files or directories under prep.corpora or prep.monolingual")
    mono_specs = [m.model_copy(update={"path": _resolve(m.path, _config_dir(cfg))}) for m in prep.monolingual]
    prep = prep.model_copy(update={"monolingual": mono_specs})
    _check_filters_build(prep, sources)
    state = {"config_hash": prep_config_hash(cfg), "inputs": input_fingerprints(sources, mono_specs)}
    plan = PrepPlan(
        prep=prep,
        out_dir=out,
        sources=sources,
        seed=cfg.seed,
        aux_map=cfg.aux_map,
        languages=[spec.model_dump(mode="json") for spec in cfg.languages],
        config_hash=state["config_hash"],
    )
    plan.setup()
    finished = _check_state(out, state, overwrite)
    if finished is not None:
        return plan, finished
    out.mkdir(parents=True, exist_ok=True)
    _clean_temp_files(out)
    state_file = plan.state_file
    saved = read_json(state_file) if state_file.is_file() else {}
    # The bucket count must be fixed before the first shard is filtered (shards
    # are written per bucket), so it comes from the input sizes, not from counts.
    plan.buckets = saved.get("buckets") or prep.buckets or estimate_buckets(state["inputs"], prep)
    if saved.get("buckets") != plan.buckets:
        write_json_atomic(state_file, {**state, "buckets": plan.buckets})
    return plan, None


def finish_prep(plan: PrepPlan, ingested: list, filtered: list, bucketed: list, mono_ingested: list, mono_done: list, timings: dict) -> dict:
    """Write ``manifest.json`` from the steps' results and drop the work dir.

    Args:
        plan: the run (with ``shards`` set).
        ingested, filtered, bucketed, mono_ingested, mono_done: the results
            (done markers) of the steps, in unit order.
        timings: seconds per step, for the manifest.
    """
    state = read_json(plan.state_file)
    manifest = build_manifest(plan, state, ingested, filtered, bucketed, mono_ingested, mono_done, timings)
    if plan.prep.keep_scores:
        from data_prep.pipeline.refilter import write_scores_index

        write_scores_index(plan, state, ingested, filtered, mono_ingested, mono_done)
    write_json_atomic(plan.out_dir / MANIFEST, manifest)
    if not plan.prep.keep_work:
        shutil.rmtree(plan.work, ignore_errors=True)
    return manifest


def run_prep(cfg: ExperimentConfig, overwrite: bool = False, num_workers: Optional[int] = None) -> dict:
    """Run (or resume) the prep stage of an experiment on this machine.

    Args:
        cfg: the experiment config (its ``prep:`` section is required).
        overwrite: redo everything, replacing an earlier output.
        num_workers: worker processes (default ``prep.num_workers``).

    Returns:
        The manifest (also written to ``DIR/manifest.json``).

    Raises:
        ConfigError: no inputs; the output dir holds another config's or other
            inputs' output (and ``overwrite`` is off); bad filter settings.
        DataError, MissingResourceError, UnknownLanguageError: bad input files,
            with file and line. Finished shards stay valid; no half-written
            file remains.
        RunLockedError: another run is writing the same output directory.
    """
    from lmt.runlock import run_lock

    with run_lock(output_dir(cfg), "lmt prep " + str(cfg.source)):
        return _run_prep(cfg, overwrite, num_workers)


def _run_prep(cfg: ExperimentConfig, overwrite: bool, num_workers: Optional[int]) -> dict:
    t_start = time.time()
    plan, finished = plan_prep(cfg, overwrite)
    if finished is not None:
        log.info("%s is complete for this config and these inputs; nothing to do (--overwrite redoes it)", plan.out_dir)
        _maybe_select(cfg)
        return finished
    mono_specs = plan.prep.monolingual
    timings: dict[str, float] = {}
    with make_executor(plan.prep, num_workers) as ex:
        t = time.time()
        mono_ingested = ex.map(ingest_mono, plan, range(len(mono_specs)), "ingest mono", unit="file")
        ingested, filtered = _ingest_and_filter(ex, plan, timings)
        timings["ingest_and_filter"] = time.time() - t
        t = time.time()
        bucketed = ex.map(process_bucket, plan, range(plan.buckets), "dedup+pivot+write", unit="bucket")
        timings["dedup_pivot_write"] = time.time() - t
        t = time.time()
        mono_ids = [(m, k) for m, r in enumerate(mono_ingested) for k in range(r["chunks"])]
        mono_done = ex.map(filter_mono_shard, plan, mono_ids, "mono")
        timings["mono"] = time.time() - t
    timings["total"] = time.time() - t_start
    manifest = finish_prep(plan, ingested, filtered, bucketed, mono_ingested, mono_done, timings)
    _maybe_select(cfg)
    return manifest


def _ingest_and_filter(ex: Any, plan: PrepPlan, timings: dict) -> tuple[list, list]:
    """Steps 1-2 (with the language-ID pass of :mod:`~data_prep.pipeline.lid_pass`
    when it is on); sets ``plan.shards``. Returns the ingest and filter results."""
    lid_pass = lid_pass_wanted(plan)
    t = time.time()
    first = collect_lid_shard if lid_pass else filter_shard
    ingested, shard_ids, handles = ex.ingest(ingest_corpus, plan, range(len(plan.sources)), first)
    timings["ingest"] = time.time() - t
    results = ex.gather(handles, "lid collect" if lid_pass else "filter", count_pairs=True)
    plan.shards = [plan.shard_name(c, k) for c, k in shard_ids]
    if not lid_pass:
        return ingested, results
    identified = ex.map(identify_lid_bucket, plan, range(plan.buckets), "lid", unit="bucket")
    timings["lid_pass"] = time.time() - t
    lid_log_summary(log, results, identified)
    return ingested, ex.map(filter_shard_with_lid, plan, shard_ids, "filter")


def _check_filters_build(prep: Any, sources: list[CorpusSource]) -> None:
    """Build one chain up front so a missing model (LID, COMET) fails before any work."""
    from data_prep.filters import build_chain
    from data_prep.readers.opus_names import flores

    for src in sources:
        if src.src_lang and src.tgt_lang:
            build_chain(prep.filters, flores(src.src_lang), flores(src.tgt_lang), src.name, prefix="prep.filters")
            return
    if sources:  # languages known only once read (XCES link groups): any pair loads the models
        build_chain(prep.filters, prep.pivot.via, prep.pivot.centres[0] if prep.pivot.centres else prep.pivot.via, prefix="prep.filters")


def _maybe_select(cfg: ExperimentConfig) -> None:
    sel = cfg.select
    if sel is None or getattr(sel, "enabled", True) is False:
        return
    from data_prep.selection import run_selection  # the selection stage is optional at import time

    run_selection(cfg)


__all__ = ["run_prep", "plan_prep", "finish_prep", "resolve_sources", "prep_config_hash", "output_dir", "estimate_buckets"]

