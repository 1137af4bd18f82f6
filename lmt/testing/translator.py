"""A tiny Qwen3 model that has learnt a few translations by heart (tests, benchmarks).

A random tiny model emits noise, so code that checks what a translation looks
like (language ID, script, copies of the source) has nothing real to bite on.
:func:`build_tiny_translator` trains the tiny configuration of
:func:`lmt.modeling.build_qwen3_model` on the given pairs, rendered with the
project's prompt (:mod:`lmt.prompts`), until greedy decoding reproduces each
target: a real model, translating real prompts, in seconds on one CPU core.
Sentences it has not seen come out as noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from lmt.prompts import build_training_text, get_template


def build_tiny_translator(
    tokenizer_dir: "str | Path",
    pairs: Iterable[tuple[str, str, str, str]],
    out_dir: "str | Path",
    *,
    template: str = "released",
    steps: int = 80,
    learning_rate: float = 1e-2,
    hidden_size: int = 64,
    seed: int = 0,
) -> str:
    """Train and save a tiny translator; returns ``out_dir``.

    Args:
        tokenizer_dir: tokenizer with a chat template (e.g. from
            :func:`lmt.modeling.train_tokenizer`).
        pairs: ``(src_lang, tgt_lang, src, tgt)`` to learn.
        out_dir: where the model and tokenizer are saved.
        template: prompt template the pairs are rendered with.
        steps: full-batch optimizer steps.
        learning_rate: AdamW learning rate.
        hidden_size: model width (2 layers).
        seed: initialisation seed.
    """
    import torch
    from transformers import AutoTokenizer

    from lmt.modeling import build_qwen3_model

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    model = build_qwen3_model(
        tok, hidden_size=hidden_size, num_attention_heads=4, num_key_value_heads=2, intermediate_size=2 * hidden_size, seed=seed
    )
    rows = []
    for src_lang, tgt_lang, src, tgt in pairs:
        user = get_template(template).render(src_lang, tgt_lang, src)
        prompt, full = build_training_text(tok, user, tgt)
        n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
        ids = tok(full, add_special_tokens=False)["input_ids"]
        rows.append((ids, [-100] * n_prompt + ids[n_prompt:]))
    width = max(len(ids) for ids, _ in rows)
    pad = tok.pad_token_id
    input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in rows])
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in rows])
    opt = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.0)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return str(out_dir)
