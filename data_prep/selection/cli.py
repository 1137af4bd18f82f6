"""``lmt select``: run data selection alone, or train/apply the M-DaQ scorer.

Usage::

    lmt select miwv CONFIG [key=value ...] [--overwrite] [--shard I/N]
    lmt select mdaq CONFIG [key=value ...] [--overwrite] [--shard I/N]
    lmt select qsm-train CONFIG [key=value ...]      # select.mdaq.encoder + train_data -> select.mdaq.qsm
    lmt select qsm-score CONFIG --input FILE --output FILE.parquet [key=value ...]

``key=value`` overrides any config key (``select.share=0.05``). With
``--shard I/N``, N workers (one per GPU, or a cluster array job) split every
chunked phase (embeddings, neighbours, losses/scores) over the same output
directory; a worker stops when the next phase needs the others' chunks, so run
the workers again until one prints the output directory (later phases are
sharded the same way, finished chunks are never recomputed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lmt.commands import command, parse_args
from lmt.config import load_experiment
from lmt.errors import ConfigError
from lmt.log import get_logger

log = get_logger("lmt.select")


#: What ``qsm-train`` reads (``select.mdaq.train_data``); ``qsm-score`` reads the same columns, without ``score``.
QSM_DATA_HELP = (
    "a Parquet or JSONL file (e.g. qsm_train.parquet), one sample per row: src_lang, tgt_lang, src and tgt "
    "(or instruction and response), and score (a float, e.g. a human or COMET quality score)"
)


def _add_config(p: argparse.ArgumentParser, example: str) -> None:
    p.add_argument("config", help="experiment YAML (its select: section)")
    p.add_argument("overrides", nargs="*", help=f"key.sub=value overrides, before or after the options, e.g. {example}")


def build_parser() -> argparse.ArgumentParser:
    """Options of ``lmt select`` and its sub-commands."""
    ap = argparse.ArgumentParser(prog="lmt select", description="data selection: MIWV and M-DaQ")
    sub = ap.add_subparsers(dest="command", required=True, metavar="{miwv,mdaq,qsm-train,qsm-score}")
    for name, help_ in (
        ("miwv", "MIWV one-shot importance selection"),
        ("mdaq", "M-DaQ quality + diversity selection"),
    ):
        p = sub.add_parser(name, help=help_, description=help_)
        _add_config(p, "select.share=0.05")
        p.add_argument("--overwrite", action="store_true", help="recompute cached score chunks")
        p.add_argument(
            "--shard",
            metavar="I/N",
            help="compute only chunks c with c %% N == I (N workers sharing the output directory); "
            "rerun until one prints the output directory",
        )
    p = sub.add_parser(
        "qsm-train",
        help="train the M-DaQ quality scoring model",
        description="Train the M-DaQ quality scoring model (QSM: the encoder select.mdaq.encoder plus a regression "
        "head) on select.mdaq.train_data, " + QSM_DATA_HELP + ". Writes the QSM to select.mdaq.qsm "
        "(default <run_dir>/qsm); training settings: select.mdaq.{epochs,lr,batch_size,max_length,eval_share}.",
    )
    _add_config(p, "select.mdaq.encoder=/models/xlm-roberta-base select.mdaq.train_data=qsm_train.parquet")
    p = sub.add_parser(
        "qsm-score",
        help="score a Parquet/JSONL file with a trained QSM",
        description="Score samples with the QSM of select.mdaq.qsm; writes a copy of --input with a qsm_score column.",
    )
    _add_config(p, "select.mdaq.qsm=runs/x/qsm")
    p.add_argument(
        "--input",
        required=True,
        help="Parquet/JSONL with src_lang, tgt_lang, src and tgt (or instruction and response)",
    )
    p.add_argument("--output", required=True, help="Parquet written with a qsm_score column added")
    return ap


@command(build_parser)
def main(argv: list[str]) -> int:
    """Entry point of ``lmt select``."""
    args = parse_args(build_parser(), argv)
    overrides = list(args.overrides)
    if getattr(args, "overwrite", False):
        overrides.append("select.overwrite=true")
    cfg = load_experiment(args.config, overrides)
    if args.command in ("miwv", "mdaq"):
        from data_prep.selection.runner import ShardPending, run_selection

        shard = _parse_shard(args.shard) if args.shard else None
        if shard and args.overwrite:
            raise ConfigError("--overwrite with --shard would let workers delete each other's chunks; clear once first")
        try:
            out = run_selection(cfg, args.command, shard)
        except ShardPending as pending:
            print(f"shard {args.shard}: this worker's chunks are done; {pending}. Rerun when the other shards finish.")
            return 0
        print(out)
        return 0
    if args.command == "qsm-train":
        return _qsm_train(cfg)
    return _qsm_score(cfg, Path(args.input), Path(args.output))


def _parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected I/N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise ConfigError(f"--shard {text!r}: expected 0 <= I < N")
    return i, n


def _qsm_train(cfg) -> int:
    from data_prep.selection.qsm import read_scored_samples, train_qsm
    from data_prep.selection.paths import qsm_path, select_config

    sel = select_config(cfg)
    md = sel.mdaq
    if not md.encoder:
        raise ConfigError(f"{cfg.source}: select.mdaq.encoder is not set (a multilingual HF encoder path or hub id)")
    if not md.train_data:
        raise ConfigError(f"{cfg.source}: select.mdaq.train_data is not set ({QSM_DATA_HELP})")
    texts, scores, _ = read_scored_samples(md.train_data, md.template)
    scorer = train_qsm(
        md.encoder,
        texts,
        scores,
        epochs=md.epochs,
        lr=md.lr,
        weight_decay=md.weight_decay,
        batch_size=md.batch_size,
        max_length=md.max_length,
        head_hidden=md.head_hidden,
        dropout=md.dropout,
        seed=sel.seed if sel.seed is not None else cfg.seed,
        device=sel.device,
        trust_remote_code=md.trust_remote_code,
        eval_share=md.eval_share,
    )
    out = scorer.save(qsm_path(cfg))
    h = scorer.history
    line = f"{out}\ttrain mse {h['initial_mse']:.4f} -> {h['final_mse']:.4f} on {h['samples']} samples"
    if "eval_final_mse" in h:
        line += f"; held-out mse {h['eval_initial_mse']:.4f} -> {h['eval_final_mse']:.4f} on {h['eval_samples']}"
    print(line)
    return 0


def _qsm_score(cfg, src: Path, dst: Path) -> int:
    import pyarrow as pa

    from data_prep.selection.qsm import load_qsm, read_scored_samples
    from data_prep.selection.paths import qsm_path, select_config
    from lmt.io import write_parquet_atomic

    md = select_config(cfg).mdaq
    if dst.suffix != ".parquet":
        raise ConfigError(f"--output {dst}: must end with .parquet")
    texts, _, table = read_scored_samples(src, md.template, require_score=False)
    scorer = load_qsm(qsm_path(cfg), select_config(cfg).device)
    scores = scorer.predict(texts, md.batch_size)
    if "qsm_score" in table.column_names:
        table = table.drop_columns(["qsm_score"])
    write_parquet_atomic(table.append_column("qsm_score", pa.array(scores)), dst)
    print(f"{dst}\t{len(texts)} samples scored")
    return 0
