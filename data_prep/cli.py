"""``lmt prep`` and ``lmt stats`` (entry points of the ``lmt.commands`` group)."""

from __future__ import annotations

import argparse
import os

from lmt.commands import command, parse_args


def build_prep_parser() -> argparse.ArgumentParser:
    """Options of ``lmt prep``."""
    ap = argparse.ArgumentParser(
        prog="lmt prep",
        description="raw OPUS corpora -> filtered, deduplicated, pivoted, downsampled Parquet shards + manifest.json",
    )
    ap.add_argument("config", help="experiment YAML with a prep: section")
    ap.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. prep.downsample.ratio=0.1")
    ap.add_argument("--overwrite", action="store_true", help="redo everything, replacing an earlier output")
    ap.add_argument("--num-workers", type=int, default=None, help="worker processes (default prep.num_workers)")
    ap.add_argument(
        "--refilter",
        action="store_true",
        help="re-decide from the scores stored by a prep.keep_scores run with this config's thresholds "
        "(no raw corpora read, no language ID run)",
    )
    return ap


@command(build_prep_parser)
def prep_main(argv: list[str]) -> int:
    """``lmt prep CONFIG [key=value ...] [--overwrite | --refilter] [--num-workers N]``."""
    args = parse_args(build_prep_parser(), argv)  # `lmt prep CFG --num-workers 2 key=value` keeps the override

    # Before pyarrow is imported (and inherited by the spawned workers): Arrow's
    # default mimalloc pool lets worker memory creep up shard after shard; see
    # data_prep.pipeline.plan._arrow_allocator.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    from data_prep.pipeline import output_dir, run_prep
    from data_prep.pipeline.stats import data_card, render_card
    from lmt.config import load_experiment
    from lmt.errors import ConfigError

    if args.num_workers is not None and args.num_workers < 1:
        raise ConfigError("--num-workers must be at least 1")
    cfg = load_experiment(args.config, args.overrides)
    cfg.require("prep")
    if args.refilter:
        if args.overwrite:
            raise ConfigError("--refilter and --overwrite exclude each other")
        from data_prep.pipeline.refilter import refilter_prep

        manifest = refilter_prep(cfg, num_workers=args.num_workers)
    else:
        manifest = run_prep(cfg, overwrite=args.overwrite, num_workers=args.num_workers)
    out = output_dir(cfg)
    render_card(data_card(out))
    c = manifest["counts"]
    print(
        f"prep: read {c['read']:,} pairs ({c.get('out_of_scope', 0):,} out of scope); "
        f"{c['after_filters']:,} passed the filters, {c['after_dedup']:,} after dedup; "
        f"{c['after_downsampling']:,} records written ({c['before_downsampling']:,} before downsampling) to {out}",
        flush=True,
    )
    return 0


def build_stats_parser() -> argparse.ArgumentParser:
    """Options of ``lmt stats``."""
    ap = argparse.ArgumentParser(prog="lmt stats", description="per-direction data card of a prep/selection output directory")
    ap.add_argument("dir", help="output directory of `lmt prep` (holds manifest.json and parallel/)")
    ap.add_argument("--json", action="store_true", help="print the card as JSON")
    return ap


@command(build_stats_parser)
def stats_main(argv: list[str]) -> int:
    """``lmt stats DIR [--json]``: the per-direction data card of a prep output."""
    args = parse_args(build_stats_parser(), argv)

    from data_prep.pipeline.stats import data_card, render_card

    card = data_card(args.dir)
    if args.json:
        import json

        print(json.dumps(card, indent=2, ensure_ascii=False))
    else:
        render_card(card)
    return 0
