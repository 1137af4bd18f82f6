"""End-to-end runs: ``lmt run CONFIG`` and ``lmt demo``.

A run is the stage commands in order, on one experiment config:
``prep`` -> ``train init`` -> ``train cpt`` -> ``select`` (when ``select:``
is set) -> ``train sft`` -> ``eval``. Each stage is the same command a
user would type (found through the ``lmt.commands`` entry points, so ``lmt``
imports no stage package) and the stages meet only through files under the run
directory. A stage whose section is absent or disabled is skipped; every stage
resumes or skips finished work, so rerunning ``lmt run`` continues a killed run.
``--overwrite`` reaches every stage (each gets its own ``--overwrite``): the
run starts over from prep to eval.

``lmt demo`` is ``lmt run`` on ``recipes/configs/demo.yaml`` (toy scale, CPU,
sample data shipped in ``lmt/data/demo``).
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable, Optional

from lmt.config import ExperimentConfig, load_experiment
from lmt.errors import ConfigError, LMTError, MissingResourceError

STAGES = ("prep", "init", "cpt", "select", "sft", "eval")


def _command(name: str) -> Callable[[list[str]], int]:
    eps = {ep.name: ep for ep in entry_points(group="lmt.commands")}
    if name not in eps:
        raise MissingResourceError(f"the `lmt {name}` command is not installed (reinstall with `pip install -e .`)")
    return eps[name].load()


def _enabled(section: object) -> bool:
    return section is not None and getattr(section, "enabled", True) is not False


def planned_stages(cfg: ExperimentConfig) -> list[str]:
    """The stages a config asks for, in order."""
    stages = []
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
    if _enabled(cfg.eval):
        stages.append("eval")
    return stages


def _stage_argv(cfg: ExperimentConfig, stage: str, config: str, overrides: list[str], overwrite: bool) -> tuple[str, list[str]]:
    if stage == "prep":
        # `lmt prep` alone runs the selection at its end; in a full run it is
        # its own stage after CPT (see planned_stages).
        no_select = ["select.enabled=false"] if _enabled(cfg.select) else []
        return "prep", [config, *overrides, *no_select] + (["--overwrite"] if overwrite else [])
    again = ["--overwrite"] if overwrite else []
    if stage == "select":
        return "select", [cfg.select.method, config, *overrides, *again]
    if stage in ("init", "cpt", "sft"):
        return "train", [stage, config, *overrides, *again]
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
    for stage in plan:
        cmd, argv = _stage_argv(cfg, stage, config, overrides, overwrite)
        print(f"\n[lmt run] === {stage}: lmt {cmd} {' '.join(argv)}", flush=True)
        t0 = time.time()
        status = int(_command(cmd)(argv) or 0)
        if status != 0:
            raise LMTError(f"stage {stage!r} failed with exit status {status}; fix it and rerun `lmt run {config}` to resume")
        print(f"[lmt run] === {stage} done in {time.time() - t0:.0f}s", flush=True)
    return cfg


def _summary(cfg: ExperimentConfig) -> str:
    root = cfg.root
    lines = [f"\nEverything was written under {root}/:"]
    for label, stage in (
        ("data (prep output)", "prep"),
        ("tokenizer + initial model", "model_init"),
        ("CPT checkpoints", "cpt"),
        ("SFT checkpoints", "sft"),
        ("evaluation (hyps, scores, report, heatmaps)", "eval"),
    ):
        path = cfg.stage_dir(stage)
        if path.exists():
            lines.append(f"  {label:<45} {path}")
    eval_dir = cfg.stage_dir("eval")
    for extra in sorted(eval_dir.glob("report.*")) + sorted(eval_dir.glob("*.png")):
        lines.append(f"  {'':<45} {extra}")
    return "\n".join(lines)


def _print_report(cfg: ExperimentConfig) -> None:
    report = cfg.stage_dir("eval") / "report.md"
    if report.is_file():
        print("\n" + report.read_text(encoding="utf-8"))
    print(_summary(cfg))


def run_main(argv: list[str]) -> int:
    """``lmt run CONFIG [key=value ...] [--stages ...] [--overwrite]``."""
    ap = argparse.ArgumentParser(prog="lmt run", description="run an experiment end to end: prep -> train init -> cpt -> sft -> eval")
    ap.add_argument("config", help="experiment YAML")
    ap.add_argument("overrides", nargs="*", help="key.sub=value overrides")
    ap.add_argument("--stages", nargs="+", choices=STAGES, help="run only these stages (in pipeline order)")
    ap.add_argument("--overwrite", action="store_true", help="redo every stage: prep shards, tokenizer + model, training from step 0, selection, evaluation")
    args = ap.parse_args(argv)
    cfg = run_experiment(args.config, args.overrides, args.stages, args.overwrite)
    _print_report(cfg)
    return 0


def demo_config_path() -> Path:
    """``recipes/configs/demo.yaml`` of the installed distribution."""
    import importlib.util

    spec = importlib.util.find_spec("recipes")
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError("the `recipes` package is not installed; run `pip install -e .` in the LMT checkout")
    path = Path(list(spec.submodule_search_locations)[0]) / "configs" / "demo.yaml"
    if not path.is_file():
        raise MissingResourceError(f"demo config {path} is missing from the installation")
    return path


def demo_main(argv: list[str]) -> int:
    """``lmt demo [key=value ...]``: the whole pipeline at toy scale on CPU."""
    ap = argparse.ArgumentParser(
        prog="lmt demo",
        description="run the whole LMT pipeline at toy scale on CPU (recipes/configs/demo.yaml) on the bundled sample data",
    )
    ap.add_argument("overrides", nargs="*", help="key.sub=value overrides of demo.yaml, e.g. run_dir=/tmp/demo")
    ap.add_argument("--overwrite", action="store_true", help="redo every stage of an earlier demo run (prep, init, CPT, SFT, eval)")
    args = ap.parse_args(argv)
    t0 = time.time()
    cfg = run_experiment(str(demo_config_path()), args.overrides, overwrite=args.overwrite)
    _print_report(cfg)
    print(f"\n[lmt demo] finished in {time.time() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(sys.argv[1:]))
