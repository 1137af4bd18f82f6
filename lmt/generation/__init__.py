"""Generation engines: Hugging Face ``generate()`` (CPU, tests, any GPU) and vLLM.

Shared by every stage that translates with a model: evaluation, pseudo-parallel
synthesis, GRPO rollouts. Every engine has ``generate(prompts, desc) -> list[str]``:
rendered prompts in, cleaned translations out, in input order, and counts its
passes in ``calls``. :func:`make_engine` picks vLLM when ``engine: auto``, vLLM
is importable and a GPU is present; otherwise the Hugging Face engine.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from lmt.errors import ConfigError
from lmt.generation.base import Engine, batch_order, clean_output, special_tokens_to_remove
from lmt.generation.hf import HFEngine
from lmt.log import get_logger
from lmt.prompts import get_template

__all__ = ["Engine", "HFEngine", "batch_order", "clean_output", "make_engine", "special_tokens_to_remove", "vllm_usable"]

log = get_logger("lmt.generation")


def vllm_usable() -> bool:
    """vLLM installed and a CUDA GPU visible."""
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


def make_engine(
    cfg: Any, model: str, tokenizer: "str | None" = None, *, strip: "bool | None" = None, key: str = "eval.engine"
) -> Engine:
    """Build the engine a config section asks for.

    Args:
        cfg: a section with the generation settings of
            :class:`~lmt.config.eval.EvalConfig` (``engine``, ``num_beams``,
            ``max_new_tokens``, ``batch_size``, ``sort_by_length``, ``dtype`` ...).
        model: model directory or hub id.
        tokenizer: tokenizer directory or hub id (default: the model's).
        strip: strip whitespace around outputs (default: the template's
            ``strip_output``; the released prompts do not, as LMT's inference code).
        key: the config key named in errors (``synth.engine``).
    """
    common = dict(
        tokenizer_path=tokenizer,
        num_beams=cfg.num_beams,
        max_new_tokens=cfg.max_new_tokens,
        do_sample=cfg.do_sample,
        dtype=cfg.dtype,
        trust_remote_code=cfg.trust_remote_code,
        strip=get_template(cfg.prompt).strip_output if strip is None else strip,  # part of the template
    )
    use_vllm = cfg.engine == "vllm" or (cfg.engine == "auto" and vllm_usable())
    if cfg.engine == "vllm" and not vllm_usable():
        raise ConfigError(f"{key}: vllm needs the vllm package and a CUDA GPU; use engine: hf (or auto)")
    if use_vllm:
        from lmt.generation.vllm_engine import VLLMEngine

        log.info("generation engine: vLLM")
        return VLLMEngine(
            model,
            gpu_memory_utilization=cfg.gpu_memory_utilization,
            tensor_parallel_size=cfg.tensor_parallel_size,
            **common,
        )
    log.info("generation engine: Hugging Face generate()")
    return HFEngine(model, batch_size=cfg.batch_size, sort_by_length=cfg.sort_by_length, device=cfg.device, **common)
