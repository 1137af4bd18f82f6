"""Engine settings shared by the sections that generate text (``eval:``, ``synth:``)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from lmt.config.base import StrictModel


class EngineSettings(StrictModel):
    """Which generation engine runs the model, and on what (see :mod:`lmt.generation`)."""

    engine: Literal["auto", "hf", "vllm"] = Field(
        "auto", description="auto: vLLM when installed and a GPU is present, else Hugging Face generate()"
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="model weights dtype")
    device: Optional[str] = Field(None, description="torch device for the HF engine (default: cuda if available, else cpu)")
    gpu_memory_utilization: float = Field(0.9, description="vLLM: fraction of GPU memory to use")
    tensor_parallel_size: int = Field(1, ge=1, description="vLLM: GPUs per model")
