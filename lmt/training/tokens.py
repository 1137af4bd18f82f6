"""Token ids and loss masks for SFT and CPT examples.

SFT: prompt and response are tokenised separately and concatenated, so the loss
mask is exact: ``labels`` equal the token ids on the response (the translation
plus the end-of-turn) and ``-100`` on every prompt token. CPT: every token of a
document has loss; an end-of-sequence token closes each document.
"""

from __future__ import annotations

from typing import Any

IGNORE_INDEX = -100


def sft_token_batch(tokenizer: Any, prompts: list[str], fulls: list[str], max_length: int) -> dict[str, list]:
    """Tokenise a batch of SFT examples.

    Args:
        prompts: prompt texts (what the model sees before answering).
        fulls: full texts, each starting with its prompt.
        max_length: examples longer than this are dropped (``input_ids`` empty):
            cutting a translation short would teach the model to stop mid-sentence.

    Returns:
        ``{"input_ids": [...], "labels": [...]}`` lists of lists.
    """
    responses = []
    for p, f in zip(prompts, fulls):
        if not f.startswith(p):
            raise ValueError("full text must start with the prompt")
        responses.append(f[len(p):])
    p_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    r_ids = tokenizer(responses, add_special_tokens=False)["input_ids"]
    input_ids, labels = [], []
    for p, r in zip(p_ids, r_ids):
        ids = list(p) + list(r)
        if len(ids) > max_length or not r:
            input_ids.append([])
            labels.append([])
            continue
        input_ids.append(ids)
        labels.append([IGNORE_INDEX] * len(p) + list(r))
    return {"input_ids": input_ids, "labels": labels}


def cpt_token_batch(tokenizer: Any, texts: list[str], add_eos: bool = True) -> dict[str, list]:
    """Tokenise CPT documents (all tokens carry loss; EOS appended)."""
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    if add_eos and eos is not None:
        ids = [list(x) + [eos] for x in ids]
    return {"input_ids": [list(x) for x in ids], "labels": [list(x) for x in ids]}
