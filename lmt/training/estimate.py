"""The plan of ``lmt train cpt|sft CONFIG --dry-run``, from a sample of the data.

Nothing heavy: counts come from Parquet metadata, token lengths and prompt
kinds from the first ``SAMPLE`` records of every direction (and monolingual
language), rendered and tokenised exactly as training does. No model weights
are loaded; the tokenizer is (``train.model.tokenizer``, else the starting
model's). When it cannot be loaded (a hub id offline, or a tiny model that
``lmt train init`` has not built yet) token counts fall back to ~1 token per 3
UTF-8 bytes (plus 10 per SFT example for the chat template), and the plan says so.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import numpy as np

from lmt.config import ExperimentConfig
from lmt.datafiles import mono_shards, parallel_shards
from lmt.languages import Direction
from lmt.training.plan import TrainingPlan, mixture_warnings, pmp_group_shares, pmp_warnings, stage_steps
from lmt.training.stage import StagePaths
from lmt.training.tokens import IGNORE_INDEX

SAMPLE = 1000
SIM_STEPS = 16
CHAT_OVERHEAD = 10


def _rows(files: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _head(files: list[Path], n: int, columns: Optional[list[str]] = None) -> dict[str, list]:
    """The first ``n`` records of a list of shards, as columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    batches = []
    left = n
    for f in files:
        pf = pq.ParquetFile(f)
        cols = [c for c in (columns or pf.schema_arrow.names) if c in pf.schema_arrow.names]
        for b in pf.iter_batches(batch_size=min(left, 10_000), columns=cols):
            batches.append(b.slice(0, left))
            left -= min(left, b.num_rows)
            if not left:
                break
        if not left:
            break
    if not batches:
        return {}
    return pa.Table.from_batches(batches).to_pydict()


def plan_tokenizer(cfg: ExperimentConfig, paths: StagePaths) -> tuple[Any, str]:
    """``(tokenizer or None, how tokens are counted)`` for a dry run (see module docs)."""
    from lmt.modeling import load_tokenizer

    model = cfg.train.model
    candidates = [model.tokenizer] if model.tokenizer else [paths.init_from, model.path]
    for src in [c for c in candidates if c]:
        if src.startswith((".", "/", "~")) and not Path(src).expanduser().is_dir():
            continue
        try:
            return load_tokenizer(src, trust_remote_code=model.trust_remote_code), f"tokens counted with the tokenizer of {src}"
        except Exception:  # offline hub id, no local copy: fall back below
            continue
    return None, (
        "no tokenizer available (set train.model.tokenizer to a local copy): tokens estimated at ~1 per 3 UTF-8 bytes"
    )


def _sft_sample(files: list[Path], cfg, sft, aux_map, tokenizer, pmp: dict) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Lengths, loss tokens and prompt reasons of the first records of one direction."""
    from lmt.prompts import get_template
    from lmt.training.data import _sft_map
    from lmt.training.pmp import choose_prompt

    batch = _head(files, SAMPLE)
    n = len(batch.get("src", []))
    for col in ("aux_lang", "aux"):
        batch.setdefault(col, [None] * n)
    if tokenizer is not None:
        out = _sft_map(batch, tokenizer, sft.template, sft.use_chat_template, aux_map, cfg.seed, pmp, sft.max_length)
        lengths = np.array([len(x) for x in out["input_ids"]], dtype=np.int64)
        loss = np.array([sum(1 for y in lab[1:] if y != IGNORE_INDEX) for lab in out["labels"]], dtype=np.int64)
        return lengths, loss, list(out["why"])
    template = get_template(sft.template)
    lengths, loss, whys = [], [], []
    for i in range(n):
        rec = {k: batch[k][i] for k in batch}
        _, aux_lang, aux, why = choose_prompt(rec, aux_map, cfg.seed, pmp["forward_share"], pmp["reverse_share"], pmp["enabled"])
        prompt = template.render(rec["src_lang"], rec["tgt_lang"], rec["src"], aux_lang=aux_lang, aux=aux)
        resp = len(rec["tgt"].encode("utf-8")) // 3 + 2
        total = len(prompt.encode("utf-8")) // 3 + CHAT_OVERHEAD + resp
        lengths.append(total if total <= sft.max_length else 0)
        loss.append(resp if total <= sft.max_length else 0)
        whys.append(why)
    return np.array(lengths, dtype=np.int64), np.array(loss, dtype=np.int64), whys


def sft_dry_plan(cfg: ExperimentConfig, paths: StagePaths, world: int) -> TrainingPlan:
    """The SFT plan estimated from the data's metadata and a sample (see module docs)."""
    from lmt.aux_map import AuxMap
    from lmt.prompts import get_template
    from lmt.training.packing import pack_sft

    sft = cfg.train.sft
    tokenizer, how = plan_tokenizer(cfg, paths)
    pmp = sft.pmp.model_dump()
    if get_template(sft.template).pmp_header is None:
        pmp["enabled"] = False
    aux_map = AuxMap.load(cfg.aux_map)
    shards = parallel_shards(paths.data_dir)
    examples = tokens = loss_tokens = 0.0
    reasons: dict[str, dict[str, int]] = {}
    pool, weights = [], []
    sampled = exact = 0
    for d, files in sorted(shards.items(), key=lambda kv: str(kv[0])):
        n = _rows(files)
        lengths, loss, whys = _sft_sample(files, cfg, sft, aux_map, tokenizer, pmp)
        if not len(lengths):
            continue
        k = len(lengths)
        sampled += k
        exact += k == n
        scale = n / k * (sft.reverse_keep if d.is_reverse else 1.0)  # SFT's own extra reverse downsampling, in expectation
        fits = lengths > 0
        examples += fits.sum() * scale
        tokens += lengths[fits].sum() * scale
        loss_tokens += loss[fits].sum() * scale
        r: dict[str, int] = {}
        for w in whys:
            r[w] = r.get(w, 0) + 1
        reasons[str(d)] = {w: int(round(c * scale)) for w, c in r.items()}
        pool.append(lengths[fits])
        weights.append(np.full(int(fits.sum()), scale))
    units = int(round(examples))
    steps = stage_steps(sft, units / sft.global_batch_size)
    lens, p = np.concatenate(pool), np.concatenate(weights)
    rng = np.random.default_rng(cfg.seed)
    rows = [len(pack_sft(rng.choice(lens, size=sft.global_batch_size, p=p / p.sum()), sft.max_length, seed=i)) for i in range(SIM_STEPS)]
    prompts = pmp_group_shares(reasons)
    warnings = pmp_warnings(prompts, {"forward": pmp["forward_share"] if pmp["enabled"] else 0.0, "reverse": pmp["reverse_share"] if pmp["enabled"] else 0.0})
    source = f"estimated for a dry run: counts from Parquet metadata, lengths and prompts from {sampled:,} sampled records ({how})"
    return TrainingPlan(
        stage="sft", unit="examples", units=units, tokens=tokens, loss_tokens=loss_tokens, per_step=sft.global_batch_size,
        rows_per_step=(float(np.mean(rows)), int(max(rows))), max_length=sft.max_length, world=world,
        micro_batch=sft.micro_batch_size, grad_accum=max(1, math.ceil(max(rows) / (sft.micro_batch_size * world))),
        steps=steps, prompts=prompts, source=source, warnings=warnings,
    )


def cpt_dry_plan(cfg: ExperimentConfig, paths: StagePaths, world: int) -> TrainingPlan:
    """The CPT plan (mixture shares in tokens, steps) from metadata and a sample (see module docs)."""
    from lmt.training.data import plan_cpt_mixture, token_counter
    from lmt.training.mixing import PARTS, cpt_directions, part_of, render_pair
    from lmt.training.stage import cpt_reads_pairs_once, language_weights

    cpt = cfg.train.cpt
    tokenizer, how = plan_tokenizer(cfg, paths)
    counts: dict[str, dict[str, int]] = {p: {} for p in PARTS}
    samples: dict[str, dict[str, list[str]]] = {p: {} for p in PARTS}
    shards = parallel_shards(paths.data_dir)
    for d in cpt_directions(sorted(shards, key=str), cpt_reads_pairs_once(cfg)):
        part, lang = part_of(d.src, d.tgt), Direction(d.src, d.tgt).other
        counts[part][lang] = counts[part].get(lang, 0) + _rows(shards[d])
        head = _head(shards[d], SAMPLE, ["src_lang", "tgt_lang", "src", "tgt"])
        docs = [render_pair({k: head[k][i] for k in head}, cfg.seed, cpt.reverse_share) for i in range(len(head.get("src", [])))]
        samples[part].setdefault(lang, []).extend(docs)
    for lang, files in mono_shards(paths.data_dir).items():
        counts["monolingual"][lang] = _rows(files)
        samples["monolingual"][lang] = _head(files, SAMPLE, ["text"]).get("text", [])
    _, expected = plan_cpt_mixture(
        samples, counts, token_counter(tokenizer), cpt.mix.model_dump(), cpt.language_alpha, language_weights(cpt, cfg.source), cpt.total_tokens
    )
    mixture = {p: float(sum(v.values())) for p, v in expected.items()}
    total = sum(mixture.values())
    rows = max(1, math.ceil(total / cpt.max_length))
    grad_accum = max(1, cpt.global_batch_size // (cpt.micro_batch_size * world))
    per_step = cpt.micro_batch_size * world * grad_accum
    steps = stage_steps(cpt, rows / per_step)
    source = f"estimated for a dry run: counts from Parquet metadata, tokens per document from a sample ({how})"
    return TrainingPlan(
        stage="cpt", unit="sequences", units=rows, tokens=total, loss_tokens=total, per_step=per_step,
        rows_per_step=(float(per_step), per_step), max_length=cpt.max_length, world=world, micro_batch=cpt.micro_batch_size,
        grad_accum=grad_accum, steps=steps, mixture=mixture, source=source, warnings=mixture_warnings(mixture, cpt),
    )
