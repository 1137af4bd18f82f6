"""vLLM engine for GPUs (vLLM 0.33 API): same prompts, tokens and cleaning as the HF engine.

vLLM schedules its own batches (continuous batching), so ``batch_size`` and
length sorting do not apply. Prompts are tokenised here with the model's own
tokenizer, exactly as :class:`~lmt.generation.hf.HFEngine` does, and given to
vLLM as ``TokensPrompt``; outputs are decoded here too, so both engines see and
clean the same tokens.

Decoding follows the Hugging Face semantics of the same settings:

* ``num_beams > 1``: ``LLM.beam_search`` with ``BeamSearchParams`` (beam
  width, ``max_tokens``, the generation config's ``length_penalty``);
  deterministic (temperature 0) unless sampling is on;
* ``num_beams == 1``: ``LLM.generate`` with ``SamplingParams``: greedy
  (temperature 0) unless sampling is on, in which case the generation config's
  temperature/top-p/top-k/min-p apply (Qwen3 ships ``do_sample: true``);
* ``do_sample=None`` reads ``do_sample`` from the model's ``generation_config.json``,
  as ``model.generate`` does; repetition penalties apply either way.

The argument builders (:func:`llm_kwargs`, :func:`sampling_kwargs`,
:func:`beam_kwargs`) are plain functions tested without vLLM; vLLM itself is
imported only when an engine is built (it needs a CUDA GPU).
"""

from __future__ import annotations

from typing import Any, Optional

from lmt.generation.base import clean_output, special_tokens_to_remove

SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty")
"""Generation-config fields that ``SamplingParams`` takes under the same name."""


def generation_defaults(model_path: str, trust_remote_code: bool = False) -> dict:
    """The model's ``generation_config.json`` as a dict (empty when it has none)."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model_path, trust_remote_code=trust_remote_code).to_dict()
    except OSError:
        return {}


def wants_sampling(do_sample: Optional[bool], defaults: dict) -> bool:
    """``do_sample`` as ``model.generate`` resolves it: the setting, else the generation config's."""
    return bool(defaults.get("do_sample", False)) if do_sample is None else do_sample


def llm_kwargs(
    model_path: str, tokenizer_path: Optional[str], *, dtype: str, trust_remote_code: bool,
    gpu_memory_utilization: float, tensor_parallel_size: int, seed: int = 0,
) -> dict:
    """Keyword arguments of ``vllm.LLM`` (0.33) for a model directory or hub id."""
    return {
        "model": model_path,
        "tokenizer": tokenizer_path or model_path,
        "dtype": dtype,
        "trust_remote_code": trust_remote_code,
        "gpu_memory_utilization": gpu_memory_utilization,
        "tensor_parallel_size": tensor_parallel_size,
        "seed": seed,
    }


def sampling_kwargs(defaults: dict, do_sample: Optional[bool], max_new_tokens: int) -> dict:
    """Keyword arguments of ``vllm.SamplingParams`` for one-sequence decoding (see module docs)."""
    kwargs: dict[str, Any] = {"max_tokens": max_new_tokens, "skip_special_tokens": True}
    if wants_sampling(do_sample, defaults):
        kwargs.update({k: defaults[k] for k in SAMPLING_KEYS if defaults.get(k) is not None})
        kwargs.setdefault("temperature", 1.0)
    else:
        kwargs["temperature"] = 0.0
        if defaults.get("repetition_penalty") is not None:
            kwargs["repetition_penalty"] = defaults["repetition_penalty"]
    return kwargs


def beam_kwargs(defaults: dict, do_sample: Optional[bool], num_beams: int, max_new_tokens: int) -> dict:
    """Keyword arguments of ``vllm.sampling_params.BeamSearchParams`` (see module docs)."""
    kwargs: dict[str, Any] = {
        "beam_width": num_beams,
        "max_tokens": max_new_tokens,
        "length_penalty": float(defaults.get("length_penalty") or 1.0),
        "temperature": 0.0,
    }
    if wants_sampling(do_sample, defaults):
        kwargs["temperature"] = float(defaults.get("temperature") or 1.0)
    return kwargs


class VLLMEngine:
    """Translate with vLLM (``pip install 'lmt[vllm]'``; needs a CUDA GPU)."""

    def __init__(
        self,
        model_path: str,
        tokenizer_path: Optional[str] = None,
        *,
        num_beams: int = 5,
        max_new_tokens: int = 512,
        do_sample: Optional[bool] = None,
        dtype: str = "auto",
        trust_remote_code: bool = False,
        strip: bool = False,
        gpu_memory_utilization: float = 0.9,
        tensor_parallel_size: int = 1,
    ) -> None:
        from vllm import LLM

        from lmt.modeling import load_tokenizer

        self.tokenizer = load_tokenizer(tokenizer_path or model_path, trust_remote_code)
        self.llm = LLM(
            **llm_kwargs(
                model_path, tokenizer_path, dtype=dtype, trust_remote_code=trust_remote_code,
                gpu_memory_utilization=gpu_memory_utilization, tensor_parallel_size=tensor_parallel_size,
            )
        )
        self.defaults = generation_defaults(model_path, trust_remote_code)
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens
        self.do_sample = do_sample
        self.strip = strip
        self.remove = special_tokens_to_remove(self.tokenizer)
        self.calls = 0

    def generate(self, prompts: list[str], desc: str = "") -> list[str]:
        """Translate rendered prompts; outputs in input order."""
        from vllm.inputs import TokensPrompt

        self.calls += 1
        if not prompts:
            return []
        ids = self.tokenizer(prompts, add_special_tokens=True)["input_ids"]
        inputs = [TokensPrompt(prompt_token_ids=list(x)) for x in ids]
        if self.num_beams > 1:
            from vllm.sampling_params import BeamSearchParams

            params = BeamSearchParams(**beam_kwargs(self.defaults, self.do_sample, self.num_beams, self.max_new_tokens))
            results = self.llm.beam_search(inputs, params, use_tqdm=True)
            # A beam's tokens are prompt + continuation: keep the continuation.
            new_tokens = [r.sequences[0].tokens[len(x) :] for r, x in zip(results, ids)]
        else:
            from vllm import SamplingParams

            params = SamplingParams(**sampling_kwargs(self.defaults, self.do_sample, self.max_new_tokens))
            results = self.llm.generate(inputs, params, use_tqdm=True)
            new_tokens = [list(r.outputs[0].token_ids) for r in results]
        texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        return [clean_output(t, self.remove, strip=self.strip) for t in texts]
