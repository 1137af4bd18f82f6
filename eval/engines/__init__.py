"""Generation engines: Hugging Face ``generate()`` (CPU, tests, any GPU) and vLLM.

Every engine has ``generate(prompts, desc) -> list[str]``: rendered prompts in,
cleaned translations out, in input order, and counts its passes in ``calls``.
:func:`make_engine` picks vLLM when ``engine: auto``, vLLM is importable and a
GPU is present; otherwise the Hugging Face engine.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from eval.engines.base import Engine, batch_order, clean_output, special_tokens_to_remove
from eval.engines.hf import HFEngine
from lmt.errors import ConfigError
from lmt.log import get_logger
from lmt.prompts import get_template

__all__ = ["Engine", "HFEngine", "batch_order", "clean_output", "make_engine", "special_tokens_to_remove", "vllm_usable"]

log = get_logger("lmt.eval")


def vllm_usable() -> bool:
    """vLLM installed and a CUDA GPU visible."""
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


def make_engine(cfg: Any, model: str, tokenizer: "str | None" = None) -> Engine:
    """Build the engine an :class:`~lmt.config.eval.EvalConfig` asks for."""
    common = dict(
        tokenizer_path=tokenizer,
        num_beams=cfg.num_beams,
        max_new_tokens=cfg.max_new_tokens,
        do_sample=cfg.do_sample,
        dtype=cfg.dtype,
        trust_remote_code=cfg.trust_remote_code,
        strip=get_template(cfg.prompt).strip_output,  # part of the template, as its chat arguments
    )
    use_vllm = cfg.engine == "vllm" or (cfg.engine == "auto" and vllm_usable())
    if cfg.engine == "vllm" and not vllm_usable():
        raise ConfigError("eval.engine: vllm needs the vllm package and a CUDA GPU; use engine: hf (or auto)")
    if use_vllm:
        from eval.engines.vllm_engine import VLLMEngine

        log.info("generation engine: vLLM")
        return VLLMEngine(
            model,
            gpu_memory_utilization=cfg.gpu_memory_utilization,
            tensor_parallel_size=cfg.tensor_parallel_size,
            **common,
        )
    log.info("generation engine: Hugging Face generate()")
    return HFEngine(model, batch_size=cfg.batch_size, sort_by_length=cfg.sort_by_length, device=cfg.device, **common)
