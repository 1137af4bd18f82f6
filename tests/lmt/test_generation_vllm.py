"""vLLM engine without vLLM: the arguments it builds for vLLM 0.33, and its token handling against a fake LLM."""

from __future__ import annotations

import sys
import types

from lmt.generation.vllm_engine import VLLMEngine, beam_kwargs, generation_defaults, llm_kwargs, sampling_kwargs

QWEN3_GENERATION = {"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 20, "repetition_penalty": 1.05}


def test_llm_arguments():
    kw = llm_kwargs("m", None, dtype="bfloat16", trust_remote_code=False, gpu_memory_utilization=0.8, tensor_parallel_size=2)
    assert kw == {
        "model": "m", "tokenizer": "m", "dtype": "bfloat16", "trust_remote_code": False,
        "gpu_memory_utilization": 0.8, "tensor_parallel_size": 2, "seed": 0,
    }
    assert llm_kwargs("m", "t", dtype="auto", trust_remote_code=True, gpu_memory_utilization=0.9, tensor_parallel_size=1)["tokenizer"] == "t"


def test_sampling_follows_the_generation_config_like_hf_generate():
    assert sampling_kwargs({}, None, 64) == {"max_tokens": 64, "skip_special_tokens": True, "temperature": 0.0}
    sampled = sampling_kwargs(QWEN3_GENERATION, None, 64)
    assert sampled == {
        "max_tokens": 64, "skip_special_tokens": True, "temperature": 0.6, "top_p": 0.95, "top_k": 20, "repetition_penalty": 1.05,
    }
    greedy = sampling_kwargs(QWEN3_GENERATION, False, 8)
    assert greedy == {"max_tokens": 8, "skip_special_tokens": True, "temperature": 0.0, "repetition_penalty": 1.05}
    assert sampling_kwargs({}, True, 8)["temperature"] == 1.0


def test_beam_search_arguments():
    assert beam_kwargs({}, None, 5, 256) == {"beam_width": 5, "max_tokens": 256, "length_penalty": 1.0, "temperature": 0.0}
    assert beam_kwargs({**QWEN3_GENERATION, "length_penalty": 0.8}, False, 4, 9)["length_penalty"] == 0.8
    assert beam_kwargs(QWEN3_GENERATION, None, 5, 9)["temperature"] == 0.6


def test_generation_defaults_read_the_model_dir(tmp_path):
    from transformers import GenerationConfig

    assert generation_defaults(str(tmp_path)) == {}
    GenerationConfig(do_sample=True, temperature=0.7, top_k=20).save_pretrained(tmp_path)
    got = generation_defaults(str(tmp_path))
    assert got["do_sample"] is True and got["temperature"] == 0.7 and got["top_k"] == 20


class _FakeLLM:
    """The slice of vllm.LLM (0.33) the engine calls; continuations are fixed token lists."""

    continuation: list[int] = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls: list = []

    def generate(self, prompts, sampling_params=None, *, use_tqdm=True, **_):
        self.calls.append(("generate", prompts, sampling_params))
        done = types.SimpleNamespace(token_ids=tuple(self.continuation), text="ignored: the engine decodes itself")
        return [types.SimpleNamespace(outputs=[done]) for _ in prompts]

    def beam_search(self, prompts, params, lora_request=None, use_tqdm=False, **_):
        self.calls.append(("beam_search", prompts, params))
        return [
            types.SimpleNamespace(sequences=[types.SimpleNamespace(tokens=list(p["prompt_token_ids"]) + self.continuation)])
            for p in prompts
        ]


def _fake_vllm(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.LLM = _FakeLLM
    vllm.SamplingParams = lambda **kw: ("SamplingParams", kw)
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = lambda prompt_token_ids: {"prompt_token_ids": prompt_token_ids}
    sp = types.ModuleType("vllm.sampling_params")
    sp.BeamSearchParams = lambda **kw: ("BeamSearchParams", kw)
    for name, mod in (("vllm", vllm), ("vllm.inputs", inputs), ("vllm.sampling_params", sp)):
        monkeypatch.setitem(sys.modules, name, mod)


def test_engine_sends_token_prompts_and_decodes_only_the_continuation(monkeypatch, tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    _fake_vllm(monkeypatch)
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    _FakeLLM.continuation = tok("Die Katze schläft.", add_special_tokens=False)["input_ids"] + [tok.convert_tokens_to_ids("<|im_end|>")]
    prompts = ["The cat sleeps on the warm windowsill.", "Good morning."]
    for beams, call in ((5, "beam_search"), (1, "generate")):
        eng = VLLMEngine(tiny_tokenizer_dir, num_beams=beams, max_new_tokens=12, strip=True)
        assert eng.llm.kwargs["model"] == tiny_tokenizer_dir
        assert eng.generate(prompts) == ["Die Katze schläft.", "Die Katze schläft."]
        name, sent, params = eng.llm.calls[0]
        assert name == call
        assert [p["prompt_token_ids"] for p in sent] == tok(prompts)["input_ids"]
        assert params[1]["max_tokens"] == 12
        assert eng.generate([]) == [] and eng.calls == 2
