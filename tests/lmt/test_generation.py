"""Generation engines: cleaning as the released code, length-sorted batching."""

from __future__ import annotations

import pytest

from lmt.generation import HFEngine, batch_order, clean_output, special_tokens_to_remove
from lmt.prompts import render_prompt


def render(tokenizer, template: str, src_lang: str, tgt_lang: str, src: str) -> str:
    return render_prompt(tokenizer, template, src_lang, tgt_lang, src).prompt


def test_clean_output_like_released_code():
    remove = ["<unk>", "</s>", "<pad>", "\n", "<|im_end|>", "<|endoftext|>"]
    assert clean_output("Hallo\nWelt<|im_end|>", remove) == "HalloWelt"  # newlines deleted, not spaced
    assert clean_output("\n\n<|endoftext|>", remove) == "#"
    assert clean_output("   \t", remove) == "#"
    assert clean_output(" Hallo ", remove) == " Hallo "  # the released code does not strip
    assert clean_output(" Hallo ", remove, strip=True) == "Hallo"


def test_batch_order():
    lengths = [3, 9, 1, 9, 5]
    assert batch_order(lengths, 2, sort_by_length=False) == [[0, 1], [2, 3], [4]]
    assert batch_order(lengths, 2) == [[1, 3], [4, 0], [2]]  # longest first, ties stable


def test_special_tokens_to_remove(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    remove = special_tokens_to_remove(tok)
    assert remove[:4] == ["<unk>", "</s>", "<pad>", "\n"]
    assert "<|im_end|>" in remove and "<|endoftext|>" in remove


def test_tiny_model_generation_sorted_equals_input_order(varied_model_dir, tiny_model_dir, parallel_text):
    eng = HFEngine(varied_model_dir, num_beams=2, max_new_tokens=6, batch_size=3)
    prompts = [render(eng.tokenizer, "released", "en", "de", s) for s in parallel_text["eng_Latn"][:5]]
    sorted_out = eng.generate(prompts)
    eng.sort_by_length = False
    plain_out = eng.generate(prompts)
    assert sorted_out == plain_out and eng.calls == 2
    assert len(sorted_out) == 5 and len(set(sorted_out)) > 1
    assert all("\n" not in o and o for o in sorted_out)
    # The shared tiny model emits only newlines: every output is cleaned to "#".
    blank = HFEngine(tiny_model_dir, num_beams=1, max_new_tokens=4, batch_size=4)
    assert blank.generate(prompts[:2]) == ["#", "#"]


def test_vllm_engine_refused_without_gpu():
    from lmt.generation import make_engine, vllm_usable
    from lmt.config.eval import EvalConfig
    from lmt.errors import ConfigError

    if vllm_usable():
        pytest.skip("a GPU with vLLM is present")
    with pytest.raises(ConfigError, match="vllm needs the vllm package and a CUDA GPU"):
        make_engine(EvalConfig(engine="vllm"), "unused")
