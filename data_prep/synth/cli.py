"""``lmt synth`` (entry point of the ``lmt.commands`` group)."""

from __future__ import annotations

import argparse

from lmt.commands import command, parse_args


def build_synth_parser() -> argparse.ArgumentParser:
    """Options of ``lmt synth``."""
    ap = argparse.ArgumentParser(
        prog="lmt synth",
        description="translate monolingual text with a model into synthetic pairs (a corpus for `lmt prep`)",
    )
    ap.add_argument("config", help="experiment YAML with a synth: section")
    ap.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. synth.model=NiuTrans/LMT-60-4B")
    ap.add_argument("--limit", type=int, default=None, help="translate only the first N sentences per direction")
    ap.add_argument("--overwrite", action="store_true", help="delete earlier shards and translate everything again")
    return ap


@command(build_synth_parser)
def synth_main(argv: list[str]) -> int:
    """``lmt synth CONFIG [key=value ...] [--limit N] [--overwrite]``."""
    args = parse_args(build_synth_parser(), argv)  # options and overrides in any order

    from data_prep.synth import output_dir, run_synth
    from lmt.config import load_experiment
    from lmt.errors import ConfigError

    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    cfg = load_experiment(args.config, args.overrides)
    cfg.require("synth")
    manifest = run_synth(cfg, overwrite=args.overwrite, limit=args.limit)
    out = output_dir(cfg)
    for direction, d in manifest["directions"].items():
        dropped = ", ".join(f"{k} {v}" for k, v in d["dropped"].items()) or "none"
        print(f"{direction}: {d['kept']:,}/{d['sentences']:,} pairs kept (dropped: {dropped})")
    run = manifest["this_run"]
    speed = f", {run['sentences_per_s']} sentences/s" if run["sentences_per_s"] else " (all shards were already done)"
    print(f"synth: corpus {manifest['corpus']} written to {out}; {run['translated']:,} sentences translated in this run{speed}")
    return 0
