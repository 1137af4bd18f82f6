"""Where selection reads and writes, which models it uses, and their cache identities."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from data_prep.selection.data import SelectionInput
from lmt.config import ExperimentConfig
from lmt.config.select import SelectConfig
from lmt.errors import MissingResourceError


def select_config(cfg: ExperimentConfig) -> SelectConfig:
    """The ``select:`` section, or its defaults when the config has none."""
    return cfg.select if cfg.select is not None else SelectConfig()


def input_dir(cfg: ExperimentConfig) -> Path:
    """Where selection reads from: ``select.input_dir``, else the prep output
    (``prep.output_dir`` when the config sets one, else ``stage_dir("prep")``)."""
    sel = select_config(cfg)
    if sel.input_dir:
        return Path(sel.input_dir)
    prep_out = getattr(cfg.prep, "output_dir", None) if cfg.prep is not None else None
    return Path(prep_out) if prep_out else cfg.stage_dir("prep")


def output_dir(cfg: ExperimentConfig) -> Path:
    """Where selection writes: ``select.output_dir`` or ``stage_dir("select")``."""
    sel = select_config(cfg)
    return Path(sel.output_dir) if sel.output_dir else cfg.stage_dir("select")


def model_key(path: str) -> Any:
    """Identity of a model for cache keys: weight files' fingerprints when local."""
    from lmt.io import file_fingerprint

    p = Path(path)
    if not p.is_dir():
        return path
    files = sorted(list(p.glob("*.safetensors")) + list(p.glob("*.bin")) + list(p.glob("*.pt")))
    return [path] + [{k: v for k, v in file_fingerprint(f).items() if k != "path"} for f in files]


def samples_of(data: SelectionInput) -> list:
    from data_prep.selection.miwv import Sample

    cols = [data.column(c) for c in ("src_lang", "tgt_lang", "src", "tgt")]
    return [Sample(*row) for row in zip(*cols)]


def miwv_model_path(cfg: ExperimentConfig) -> str:
    """The model being tuned: ``select.miwv.model``, else the model SFT starts from.

    Without ``select.miwv.model``: ``train.sft.init_from``, else the training
    stage's default (the CPT output when CPT is enabled, else
    ``train.model.path``, else the tiny init model), else ``checkpoints/cpt/final``.

    Raises:
        MissingResourceError: that default is a local path that does not exist yet.
    """
    sel = select_config(cfg)
    if sel.miwv.model:
        return sel.miwv.model
    path: Optional[str] = None
    if cfg.train is not None:
        sft = getattr(cfg.train, "sft", None)
        path = getattr(sft, "init_from", None) if sft is not None else None
        if not path:
            from lmt.training.stage import default_init_from

            path = default_init_from(cfg, "sft")
    path = path or str(cfg.stage_dir("cpt") / "final")
    local = path.startswith((".", "/", "~")) or Path(path).exists() or path.count("/") != 1
    if local and not Path(path).expanduser().exists():
        raise MissingResourceError(
            f"{cfg.source}: MIWV scores with the model being tuned, and its default {path} does not exist yet; "
            "run selection after `lmt train cpt` (`lmt select miwv CONFIG`, with select.enabled=false so "
            "`lmt prep` skips it) or set select.miwv.model=PATH_OR_HUB_ID"
        )
    return path


def qsm_path(cfg: ExperimentConfig) -> Path:
    """``select.mdaq.qsm`` or ``<run_dir>/qsm``."""
    q = select_config(cfg).mdaq.qsm
    return Path(q) if q else cfg.root / "qsm"
