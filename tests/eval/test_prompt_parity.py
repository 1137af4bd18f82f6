"""Training (SFT), selection (MIWV) and evaluation render byte-identical prompts.

Every template, every direction group (en2x, x2en, zh2x, x2zh), STP and PMP,
chat template on and off: the evaluation prompt must be exactly the text (and the
tokens) before the response in the SFT example and in the MIWV sequence.
"""

from __future__ import annotations

import pytest

from data_prep.selection.miwv import encode
from eval.prompting import render_many
from lmt.aux_map import AuxMap
from lmt.prompts import TEMPLATES, get_template
from lmt.training.data import _sft_map
from lmt.training.pmp import render_sft_example

# Qwen3's chat-template behaviour in small: the generation prompt opens an empty
# thinking block only when enable_thinking is false; the last assistant turn
# always carries one.
QWEN3_LIKE = (
    "{%- for m in messages %}"
    "{%- if m.role == 'assistant' and loop.last %}"
    "{{ '<|im_start|>assistant\n<think>\n\n</think>\n\n' + m.content + '<|im_end|>\n' }}"
    "{%- else %}{{ '<|im_start|>' + m.role + '\n' + m.content + '<|im_end|>\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{ '<think>\n\n</think>\n\n' }}{%- endif %}"
    "{%- endif %}"
)

GROUPS = {
    "en2x": ("eng_Latn", "kir_Cyrl"),
    "x2en": ("kir_Cyrl", "eng_Latn"),
    "zh2x": ("zho_Hans", "kir_Cyrl"),
    "x2zh": ("kir_Cyrl", "zho_Hans"),
}


@pytest.fixture(scope="module")
def qwen3_tok(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    tok.chat_template = QWEN3_LIKE
    return tok


def _cases():
    for name, tpl in sorted(TEMPLATES.items()):
        for group in GROUPS:
            for kind in ("stp", "pmp") if tpl.pmp_header else ("stp",):
                for chat in (None, False):
                    yield name, group, kind, chat


@pytest.mark.parametrize("name,group,kind,chat", list(_cases()))
def test_training_selection_and_eval_prompts_identical(qwen3_tok, parallel_text, name, group, kind, chat):
    src_lang, tgt_lang = GROUPS[group]
    aux_lang = AuxMap.load().aux_language(src_lang, tgt_lang) if kind == "pmp" else None
    assert (aux_lang is None) == (kind == "stp")
    i = 2
    rec = {"src_lang": src_lang, "tgt_lang": tgt_lang, "src": parallel_text[src_lang][i], "tgt": parallel_text[tgt_lang][i]}
    aux = parallel_text[aux_lang][i] if aux_lang else None
    # Training: each stage reads its own use_chat_template (train/select default
    # true); the eval default (None) is the template's own definition.
    train_chat = True if chat is None else chat

    (evaluated,) = render_many(
        qwen3_tok, name, src_lang, tgt_lang, [rec["src"]], aux_lang=aux_lang, aux=[aux] if aux else None, use_chat_template=chat
    )
    prompt, full = render_sft_example(rec, get_template(name), qwen3_tok, train_chat, aux_lang, aux)
    assert prompt == evaluated
    assert full.startswith(evaluated) and rec["tgt"] in full[len(evaluated):]

    # The SFT map of the data pipeline: tokens without loss == the eval prompt's tokens.
    batch = {k: [v] for k, v in rec.items()} | {"aux_lang": [aux_lang], "aux": [aux]}
    share = 1.0 if kind == "pmp" else 0.0
    pmp = {"enabled": True, "forward_share": share, "reverse_share": share}
    out = _sft_map(batch, qwen3_tok, name, train_chat, AuxMap.load(), 0, pmp, 4096)
    assert out["kind"] == [kind]
    ids, labels = out["input_ids"][0], out["labels"][0]
    n_prompt = sum(1 for x in labels if x == -100)
    assert ids[:n_prompt] == qwen3_tok(evaluated, add_special_tokens=False)["input_ids"]
    # The engine tokenises with the tokenizer's defaults (as the released code does).
    assert qwen3_tok(evaluated)["input_ids"] == ids[:n_prompt]

    # Selection (MIWV): the scored sequence starts with the same prompt tokens.
    if kind == "stp":
        user = get_template(name).render(src_lang, tgt_lang, rec["src"])
        seq, n_resp = encode(qwen3_tok, user, rec["tgt"], train_chat, 4096, name)
        assert seq[: len(seq) - n_resp] == ids[:n_prompt]


def test_chat_arguments_belong_to_the_template(qwen3_tok):
    released = render_many(qwen3_tok, "released", "en", "zh", ["Hi."])[0]
    paper = render_many(qwen3_tok, "stp", "en", "zh", ["Hi."])[0]
    # The released code calls apply_chat_template without enable_thinking.
    assert released.endswith("Chinese:<|im_end|>\n<|im_start|>assistant\n")
    assert paper.endswith("Chinese:<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
    raw = render_many(qwen3_tok, "stp", "en", "zh", ["Hi."], use_chat_template=False)[0]
    assert raw == "Translate this from English to Chinese:\nEnglish: Hi.\nChinese:"
    assert get_template("released").strip_output is False and get_template("stp").strip_output is True
