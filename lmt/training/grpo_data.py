"""GRPO prompts: the SFT prompts of the SFT data, with their references.

Each record of the SFT data (reverse directions already downsampled by prep,
then ``reverse_keep`` as in SFT) gets the STP or PMP prompt exactly as SFT
chooses it (:func:`lmt.training.pmp.choose_prompt`: same seed, same shares),
rendered through the template and the tokenizer's chat template with the
generation prompt; the model writes the target. ``max_prompts`` keeps a
hash-chosen subset (independent of worker counts); prompts that leave no room
for ``max_completion_length`` new tokens are dropped and counted.

Columns: ``prompt`` (rendered text), ``source``, ``reference``, ``src_lang``,
``tgt_lang``, ``kind`` (``stp``/``pmp``). TRL passes every column but
``prompt`` to the reward function.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from lmt.aux_map import AuxMap
from lmt.errors import DataError
from lmt.languages import Direction
from lmt.prompts import get_template, render_prompt
from lmt.training.pmp import choose_prompt, unit_hash


@dataclass
class GRPOPrompts:
    """The prompt set of a GRPO run.

    Attributes:
        dataset: ``datasets.Dataset`` with the columns of the module docs.
        stats: counts (records, prompts by kind and direction, drops).
    """

    dataset: Any
    stats: dict


def _render(batch, tokenizer, template_name, use_chat_template, aux_map, seed, pmp):
    template = get_template(template_name, use_chat_template)
    out = collections.defaultdict(list)
    for i in range(len(batch["src"])):
        rec = {k: batch[k][i] for k in batch}
        kind, aux_lang, aux, _ = choose_prompt(rec, aux_map, seed, pmp["forward_share"], pmp["reverse_share"], pmp["enabled"])
        # The one renderer SFT uses: the same prompt string as training saw.
        prompt = render_prompt(
            tokenizer, template, rec["src_lang"], rec["tgt_lang"], rec["src"], aux_lang=aux_lang, aux=aux
        ).prompt
        out["prompt"].append(prompt)
        out["n_prompt_tokens"].append(len(tokenizer(prompt, add_special_tokens=False)["input_ids"]))
        out["source"].append(rec["src"])
        out["reference"].append(rec["tgt"])
        out["src_lang"].append(rec["src_lang"])
        out["tgt_lang"].append(rec["tgt_lang"])
        out["kind"].append(kind)
    return dict(out)


def build_grpo_prompts(
    data_dir: "str | Path",
    tokenizer: Any,
    *,
    aux_map: AuxMap,
    seed: int,
    template: str = "pmp",
    use_chat_template: bool = True,
    pmp: Optional[dict] = None,
    reverse_keep: float = 1.0,
    max_prompts: Optional[int] = None,
    max_prompt_tokens: int = 768,
    num_proc: int = 1,
) -> GRPOPrompts:
    """The GRPO prompt set (see module docs).

    Raises:
        DataError: no data, or no prompt short enough.
    """
    from lmt.datafiles import load_parallel

    pmp = dict(pmp or {"enabled": True, "forward_share": 0.5, "reverse_share": 0.5})
    if get_template(template).pmp_header is None:
        pmp["enabled"] = False
    records = load_parallel(data_dir)
    n_records = len(records)
    if n_records == 0:
        raise DataError(f"{data_dir}: the parallel shards hold no records (empty prep output)")
    for col in ("aux_lang", "aux"):
        if col not in records.column_names:
            records = records.add_column(col, [None] * n_records)
    keys = [
        (unit_hash(seed, "reverse_keep", s, t, a, b), unit_hash(seed, "grpo_prompt", s, t, a, b), Direction(s, t).is_reverse)
        for s, t, a, b in zip(records["src_lang"], records["tgt_lang"], records["src"], records["tgt"])
    ]
    keep = [i for i, (rk, _, rev) in enumerate(keys) if not rev or rk < reverse_keep]
    dropped_reverse = n_records - len(keep)
    if max_prompts is not None and len(keep) > max_prompts:
        keep = sorted(sorted(keep, key=lambda i: keys[i][1])[:max_prompts])
    sampled_out = n_records - dropped_reverse - len(keep)
    records = records.select(keep)
    ds = records.map(
        _render,
        batched=True,
        remove_columns=records.column_names,
        fn_kwargs=dict(
            tokenizer=tokenizer, template_name=template, use_chat_template=use_chat_template, aux_map=aux_map, seed=seed, pmp=pmp
        ),
        num_proc=num_proc if num_proc > 1 and len(records) >= 2 * num_proc else None,
        desc="render GRPO prompts",
    )
    lengths = np.asarray(ds["n_prompt_tokens"], dtype=np.int64)
    fits = np.nonzero(lengths <= max_prompt_tokens)[0]
    if len(fits) == 0:
        raise DataError(f"{data_dir}: every GRPO prompt is longer than {max_prompt_tokens} tokens (max_length - max_completion_length)")
    ds = ds.select(fits).remove_columns(["n_prompt_tokens"])
    stats = {
        "records": n_records,
        "prompts": len(ds),
        "dropped_reverse_keep": dropped_reverse,
        "dropped_max_prompts": sampled_out,
        "dropped_too_long": int(len(lengths) - len(fits)),
        "kinds": dict(collections.Counter(ds["kind"])),
        "directions": dict(sorted(collections.Counter(f"{s}-{t}" for s, t in zip(ds["src_lang"], ds["tgt_lang"])).items())),
        "max_prompt_tokens": int(lengths[fits].max()),
    }
    return GRPOPrompts(ds, stats)
