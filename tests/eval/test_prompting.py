"""Evaluation prompts: the released LMT-60 chat call and the PMP form."""

from __future__ import annotations

from eval.prompting import render
from lmt.generation import special_tokens_to_remove


def test_released_prompt_is_the_reference_chat_call(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    text = render(tok, "released", "en", "ky", "The cat sleeps.")
    user = "Translate the following text from English into Kirghiz:\nEnglish: The cat sleeps.\nKirghiz:"
    assert text == tok.apply_chat_template([{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    pmp = render(tok, "pmp", "en", "ky", "The cat sleeps.", aux_lang="ru", aux="Кошка спит.", use_chat_template=False)
    assert pmp == "Translate this from English to Russian and Kirghiz:\nEnglish: The cat sleeps.\nRussian: Кошка спит.\nKirghiz:"
    assert special_tokens_to_remove(tok)[:4] == ["<unk>", "</s>", "<pad>", "\n"]
