"""``lmt train init|cpt|sft|grpo CONFIG [key=value ...]``: checks, then the real ``deepspeed`` launcher.

``init`` runs in this process (tokenizer + tiny model, see ``recipes/init.py``).
``cpt`` and ``sft`` first run the stage's checks here, so bad input fails before
any GPU time, then start::

    deepspeed --num_gpus N [--num_nodes M --hostfile H] --master_port P recipes/<stage>.py --config CONFIG key=value ...

With no GPU the launcher runs ``N`` CPU ranks (``DS_ACCELERATOR=cpu``, gloo),
each with ``OMP_NUM_THREADS = cores / N`` unless set.

``--dry-run`` checks every path the stage needs (data, model or the stage that
makes it, tokenizer, DeepSpeed JSON, hostfile), prints the training plan
(:mod:`lmt.training.estimate`; for ``grpo``: prompts, rollouts, steps, reward)
and the command, and trains nothing; for ``init`` it prints what would be
built. A stage already finished with the same config and data (``final/`` and
a complete ``train_state.json``) is skipped; a killed one resumes from its last
checkpoint; a changed step count trains on or is refused
(:mod:`lmt.training.checkpoint`); ``--overwrite`` starts it over.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

from lmt.commands import command, parse_args
from lmt.errors import LMTError

RECIPES_DIR = Path(__file__).resolve().parent


def deepspeed_command(cfg, stage: str, config: str, overrides: list[str], num_gpus: Optional[int] = None) -> list[str]:
    """The launcher command line for a stage (see module docs)."""
    from lmt.training.distributed import free_port

    launcher = cfg.train.launcher
    exe = shutil.which("deepspeed", path=str(Path(sys.executable).parent)) or shutil.which("deepspeed")
    cmd = [exe] if exe else [sys.executable, "-m", "deepspeed.launcher.runner"]
    cmd += ["--num_gpus", str(num_gpus or launcher.num_gpus)]
    if launcher.hostfile:
        cmd += ["--hostfile", launcher.hostfile]
    if launcher.num_nodes:
        cmd += ["--num_nodes", str(launcher.num_nodes)]
    if launcher.master_addr:
        cmd += ["--master_addr", launcher.master_addr]
    cmd += ["--master_port", str(launcher.master_port or free_port())]
    cmd += list(launcher.extra_args)
    cmd += [str(RECIPES_DIR / f"{stage}.py"), "--config", str(Path(config).resolve()), *overrides]
    return cmd


def launcher_world(cfg, num_gpus: Optional[int] = None) -> int:
    """Ranks the launcher will start: processes per node x nodes (``num_nodes``, else the hostfile's hosts)."""
    launcher = cfg.train.launcher
    nodes = launcher.num_nodes or 1
    if launcher.hostfile and not launcher.num_nodes:
        lines = Path(launcher.hostfile).expanduser().read_text(encoding="utf-8").splitlines()
        nodes = max(1, sum(1 for line in lines if line.strip() and not line.lstrip().startswith("#")))
    return (num_gpus or launcher.num_gpus) * nodes


def check_launcher(cfg) -> None:
    """Paths the launcher needs (the hostfile) exist."""
    from lmt.errors import MissingResourceError

    hostfile = cfg.train.launcher.hostfile
    if hostfile and not Path(hostfile).expanduser().is_file():
        raise MissingResourceError(
            f"train.launcher.hostfile {hostfile!r} does not exist (a DeepSpeed hostfile: one `host slots=N` per line)"
        )


def _init(cfg, args) -> int:
    from recipes.init import init_model, init_plan

    if args.overwrite and not args.dry_run:
        from lmt.training.checkpoint import clear_stage

        clear_stage(cfg.stage_dir("model_init"))
    if args.dry_run:
        for line in init_plan(cfg):
            print(line)
        return 0
    init_model(cfg)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Options of ``lmt train``."""
    ap = argparse.ArgumentParser(prog="lmt train", description="train: init (tokenizer + tiny model), cpt, sft, grpo")
    ap.add_argument("stage", choices=["init", "cpt", "sft", "grpo"])
    ap.add_argument("config", help="experiment YAML")
    ap.add_argument("overrides", nargs="*", help="key.sub=value overrides")
    ap.add_argument("--num-gpus", type=int, default=None, help="processes per node (overrides train.launcher.num_gpus)")
    ap.add_argument(
        "--dry-run", action="store_true",
        help="check every input, print the training plan (data, batch, steps, epochs, mixture, PMP shares) and the launcher command; train nothing",
    )
    ap.add_argument("--force", action="store_true", help="run even when the stage already finished")
    ap.add_argument("--overwrite", action="store_true", help="start the stage over: delete its checkpoints, state and final model first")
    return ap


@command(build_parser)
def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``lmt train`` (see module docs)."""
    from lmt.config import load_experiment
    from lmt.training.checkpoint import check_resumable, clear_stage, finished
    from lmt.training.stage import preflight, stage_fingerprint

    args = parse_args(build_parser(), sys.argv[1:] if argv is None else argv)
    cfg = load_experiment(args.config, args.overrides)
    cfg.require("train")
    if args.stage == "init":
        return _init(cfg, args)
    section = getattr(cfg.train, args.stage)
    if section is not None and not section.enabled:
        print(f"[lmt train {args.stage}] train.{args.stage}.enabled is false: skipped")
        return 0
    if args.stage == "grpo":
        check_launcher(cfg)
        return _launch_grpo(cfg, args)
    paths = preflight(cfg, args.stage, pending_model_ok=args.dry_run)
    check_launcher(cfg)
    cmd = deepspeed_command(cfg, args.stage, args.config, args.overrides, args.num_gpus)
    if args.dry_run:
        from lmt.training.estimate import cpt_dry_plan, sft_dry_plan

        plan = (sft_dry_plan if args.stage == "sft" else cpt_dry_plan)(cfg, paths, launcher_world(cfg, args.num_gpus))
        for line in plan.lines():
            print(line)
        done = 0 if args.overwrite or not section.resume else check_resumable(paths.out_dir, plan.steps.total, args.stage)
        if done:
            print(f"[plan {args.stage}] resumes from the checkpoint at step {done} (--overwrite starts over)")
        print(shlex.join(cmd))
        return 0
    if args.overwrite and clear_stage(paths.out_dir):
        print(f"[lmt train {args.stage}] --overwrite: removed {paths.out_dir}")
    elif not args.force and finished(paths.out_dir, stage_fingerprint(cfg, args.stage, paths)):
        print(f"[lmt train {args.stage}] already finished: {paths.out_dir / 'final'} (use --force to train again, --overwrite to start over)")
        return 0
    elif section.max_steps and section.resume:
        check_resumable(paths.out_dir, section.max_steps, args.stage)  # fail before starting the launcher
    return _run_launcher(cfg, args, cmd, paths.out_dir)


def _run_launcher(cfg, args, cmd: list[str], out_dir: Path) -> int:
    from lmt.training.stage import launcher_env

    env = launcher_env()
    if env.get("DS_ACCELERATOR") == "cpu" and "OMP_NUM_THREADS" not in env:
        ranks = args.num_gpus or cfg.train.launcher.num_gpus
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // ranks))
    print(f"[lmt train {args.stage}] {shlex.join(cmd)}", flush=True)
    from lmt.runlock import run_lock

    with run_lock(out_dir, f"lmt train {args.stage} {args.config}"):  # one training run per stage output dir
        status = subprocess.call(cmd, env=env)
    if status != 0:
        raise LMTError(
            f"`lmt train {args.stage}` failed: the deepspeed launcher exited with status {status} (see the log above); "
            "rerun the same command to resume from the last checkpoint"
        )
    return 0


# --------------------------------------------------------------------------- GRPO


def _launch_grpo(cfg, args) -> int:
    """``lmt train grpo``: checks (reward models loaded once here), ``--dry-run`` plan, then the launcher."""
    from lmt.training.grpo_stage import grpo_finished, preflight_grpo

    launcher = cfg.train.launcher
    world = (args.num_gpus or launcher.num_gpus) * (launcher.num_nodes or 1)
    paths = preflight_grpo(cfg, world=world, starting_over=args.overwrite)
    if args.overwrite and not args.dry_run:
        from lmt.training.checkpoint import clear_stage

        if clear_stage(paths.out_dir):
            print(f"[lmt train grpo] --overwrite: removed {paths.out_dir}")
    elif not args.force and not args.dry_run and grpo_finished(cfg, paths):
        print(f"[lmt train grpo] already finished: {paths.out_dir / 'final'} (use --force to train again)")
        return 0
    cmd = deepspeed_command(cfg, "grpo", args.config, args.overrides, args.num_gpus)
    if args.dry_run:
        print(_grpo_plan(cfg, paths, world))
        print(shlex.join(cmd))
        return 0
    return _run_launcher(cfg, args, cmd, paths.out_dir)


def _grpo_plan(cfg, paths, world: int) -> str:
    from lmt.modeling import load_tokenizer
    from lmt.training.grpo_stage import format_plan, stage_prompts

    tokenizer = load_tokenizer(paths.init_from, trust_remote_code=cfg.train.model.trust_remote_code)
    return format_plan(cfg, paths, stage_prompts(cfg, paths, tokenizer), world)


if __name__ == "__main__":
    sys.exit(main())
