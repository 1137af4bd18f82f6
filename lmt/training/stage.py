"""Where a training stage reads and writes, and the checks run before any GPU time.

:func:`resolve_stage` turns an experiment config into concrete paths (input
data, starting model, output, cache, DeepSpeed JSON); :func:`preflight` checks
them and raises a clear :class:`~lmt.errors.LMTError` for every bad input the
issue lists: missing or empty prep output, a model path that does not exist, a
DeepSpeed config that does not parse, a sequence length above the model's
maximum, an unknown prompt template or a bad auxiliary map. ``lmt train`` runs
it before starting the launcher, and each recipe runs it again (it may be
started with ``deepspeed`` directly).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from lmt.config import ExperimentConfig
from lmt.config.experiment import prep_hint
from lmt.datafiles import mono_shards, parallel_shards
from lmt.errors import ConfigError, DataError, MissingResourceError
from lmt.training.ds_config import load_ds_config, resolve_ds_config

STAGES = ("cpt", "sft")


@dataclass(frozen=True)
class StagePaths:
    """Resolved locations of one stage.

    Attributes:
        name: ``cpt`` or ``sft``.
        data_dir: input data (prep layout).
        init_from: model to start from (local directory or hub id).
        out_dir: stage output (``checkpoints/``, ``final/``, ``tensorboard/``).
        cache_dir: packed-data cache.
        ds_config: DeepSpeed JSON file.
    """

    name: str
    data_dir: Path
    init_from: str
    out_dir: Path
    cache_dir: Path
    ds_config: Path


def stage_config(cfg: ExperimentConfig, name: str) -> Any:
    """The ``train.<name>`` section, or a ConfigError naming the file."""
    train = cfg.require("train")
    section = getattr(train, name)
    if section is None:
        raise ConfigError(f"{cfg.source}: `lmt train {name}` needs a 'train.{name}:' section")
    return section


def _looks_local(path: str) -> bool:
    return path.startswith((".", "/", "~")) or Path(path).expanduser().exists() or path.count("/") != 1


def prep_output(cfg: ExperimentConfig) -> Path:
    """The prep stage's output directory (``prep.output_dir`` or the run's default)."""
    out = getattr(cfg.prep, "output_dir", None) if cfg.prep is not None else None
    return Path(out) if out else cfg.stage_dir("prep")


def default_init_from(cfg: ExperimentConfig, name: str) -> str:
    """The model a stage starts from when ``init_from`` is not set.

    CPT: ``train.model.path``, else the tiny model of ``lmt train init``.
    SFT: the CPT stage's final model when the config has an enabled CPT stage,
    else the same as CPT.
    """
    train = cfg.require("train")
    if name == "sft" and train.cpt is not None and train.cpt.enabled:
        cpt_out = Path(train.cpt.output_dir) if train.cpt.output_dir else cfg.stage_dir("cpt")
        return str(cpt_out / "final")
    if train.model.path:
        return train.model.path
    return str(cfg.stage_dir("model_init"))


def presets_dir() -> Path:
    """Shipped DeepSpeed presets (``recipes/configs/deepspeed``), found without importing ``recipes``."""
    import importlib.util

    spec = importlib.util.find_spec("recipes")
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError("the `recipes` package is not installed; run `uv sync` in the LMT checkout")
    return Path(list(spec.submodule_search_locations)[0]) / "configs" / "deepspeed"


def resolve_stage(cfg: ExperimentConfig, name: str) -> StagePaths:
    """Concrete paths of stage ``name`` (``cpt``/``sft``) for this experiment."""
    if name not in STAGES:
        raise ConfigError(f"unknown training stage {name!r}; valid: {', '.join(STAGES)}")
    section = stage_config(cfg, name)
    train = cfg.train
    data_dir = Path(section.data_dir) if section.data_dir else prep_output(cfg)
    if name == "sft" and not section.data_dir and cfg.select is not None and getattr(cfg.select, "enabled", True):
        selected = Path(getattr(cfg.select, "output_dir", None) or cfg.stage_dir("select"))
        if selected.is_dir():
            data_dir = selected
    base = Path(cfg.source).parent if cfg.source != "<config>" else None
    return StagePaths(
        name=name,
        data_dir=data_dir,
        init_from=section.init_from or default_init_from(cfg, name),
        out_dir=Path(section.output_dir) if section.output_dir else cfg.stage_dir(name),
        cache_dir=Path(train.cache_dir) if train.cache_dir else cfg.root / "cache",
        ds_config=resolve_ds_config(section.deepspeed, presets_dir(), base),
    )


def model_max_positions(init_from: str, trust_remote_code: bool = False) -> Optional[int]:
    """``max_position_embeddings`` of a model (local config.json or hub config); None if unknown."""
    local = Path(init_from).expanduser() / "config.json"
    if local.is_file():
        try:
            data = json.loads(local.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ConfigError(f"{local}:{err.lineno}: model config is not valid JSON: {err.msg}") from None
        return data.get("max_position_embeddings")
    try:
        from transformers import AutoConfig

        return getattr(AutoConfig.from_pretrained(init_from, trust_remote_code=trust_remote_code), "max_position_embeddings", None)
    except Exception:  # offline hub id: the launcher finds out later, with its own error
        return None


def made_by_earlier_stage(cfg: ExperimentConfig, name: str, init_from: str) -> Optional[str]:
    """The command that will create ``init_from`` when it is another stage's output (else None)."""
    section = stage_config(cfg, name)
    if section.init_from:
        return None
    if init_from == str(cfg.stage_dir("model_init")):
        return f"lmt train init {cfg.source}"
    if name == "sft" and init_from.endswith("/final") and cfg.train.cpt is not None and cfg.train.cpt.enabled:
        return f"lmt train cpt {cfg.source}"
    return None


def preflight(cfg: ExperimentConfig, name: str, pending_model_ok: bool = False) -> StagePaths:
    """Check a stage's inputs; raise the first problem found (see module docs).

    Args:
        pending_model_ok: a dry run: a starting model that an earlier stage
            (``lmt train init``, CPT) will create is not an error yet.
    """
    from lmt.aux_map import AuxMap
    from lmt.prompts import get_template

    section = stage_config(cfg, name)
    paths = resolve_stage(cfg, name)
    if not paths.data_dir.is_dir():
        hint = prep_hint(cfg, paths.data_dir, f"train.{name}.data_dir")
        raise MissingResourceError(f"training data {paths.data_dir} does not exist; {hint}")
    has_parallel = bool(parallel_shards(paths.data_dir))
    has_mono = bool(mono_shards(paths.data_dir))
    if name == "sft" and not has_parallel:
        raise DataError(f"{paths.data_dir}: no parallel Parquet shards (empty or unfinished prep output)")
    if name == "cpt" and not (has_parallel or has_mono):
        raise DataError(f"{paths.data_dir}: no parallel or monolingual Parquet shards (empty or unfinished prep output)")
    init = paths.init_from
    pending = made_by_earlier_stage(cfg, name, init)
    if _looks_local(init) and not Path(init).expanduser().is_dir() and not (pending and pending_model_ok):
        hint = f"run `lmt train init {cfg.source}` first" if init == str(cfg.stage_dir("model_init")) else "check the path"
        if pending and pending.startswith("lmt train cpt"):
            hint = f"run `lmt train cpt {cfg.source}` first, or set train.cpt.enabled=false"
        raise MissingResourceError(f"model {init!r} does not exist ({hint})")
    tok = cfg.train.model.tokenizer
    if tok and _looks_local(tok) and not Path(tok).expanduser().is_dir():
        raise MissingResourceError(f"train.model.tokenizer {tok!r} does not exist (a tokenizer directory or hub id)")
    load_ds_config(paths.ds_config)
    max_pos = model_max_positions(init, cfg.train.model.trust_remote_code) if Path(init).expanduser().exists() or not _looks_local(init) else None
    if max_pos is not None and section.max_length > max_pos:
        raise ConfigError(
            f"{cfg.source}: train.{name}.max_length={section.max_length} exceeds the model's "
            f"max_position_embeddings={max_pos} ({init})"
        )
    if "wandb" in cfg.train.report_to:
        import importlib.util

        if importlib.util.find_spec("wandb") is None:
            raise MissingResourceError("train.report_to has wandb but the wandb package is not installed (run `uv sync --extra wandb`)")
    if name == "sft":
        get_template(section.template)
        AuxMap.load(cfg.aux_map)
    if name == "cpt":
        language_weights(section, cfg.source)
    return paths


def language_weights(cpt: Any, source: str = "<config>") -> dict[str, float]:
    """``train.cpt.language_weights`` keyed by FLORES code (an unknown code is a ConfigError)."""
    from lmt.languages import normalize_code

    out = {}
    for lang, w in (cpt.language_weights or {}).items():
        try:
            out[normalize_code(lang)] = w
        except Exception as err:
            raise ConfigError(f"{source}: train.cpt.language_weights.{lang}: {err}") from None
    return out


def cpt_reads_pairs_once(cfg: ExperimentConfig) -> bool:
    """Whether CPT reads each pair once from its forward direction (``cpt`` not in ``prep.downsample.scope``)."""
    scope = cfg.prep.downsample.scope if cfg.prep is not None else ["sft"]
    return "cpt" not in scope


def stage_fingerprint(cfg: ExperimentConfig, name: str, paths: StagePaths) -> str:
    """Hash of everything a finished stage depends on (config, model, data), to skip reruns."""
    from lmt.io import content_hash
    from lmt.training.data import data_fingerprint

    section = stage_config(cfg, name)
    return content_hash(
        section.model_dump(mode="json"), cfg.train.model.model_dump(mode="json"), cfg.seed, cfg.aux_map,
        data_fingerprint(paths.data_dir, with_mono=name == "cpt"), str(paths.init_from),
    )


def launcher_env() -> dict:
    """Environment for the deepspeed launcher and the ranks (CPU accelerator when no GPU)."""
    from lmt.training.distributed import on_cpu

    env = dict(os.environ)
    if on_cpu():
        env.setdefault("DS_ACCELERATOR", "cpu")
    return env


def recipe_args(argv: Optional[list[str]], prog: str, doc: str):
    """Parse ``--config CONFIG [key=value ...]`` (and the launcher's ``--local_rank``)."""
    import argparse

    ap = argparse.ArgumentParser(prog=prog, description=doc)
    ap.add_argument("--config", required=True, help="experiment YAML")
    ap.add_argument("--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("overrides", nargs="*", help="key.sub=value overrides")
    return ap.parse_args(argv)
