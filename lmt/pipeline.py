"""End-to-end runs: ``lmt run CONFIG`` and ``lmt demo``.

A run is the stage commands in order, on one experiment config:
``synth`` (when ``synth.enabled``) -> ``prep`` -> ``train init`` -> ``train cpt`` -> ``select`` (when ``select:``
is set) -> ``train sft`` -> ``train grpo`` (when ``train.grpo.enabled``) ->
``eval`` (of the SFT model) -> ``eval_grpo`` (of the GRPO model, into
``<run_dir>/eval_grpo``; ``lmt compare <run_dir>/eval <run_dir>/eval_grpo``). Each stage is the same command a
user would type (found through the ``lmt.commands`` entry points, so ``lmt``
imports no stage package) and the stages meet only through files under the run
directory. A stage whose section is absent or disabled is skipped; every stage
resumes or skips finished work, so rerunning ``lmt run`` continues a killed run.
``--overwrite`` reaches every stage (each gets its own ``--overwrite``): the
run starts over from prep to eval (synthesis excepted: `lmt synth CONFIG --overwrite`).
A training stage whose final model changes during a run (CPT or SFT trained on
with more steps) makes the later stages stale: they start over
(:data:`REDONE_AFTER`), each with a line saying why; so does GRPO whose
output started from other SFT weights than there are now (an interrupted run).

``lmt demo`` is ``lmt run`` on ``recipes/configs/demo.yaml`` (toy scale, CPU,
sample data shipped in ``lmt/data/demo``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from lmt.commands import command, parse_args, stage_commands
from lmt.config import ExperimentConfig, load_experiment
from lmt.errors import ConfigError, LMTError, MissingResourceError

STAGES = ("synth", "prep", "init", "cpt", "select", "sft", "grpo", "eval", "eval_grpo")
#: Stages that start over when the final model of an earlier training stage
#: changed in this run (their checkpoints or hypotheses came from the old one).
REDONE_AFTER = ("select", "sft", "grpo", "eval", "eval_grpo")


def _command(name: str) -> Callable[[list[str]], int]:
    eps = stage_commands()
    if name not in eps:
        raise MissingResourceError(f"the `lmt {name}` command is not installed (run `uv sync` in the LMT checkout)")
    return eps[name]()


def _enabled(section: object) -> bool:
    return section is not None and getattr(section, "enabled", True) is not False


def planned_stages(cfg: ExperimentConfig) -> list[str]:
    """The stages a config asks for, in order."""
    stages = []
    if _enabled(cfg.synth):  # off unless synth.enabled: true
        stages.append("synth")
    if _enabled(cfg.prep):
        stages.append("prep")
    train = cfg.train
    if _enabled(train):
        stages.append("init")
        if _enabled(getattr(train, "cpt", None)):
            stages.append("cpt")
    # Selection runs after CPT: MIWV scores with the model being tuned (the one
    # SFT starts from), and SFT then reads the selected data.
    if _enabled(cfg.select):
        stages.append("select")
    if _enabled(train) and _enabled(getattr(train, "sft", None)):
        stages.append("sft")
    grpo = _enabled(train) and _enabled(getattr(train, "grpo", None))
    if grpo:
        stages.append("grpo")
    if _enabled(cfg.eval):
        stages.append("eval")
        if grpo:
            stages.append("eval_grpo")
    return stages


def _stage_argv(cfg: ExperimentConfig, stage: str, config: str, overrides: list[str], overwrite: bool) -> tuple[str, list[str]]:
    if stage == "prep":
        # `lmt prep` alone runs the selection at its end; in a full run it is
        # its own stage after CPT (see planned_stages).
        no_select = ["select.enabled=false"] if _enabled(cfg.select) else []
        return "prep", [config, *overrides, *no_select] + (["--overwrite"] if overwrite else [])
    again = ["--overwrite"] if overwrite else []
    if stage == "synth":
        # Never redone by `lmt run --overwrite`: translations are the costly GPU
        # part; `lmt synth CONFIG --overwrite` starts synthesis over on purpose.
        return "synth", [config, *overrides]
    if stage == "select":
        return "select", [cfg.select.method, config, *overrides, *again]
    if stage in ("init", "cpt", "sft", "grpo"):
        return "train", [stage, config, *overrides, *again]
    if stage == "eval_grpo":
        from lmt.training.grpo_stage import resolve_grpo

        model = resolve_grpo(cfg).out_dir / "final"
        return "eval", [config, *overrides, f"eval.model={model}", f"eval.output_dir={cfg.stage_dir('eval_grpo')}", *again]
    return "eval", [config, *overrides, *again]


def run_experiment(
    config: str,
    overrides: Optional[list[str]] = None,
    stages: Optional[list[str]] = None,
    overwrite: bool = False,
) -> ExperimentConfig:
    """Run the stages of an experiment config in order (see module docs)."""
    overrides = list(overrides or [])
    cfg = load_experiment(config, overrides)
    plan = planned_stages(cfg)
    if stages:
        unknown = [s for s in stages if s not in STAGES]
        if unknown:
            raise ConfigError(f"unknown stage(s) {unknown}; valid: {', '.join(STAGES)}")
        plan = [s for s in plan if s in stages]
    if not plan:
        raise ConfigError(f"{config}: no stage to run (give prep:, train: or eval: sections)")
    print(f"[lmt run] {cfg.name}: stages {' -> '.join(plan)}; outputs in {cfg.root}/", flush=True)
    from lmt.training.grpo_stage import start_model_changed

    redo_later: set[str] = set()  # stages made from a model that changed (see REDONE_AFTER)
    why = ""
    for stage in plan:
        if not overwrite and stage == "grpo" and stage not in redo_later and start_model_changed(cfg):
            # SFT changed in an earlier, interrupted run: this run's stamps cannot see it.
            redo_later |= {"grpo", "eval_grpo"}
            why = "grpo started from other SFT weights than there are now"
        redo = overwrite or stage in redo_later
        if redo and not overwrite:
            print(f"\n[lmt run] {why}: {stage} starts over (it was made from the old model)", flush=True)
        cmd, argv = _stage_argv(cfg, stage, config, overrides, redo)
        print(f"\n[lmt run] === {stage}: lmt {cmd} {shlex.join(argv)}", flush=True)
        t0 = time.time()
        before = _final_model_stamp(cfg, stage)
        status = int(_command(cmd)(argv) or 0)
        if status != 0:
            rerun = shlex.join(["lmt", "run", config, *overrides])
            raise LMTError(f"stage {stage!r} failed with exit status {status}; fix it and rerun `{rerun}` to resume")
        if not why and before is not None and _final_model_stamp(cfg, stage) != before:
            redo_later |= set(REDONE_AFTER)
            why = f"{stage} was trained in this run"
        print(f"[lmt run] === {stage} done in {time.time() - t0:.0f}s", flush=True)
    return cfg


def _final_model_stamp(cfg: ExperimentConfig, stage: str) -> Optional[tuple]:
    """Names, sizes and modification times of a training stage's ``final/`` model
    (None: not a training stage, or no final model yet -- a first run changes nothing downstream)."""
    if stage not in ("cpt", "sft"):
        return None
    from lmt.training.stage import resolve_stage

    final = resolve_stage(cfg, stage).out_dir / "final"
    if not final.is_dir():
        return None
    return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in final.iterdir() if p.is_file()))


def _summary(cfg: ExperimentConfig) -> str:
    root = cfg.root
    lines = [f"\nEverything was written under {root}/:"]
    for label, stage in (
        ("synthetic pairs (synth output)", "synth"),
        ("data (prep output)", "prep"),
        ("tokenizer + initial model", "model_init"),
        ("CPT checkpoints", "cpt"),
        ("SFT checkpoints", "sft"),
        ("GRPO checkpoints", "grpo"),
        ("evaluation (hyps, scores, report, heatmaps)", "eval"),
        ("evaluation of the GRPO model", "eval_grpo"),
    ):
        path = cfg.stage_dir(stage)
        if path.exists():
            lines.append(f"  {label:<45} {path}")
    eval_dir = cfg.stage_dir("eval")
    for extra in sorted(eval_dir.glob("report.*")) + sorted(eval_dir.glob("*.png")):
        lines.append(f"  {'':<45} {extra}")
    if (cfg.stage_dir("eval_grpo") / "scores").is_dir():
        lines.append(f"\nSFT vs GRPO: lmt compare {eval_dir} {cfg.stage_dir('eval_grpo')}")
    return "\n".join(lines)


def _print_report(cfg: ExperimentConfig) -> None:
    report = cfg.stage_dir("eval") / "report.md"
    if report.is_file():
        print("\n" + report.read_text(encoding="utf-8"))
    print(_summary(cfg))


class _StagesParser(argparse.ArgumentParser):
    """``--stages prep eval`` takes the stage names that follow it and nothing
    more, so ``key=value`` overrides may come after it (argparse's ``nargs="+"``
    would swallow them as stage names)."""

    def parse_known_args(self, args=None, namespace=None):
        return super().parse_known_args(_one_stage_per_flag(sys.argv[1:] if args is None else list(args)), namespace)


def _one_stage_per_flag(argv: list[str]) -> list[str]:
    """``--stages a b k=v`` -> ``--stages a --stages b k=v`` (idempotent).

    A flag followed by no stage name is kept as it is, for argparse to report.
    """
    out: list[str] = []
    flag_open = named = False  # after a --stages flag; a stage name seen since
    for arg in argv:
        if flag_open and arg in STAGES:
            out += ["--stages", arg]
            named = True
            continue
        if flag_open and not named:
            out.append("--stages")
        flag_open, named = arg == "--stages", False
        if not flag_open:
            out.append(arg)
    if flag_open and not named:
        out.append("--stages")
    return out


def build_run_parser() -> argparse.ArgumentParser:
    """Options of ``lmt run``."""
    ap = _StagesParser(prog="lmt run", description="run an experiment end to end: " + " -> ".join(STAGES))
    ap.add_argument("config", help="experiment YAML")
    ap.add_argument("overrides", nargs="*", help="key.sub=value overrides, before or after the options")
    ap.add_argument(
        "--stages",
        action="append",
        choices=STAGES,
        metavar="STAGE",
        help=f"run only these stages, in pipeline order ({', '.join(STAGES)}): --stages prep eval",
    )
    ap.add_argument("--overwrite", action="store_true", help="redo every stage: prep shards, tokenizer + model, training from step 0, selection, evaluation")
    return ap


@command(build_run_parser)
def run_main(argv: list[str]) -> int:
    """``lmt run CONFIG [key=value ...] [--stages ...] [--overwrite]``."""
    args = parse_args(build_run_parser(), argv)
    for word in args.overrides:
        if "=" not in word:  # `--stages prep evaluate`: the typo ends the stage list
            raise ConfigError(f"{word!r} is neither a stage ({', '.join(STAGES)}) nor a key=value override")
    cfg = run_experiment(args.config, args.overrides, args.stages, args.overwrite)
    _print_report(cfg)
    return 0


def demo_config_path() -> Path:
    """``recipes/configs/demo.yaml`` of the installed distribution."""
    import importlib.util

    spec = importlib.util.find_spec("recipes")
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError("the `recipes` package is not installed; run `uv sync` in the LMT checkout")
    path = Path(list(spec.submodule_search_locations)[0]) / "configs" / "demo.yaml"
    if not path.is_file():
        raise MissingResourceError(f"demo config {path} is missing from the installation")
    return path


def build_demo_parser() -> argparse.ArgumentParser:
    """Options of ``lmt demo``."""
    ap = argparse.ArgumentParser(
        prog="lmt demo",
        description="run the whole LMT pipeline at toy scale on CPU (recipes/configs/demo.yaml) on the bundled sample data",
    )
    ap.add_argument("overrides", nargs="*", help="key.sub=value overrides of demo.yaml, e.g. run_dir=/tmp/demo")
    ap.add_argument("--overwrite", action="store_true", help="redo every stage of an earlier demo run (prep, init, CPT, SFT, GRPO, eval)")
    return ap


@command(build_demo_parser)
def demo_main(argv: list[str]) -> int:
    """``lmt demo [key=value ...]``: the whole pipeline at toy scale on CPU."""
    args = parse_args(build_demo_parser(), argv)
    t0 = time.time()
    cfg = run_experiment(str(demo_config_path()), args.overrides, overwrite=args.overwrite)
    _print_report(cfg)
    print(f"\n[lmt demo] finished in {time.time() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(sys.argv[1:]))
