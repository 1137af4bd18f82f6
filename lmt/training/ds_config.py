"""DeepSpeed configs: shipped ZeRO presets, strict loading, ``"auto"`` filling.

The shipped presets (``recipes/configs/deepspeed/zero{1,2,3}.json``,
``zero3_offload.json``) leave batch sizes, optimizer values and precision as
``"auto"``; :func:`fill_auto` fills them from the stage config so the YAML stays
the one place hyperparameters live. bf16 is turned on where the accelerator has
it and off on CPU (fp32).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from lmt.errors import ConfigError, MissingResourceError

PRESETS = ("zero1", "zero2", "zero3", "zero3_offload")


def resolve_ds_config(name_or_path: str, presets_dir: "str | Path", base_dir: "str | Path | None" = None) -> Path:
    """Map a preset name (``zero2``) or a path to an existing JSON file.

    Args:
        name_or_path: preset name or JSON path.
        presets_dir: folder of the shipped presets (``recipes/configs/deepspeed``;
            the recipes pass it, since ``lmt`` never imports them).
        base_dir: folder of the experiment config; relative paths are tried as
            given, then there.
    """
    if name_or_path in PRESETS:
        return Path(presets_dir) / f"{name_or_path}.json"
    p = Path(name_or_path).expanduser()
    if not p.is_file() and base_dir is not None and not p.is_absolute():
        p = Path(base_dir) / p
    if not p.is_file():
        raise MissingResourceError(
            f"DeepSpeed config {name_or_path!r} does not exist; use one of {', '.join(PRESETS)} or a JSON file path"
        )
    return p


def load_ds_config(path: "str | Path") -> dict:
    """Parse a DeepSpeed JSON; syntax errors name the file, line and column."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{p}:{err.lineno}:{err.colno}: DeepSpeed config is not valid JSON: {err.msg}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{p}: DeepSpeed config is not UTF-8 text: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a DeepSpeed config must be a JSON object, got {type(data).__name__}")
    zero = data.get("zero_optimization", {})
    if not isinstance(zero, dict) or zero.get("stage", 0) not in (0, 1, 2, 3):
        raise ConfigError(f"{p}: zero_optimization.stage must be 0, 1, 2 or 3")
    return data


def bf16_available() -> bool:
    """Whether training in bfloat16 makes sense here (a CUDA GPU with bf16)."""
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def _auto(value: Any) -> bool:
    return isinstance(value, str) and value == "auto"


def fill_auto(
    ds: dict,
    *,
    micro_batch_size: int,
    grad_accum: int,
    world_size: int,
    learning_rate: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    gradient_clipping: float,
    hidden_size: int,
    dtype: str = "auto",
    monitors: Optional[dict] = None,
) -> dict:
    """Return a copy of ``ds`` with every ``"auto"`` replaced.

    Args:
        dtype: ``auto`` (bf16 where available), ``bfloat16`` or ``float32``.
        monitors: DeepSpeed monitor sections to add (``tensorboard``, ``wandb``, ``csv_monitor``).

    Raises:
        ConfigError: when explicit batch values contradict the stage config.
    """
    ds = json.loads(json.dumps(ds))
    want = {
        "train_micro_batch_size_per_gpu": micro_batch_size,
        "gradient_accumulation_steps": grad_accum,
        "train_batch_size": micro_batch_size * grad_accum * world_size,
    }
    for key, value in want.items():
        if key not in ds or _auto(ds[key]):
            ds[key] = value
        elif int(ds[key]) != value:
            raise ConfigError(
                f"DeepSpeed config sets {key}={ds[key]} but the stage config implies {value}; "
                "set it to \"auto\" (batch sizes live in the experiment YAML)"
            )
    if _auto(ds.get("gradient_clipping", "auto")):
        ds["gradient_clipping"] = gradient_clipping
    use_bf16 = bf16_available() if dtype == "auto" else dtype == "bfloat16"
    bf16 = ds.setdefault("bf16", {})
    if _auto(bf16.get("enabled", "auto")):
        bf16["enabled"] = use_bf16
    fp16 = ds.get("fp16")
    if isinstance(fp16, dict) and _auto(fp16.get("enabled")):
        fp16["enabled"] = False
    opt = ds.get("optimizer")
    if isinstance(opt, dict):
        params = opt.setdefault("params", {})
        fills = {"lr": learning_rate, "betas": list(betas), "eps": eps, "weight_decay": weight_decay}
        for key, value in fills.items():
            if _auto(params.get(key, "auto")):
                params[key] = value
    zero = ds.get("zero_optimization", {})
    sizes = {
        "reduce_bucket_size": hidden_size * hidden_size,
        "stage3_prefetch_bucket_size": int(0.9 * hidden_size * hidden_size),
        "stage3_param_persistence_threshold": 10 * hidden_size,
    }
    for key, value in sizes.items():
        if _auto(zero.get(key)):
            zero[key] = value
    for key, section in (monitors or {}).items():
        ds[key] = section
    leftover = _find_auto(ds)
    if leftover:
        raise ConfigError(f"DeepSpeed config: no value known for \"auto\" at {', '.join(leftover)}; set it explicitly")
    return ds


def _find_auto(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [k for key, v in node.items() for k in _find_auto(v, f"{prefix}{key}.")]
    if isinstance(node, list):
        return [k for i, v in enumerate(node) for k in _find_auto(v, f"{prefix}{i}.")]
    return [prefix.rstrip(".")] if _auto(node) else []


def training_dtype(dtype: str = "auto") -> str:
    """``bfloat16`` or ``float32`` for a config value of ``auto``/``bfloat16``/``float32``."""
    if dtype == "auto":
        return "bfloat16" if bf16_available() else "float32"
    return dtype
