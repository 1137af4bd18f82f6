"""vLLM engine for GPUs: same prompts and cleaning as the HF engine.

vLLM schedules its own batches (continuous batching), so ``batch_size`` and
length sorting do not apply. Beam search goes through ``LLM.beam_search``;
greedy/sampling through ``LLM.generate``. Not exercised by the CPU test suite.
"""

from __future__ import annotations

from typing import Optional

from lmt.generation.base import clean_output, special_tokens_to_remove


class VLLMEngine:
    """Translate with vLLM (``pip install vllm``; needs a CUDA GPU)."""

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

        self.llm = LLM(
            model=model_path,
            tokenizer=tokenizer_path or model_path,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            gpu_memory_utilization=gpu_memory_utilization,
            tensor_parallel_size=tensor_parallel_size,
            seed=0,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens
        self.do_sample = do_sample
        self.strip = strip
        self.remove = special_tokens_to_remove(self.tokenizer)
        self.calls = 0

    def generate(self, prompts: list[str], desc: str = "") -> list[str]:
        """Translate rendered prompts; outputs in input order."""
        self.calls += 1
        if not prompts:
            return []
        if self.num_beams > 1:
            from vllm.inputs import TokensPrompt
            from vllm.sampling_params import BeamSearchParams

            ids = [self.tokenizer(p)["input_ids"] for p in prompts]
            results = self.llm.beam_search(
                [TokensPrompt(prompt_token_ids=x) for x in ids],
                BeamSearchParams(beam_width=self.num_beams, max_tokens=self.max_new_tokens),
            )
            # Beam sequences hold prompt + continuation tokens: decode the continuation only.
            texts = [
                self.tokenizer.decode(r.sequences[0].tokens[len(x) :], skip_special_tokens=True)
                for r, x in zip(results, ids)
            ]
        else:
            from vllm import SamplingParams

            params = SamplingParams(max_tokens=self.max_new_tokens, temperature=1.0 if self.do_sample else 0.0)
            results = self.llm.generate(prompts, params, use_tqdm=True)
            texts = [r.outputs[0].text for r in results]
        return [clean_output(t, self.remove, strip=self.strip) for t in texts]
