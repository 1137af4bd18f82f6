"""Where the GRPO stage reads and writes, and its checks before any GPU time.

:func:`resolve_grpo` gives the paths: the SFT data (the prompts), the model
to start from (default: the SFT stage's ``final/``; it is also the KL
reference), the output (``<run_dir>/checkpoints/grpo``). :func:`preflight_grpo`
raises a clear error for every bad input: no SFT model (or an unfinished
SFT stage), no data, an unknown reward, a COMET checkpoint that does not load,
more rollouts per prompt than the batch holds, a batch the ranks cannot split,
a prompt budget that leaves no room to generate, and checkpoints of an earlier
run that started from other weights than the model given now (the start model's
fingerprint is kept in ``start_model.json``; a resumed run must start from the
same weights, or it would mix two policies and two KL references).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from lmt.config import ExperimentConfig
from lmt.errors import ConfigError, DataError, MissingResourceError
from lmt.io import read_json

START_MODEL = "start_model.json"
CHECKPOINTS = "checkpoints"
FINAL = "final"
DONE_MARKER = "lmt_complete"  # written into a Trainer checkpoint once every rank has saved it
TAIL_BYTES = 1 << 20


@dataclass(frozen=True)
class GRPOPaths:
    """Resolved locations of the GRPO stage.

    Attributes:
        data_dir: SFT data (prep or selection output).
        init_from: model to start from; also the KL reference.
        sft_dir: the SFT stage output ``init_from`` belongs to, or None when set by hand.
        out_dir: stage output (``checkpoints/``, ``final/``, ``tensorboard/``).
        ds_config: DeepSpeed JSON file.
    """

    data_dir: Path
    init_from: str
    sft_dir: Optional[Path]
    out_dir: Path
    ds_config: Path


def grpo_section(cfg: ExperimentConfig) -> Any:
    """``train.grpo``, or a ConfigError naming the file."""
    section = cfg.require("train").grpo
    if section is None:
        raise ConfigError(f"{cfg.source}: `lmt train grpo` needs a 'train.grpo:' section")
    return section


def sft_settings(cfg: ExperimentConfig) -> Any:
    """The SFT section whose prompts GRPO uses (its defaults when the config has none)."""
    from lmt.config.train import SFTConfig

    return cfg.train.sft if cfg.train.sft is not None else SFTConfig()


def resolve_grpo(cfg: ExperimentConfig) -> GRPOPaths:
    """Concrete paths of the GRPO stage for this experiment."""
    from lmt.training.ds_config import resolve_ds_config
    from lmt.training.stage import prep_output, presets_dir, resolve_stage

    section = grpo_section(cfg)
    sft_dir = None
    if cfg.train.sft is not None:
        sft = resolve_stage(cfg, "sft")
        data_dir, sft_dir = sft.data_dir, sft.out_dir
    else:
        data_dir = prep_output(cfg)
    if section.data_dir:
        data_dir = Path(section.data_dir)
    init_from = section.init_from
    if not init_from:
        if sft_dir is None:
            raise ConfigError(f"{cfg.source}: train.grpo needs the SFT model: add a 'train.sft:' section or set train.grpo.init_from")
        init_from = str(sft_dir / FINAL)
    elif sft_dir is not None and Path(init_from).expanduser().resolve() != (sft_dir / FINAL).resolve():
        sft_dir = None
    base = Path(cfg.source).parent if cfg.source != "<config>" else None
    return GRPOPaths(
        data_dir=data_dir,
        init_from=init_from,
        sft_dir=sft_dir,
        out_dir=Path(section.output_dir) if section.output_dir else cfg.stage_dir("grpo"),
        ds_config=resolve_ds_config(section.deepspeed, presets_dir(), base),
    )


def weights_fingerprint(model_dir: "str | Path") -> Optional[list[dict]]:
    """Identity of a local model's weights: per weight file, its size and the SHA-256 of its first and last MiB.

    Any retraining changes those bytes (the safetensors header and data at
    both ends); the whole file is not read (an 8B model is 16 GB). None for a hub id.
    """
    root = Path(model_dir).expanduser()
    if not root.is_dir():
        return None
    files = sorted(root.glob("*.safetensors")) + sorted(root.glob("*.bin"))
    out = []
    for p in files:
        size = p.stat().st_size
        h = hashlib.sha256()
        with p.open("rb") as f:
            h.update(f.read(TAIL_BYTES))
            f.seek(max(0, size - TAIL_BYTES))
            h.update(f.read(TAIL_BYTES))
        out.append({"file": p.name, "size": size, "sha256_ends": h.hexdigest()[:16]})
    return out


def check_batch(section: Any, world: int, source: str = "<config>") -> int:
    """Micro-steps per optimizer step; errors for a batch that cannot hold whole groups of rollouts."""
    g, gb, mb = section.num_generations, section.global_batch_size, section.micro_batch_size
    if g > gb:
        raise ConfigError(
            f"{source}: train.grpo.num_generations={g} rollouts per prompt do not fit in "
            f"train.grpo.global_batch_size={gb} completions per step; raise global_batch_size or lower num_generations"
        )
    if gb % g:
        raise ConfigError(
            f"{source}: train.grpo.global_batch_size={gb} is not a multiple of num_generations={g} "
            "(every step holds whole groups of rollouts)"
        )
    if gb % (mb * world):
        raise ConfigError(
            f"{source}: train.grpo.global_batch_size={gb} is not a multiple of micro_batch_size x ranks = {mb} x {world}"
        )
    return gb // (mb * world)


def checkpoint_dirs(out_dir: "str | Path") -> list[Path]:
    """Finished Trainer checkpoints (``checkpoint-N`` with the done marker), oldest first."""
    root = Path(out_dir) / CHECKPOINTS
    done = [p for p in root.glob("checkpoint-*") if (p / DONE_MARKER).is_file() and p.name.split("-")[-1].isdigit()]
    return sorted(done, key=lambda p: int(p.name.split("-")[-1]))


def check_start_model(out_dir: Path, init_from: str, resume: bool) -> Optional[list[dict]]:
    """Refuse to resume checkpoints that started from other weights; returns the start fingerprint."""
    current = weights_fingerprint(init_from)
    record = out_dir / START_MODEL
    if resume and checkpoint_dirs(out_dir) and record.is_file():
        before = read_json(record)
        if before.get("weights") != current:
            raise DataError(
                f"{out_dir}: its checkpoints started from {before.get('init_from')} with other weights than "
                f"{init_from} has now (was the SFT model retrained?); start GRPO over with `lmt train grpo CONFIG --overwrite` "
                "(`lmt run` does this by itself), or use a new train.grpo.output_dir"
            )
    return current


def start_model_changed(cfg: ExperimentConfig) -> bool:
    """Whether the GRPO output (checkpoints or final model) started from other weights than its SFT model has now."""
    paths = resolve_grpo(cfg)
    record = paths.out_dir / START_MODEL
    if not record.is_file() or not (checkpoint_dirs(paths.out_dir) or (paths.out_dir / FINAL).is_dir()):
        return False
    current = weights_fingerprint(paths.init_from)
    return current is not None and read_json(record).get("weights") != current


def _check_sft_finished(paths: GRPOPaths, cfg: ExperimentConfig) -> None:
    if paths.sft_dir is None:
        return
    state = paths.sft_dir / "train_state.json"
    if not Path(paths.init_from).is_dir():
        raise MissingResourceError(
            f"no SFT model at {paths.init_from}: run `lmt train sft {cfg.source}` first (or set train.grpo.init_from)"
        )
    if state.is_file() and not read_json(state).get("complete"):
        raise DataError(f"the SFT stage in {paths.sft_dir} did not finish (train_state.json is not complete): rerun `lmt train sft`")


def preflight_grpo(
    cfg: ExperimentConfig, world: Optional[int] = None, check_reward: bool = True, starting_over: bool = False
) -> GRPOPaths:
    """Check the GRPO stage's inputs; raise the first problem found (see module docs).

    Args:
        world: number of ranks (default: the launcher config's GPUs x nodes).
        check_reward: also load the COMET/LID models the reward needs.
        starting_over: the stage's checkpoints are about to be removed (``--overwrite``),
            so whatever model they started from does not matter.
    """
    from lmt.aux_map import AuxMap
    from lmt.datafiles import parallel_shards
    from lmt.prompts import get_template
    from lmt.rewards import check_reward_config
    from lmt.training.ds_config import load_ds_config
    from lmt.training.stage import model_max_positions

    section = grpo_section(cfg)
    paths = resolve_grpo(cfg)
    _check_sft_finished(paths, cfg)
    init = paths.init_from
    looks_local = init.startswith((".", "/", "~")) or init.count("/") != 1
    if looks_local and not Path(init).expanduser().is_dir():
        raise MissingResourceError(f"model {init!r} does not exist (train.grpo.init_from; run `lmt train sft` first)")
    if not paths.data_dir.is_dir() or not parallel_shards(paths.data_dir):
        raise MissingResourceError(f"SFT data {paths.data_dir} has no parallel Parquet shards (run `lmt prep {cfg.source}` first)")
    load_ds_config(paths.ds_config)
    launcher = cfg.train.launcher
    check_batch(section, world or launcher.num_gpus * (launcher.num_nodes or 1), cfg.source)
    if section.max_completion_length >= section.max_length:
        raise ConfigError(
            f"{cfg.source}: train.grpo.max_completion_length={section.max_completion_length} leaves no room for a "
            f"prompt in max_length={section.max_length}"
        )
    max_pos = model_max_positions(init, cfg.train.model.trust_remote_code)
    if max_pos is not None and section.max_length > max_pos:
        raise ConfigError(
            f"{cfg.source}: train.grpo.max_length={section.max_length} exceeds the model's max_position_embeddings={max_pos}"
        )
    get_template(sft_settings(cfg).template)
    AuxMap.load(cfg.aux_map)
    if check_reward:
        check_reward_config(section.reward)
    check_start_model(paths.out_dir, init, section.resume and not starting_over)
    return paths


def stage_prompts(cfg: ExperimentConfig, paths: GRPOPaths, tokenizer: Any) -> Any:
    """The run's GRPO prompts (:func:`lmt.training.grpo_data.build_grpo_prompts` with the SFT prompt settings)."""
    from lmt.aux_map import AuxMap
    from lmt.training.grpo_data import build_grpo_prompts

    stage, sft = grpo_section(cfg), sft_settings(cfg)
    return build_grpo_prompts(
        paths.data_dir, tokenizer, aux_map=AuxMap.load(cfg.aux_map), seed=cfg.seed, template=sft.template,
        use_chat_template=sft.use_chat_template, pmp=sft.pmp.model_dump(), reverse_keep=sft.reverse_keep,
        max_prompts=stage.max_prompts, max_prompt_tokens=stage.max_length - stage.max_completion_length,
        num_proc=stage.num_proc,
    )


def grpo_fingerprint(cfg: ExperimentConfig, paths: GRPOPaths) -> str:
    """Hash of everything a finished GRPO stage depends on (config, SFT prompts, data, start weights)."""
    from lmt.io import content_hash
    from lmt.training.data import data_fingerprint

    sft = sft_settings(cfg)
    return content_hash(
        grpo_section(cfg).model_dump(mode="json"), cfg.train.model.model_dump(mode="json"), cfg.seed, cfg.aux_map,
        sft.template, sft.use_chat_template, sft.pmp.model_dump(mode="json"), sft.reverse_keep,
        data_fingerprint(paths.data_dir, with_mono=False), str(paths.init_from), weights_fingerprint(paths.init_from),
    )


def grpo_finished(cfg: ExperimentConfig, paths: GRPOPaths) -> bool:
    """Whether ``final/`` exists from a complete run with the same fingerprint."""
    state = paths.out_dir / "train_state.json"
    if not (state.is_file() and (paths.out_dir / FINAL / "config.json").is_file()):
        return False
    done = read_json(state)
    return bool(done.get("complete")) and done.get("config") == grpo_fingerprint(cfg, paths)


def format_plan(cfg: ExperimentConfig, paths: GRPOPaths, prompts: Any, world: int) -> str:
    """The ``--dry-run`` plan: prompts, rollouts, steps, reward."""
    s = grpo_section(cfg)
    st = prompts.stats
    per_step = s.global_batch_size // s.num_generations
    steps = s.max_steps or math.ceil(s.epochs * st["prompts"] / per_step)
    r = s.reward
    terms = " + ".join(f"{w:g} x {n}" for n, w in r.terms.items())
    models = [f"{n}: {getattr(r, n + '_model')}" for n in ("comet", "cometkiwi") if n in r.terms]
    penalties = [f"{k} -{getattr(r, k + '_penalty'):g}" for k in ("empty", "runaway", "wrong_language") if getattr(r, k + "_penalty")]
    first = prompts.dataset[0]["prompt"] if len(prompts.dataset) else ""
    lines = [
        f"GRPO plan for {cfg.name}",
        f"  start model (and KL reference): {paths.init_from}",
        f"  output: {paths.out_dir}",
        f"  prompts: {st['prompts']} from {st['records']} SFT records in {paths.data_dir} "
        f"(kinds {st['kinds']}; dropped: reverse_keep {st['dropped_reverse_keep']}, max_prompts {st['dropped_max_prompts']}, "
        f"too long {st['dropped_too_long']})",
        f"  directions: {st['directions']}",
        f"  rollouts: {s.num_generations} per prompt, temperature {s.temperature}, top_p {s.top_p}, "
        f"up to {s.max_completion_length} new tokens",
        f"  steps: {steps} x {per_step} prompts ({s.global_batch_size} completions) on {world} rank(s) "
        f"= {steps * per_step / max(1, st['prompts']):.2f} passes over the prompts",
        f"  optimisation: lr {s.learning_rate:g} ({s.lr_scheduler}), KL beta {s.beta:g}, micro-batch {s.micro_batch_size}",
        f"  reward: {terms}" + (f" ({'; '.join(models)})" if models else "") + (f"; penalties {', '.join(penalties)}" if penalties else ""),
        "  first prompt:",
        *("    " + line for line in first.splitlines()),
    ]
    return "\n".join(lines)
