"""Prep output -> tokenised training data, cached by content and config.

:func:`build_sft_data` and :func:`build_cpt_data` read the prep layout
(``lmt.datafiles``), render the examples (PMP prompts / CPT mixture), tokenise
them with ``datasets.map`` in ``num_proc`` worker processes and save the result
with ``save_to_disk`` under ``cache_dir/<kind>-<key>``: SFT keeps one tokenised
example per record (a step packs its own examples, see
:class:`lmt.training.order.ExampleBatches`); CPT packs its document stream into
fixed-length rows here. The key hashes the input shard fingerprints, the
tokenizer's content, the rendering config, the sequence length and the seed; a
rerun with the same key loads the saved rows and never tokenises again.
Directories appear atomically (built in a temp dir, then renamed), so a killed
build leaves no half cache behind.
"""

from __future__ import annotations

import collections
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from lmt.aux_map import AuxMap
from lmt.datafiles import mono_shards, parallel_shards
from lmt.errors import DataError
from lmt.io import content_hash, file_fingerprint, read_json, write_json_atomic
from lmt.languages import Direction
from lmt.log import get_logger
from lmt.prompts import get_template
from lmt.training.corpus_weights import weigh_corpora
from lmt.training.mixing import PARTS, cpt_directions, part_of, plan_token_mixture, render_pair, sample_indices
from lmt.training.packing import pack_stream
from lmt.training.pmp import choose_prompt, render_sft_example, unit_hash
from lmt.training.tokens import cpt_token_batch, sft_token_batch

log = get_logger("lmt.training.data")

# Bump when the rendering/packing code changes what a cache entry holds.
FORMAT_VERSION = 2
WAIT_POLL_S = 2.0


@dataclass
class TrainingData:
    """A tokenised training set and what went into it.

    Attributes:
        dataset: ``datasets.Dataset``: SFT, one example per row (``input_ids``,
            ``labels``); CPT, packed rows (``input_ids``, ``labels``, ``seq_lens``,
            ``n_loss_tokens``, ``n_real_tokens``).
        key: cache key (changes whenever data, tokenizer or config change).
        path: where the rows are saved.
        stats: counts (records, prompt kinds, drops, padding fraction...).
        from_cache: True when nothing was tokenised in this call.
    """

    dataset: Any
    key: str
    path: Path
    stats: dict
    from_cache: bool


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """Hash of what decides token ids: vocabulary/merges, special tokens, chat template."""
    backend = tokenizer.backend_tokenizer.to_str() if hasattr(tokenizer, "backend_tokenizer") else repr(tokenizer.get_vocab())
    return content_hash(backend, tokenizer.chat_template, tokenizer.eos_token, tokenizer.pad_token)


def data_fingerprint(data_dir: "str | Path", with_mono: bool) -> list:
    """Fingerprints of every shard a build reads (raises when there is none)."""
    shards = parallel_shards(data_dir)
    files = [p for fs in shards.values() for p in fs]
    if with_mono:
        files += [p for fs in mono_shards(data_dir).values() for p in fs]
    if not files:
        raise DataError(f"{data_dir}: no Parquet shards under parallel/ (empty or unfinished prep output; run `lmt prep`)")
    return [{k: v for k, v in file_fingerprint(p).items() if k != "mtime"} | {"path": str(Path(p).relative_to(data_dir))} for p in files]


def _load_parallel(data_dir: "str | Path"):
    from lmt.datafiles import load_parallel

    ds = load_parallel(data_dir)
    for col in ("aux_lang", "aux"):
        if col not in ds.column_names:
            ds = ds.add_column(col, [None] * len(ds))
    if len(ds) == 0:
        raise DataError(f"{data_dir}: the parallel shards hold no records (empty prep output)")
    return ds


def _cached(cache_dir: "str | Path", kind: str, key: str, build: Callable[[Path], dict], build_here: bool = True) -> TrainingData:
    """Load ``cache_dir/<kind>-<key>`` or build it atomically with ``build(tmp_dir) -> stats``.

    With ``build_here=False`` (ranks other than a node's first) wait for another
    process to finish the build: polling the file system, not a collective, so
    a long tokenisation never hits the process group's timeout.
    """
    import datasets

    final = Path(cache_dir) / f"{kind}-{key}"
    from_cache = (final / "stats.json").is_file()
    if not from_cache and not build_here:
        while not (final / "stats.json").is_file():
            time.sleep(WAIT_POLL_S)
        from_cache = True
    if not from_cache:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{kind}-{key}.", dir=final.parent))
        try:
            stats = build(tmp)
            write_json_atomic(tmp / "stats.json", stats)
            try:
                os.rename(tmp, final)
            except OSError:
                if not (final / "stats.json").is_file():  # another node built it meanwhile: keep theirs
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    ds = datasets.load_from_disk(str(final / "data"))
    return TrainingData(ds, key, final, read_json(final / "stats.json"), from_cache)


def _packed_features():
    import datasets

    return datasets.Features(
        {
            "input_ids": datasets.Sequence(datasets.Value("int32")),
            "labels": datasets.Sequence(datasets.Value("int32")),
            "seq_lens": datasets.Sequence(datasets.Value("int32")),
            "n_loss_tokens": datasets.Value("int32"),
            "n_real_tokens": datasets.Value("int32"),
        }
    )


def _flat(ds, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and values of a list column (zero-copy views where Arrow allows)."""
    if getattr(ds, "_indices", None) is not None:
        ds = ds.flatten_indices()
    col = ds.data.column(column).combine_chunks()
    return np.asarray(col.offsets), np.asarray(col.values)


def _gen_stream_rows(tokenized, max_length, pad_id):
    def docs():
        for batch in tokenized.iter(batch_size=1000):
            yield from zip(batch["input_ids"], batch["labels"])

    yield from pack_stream(docs(), max_length, pad_id)


def _save_rows(gen, gen_kwargs: dict, tmp: Path, fingerprint: str) -> Any:
    import datasets

    ds = datasets.Dataset.from_generator(
        gen, features=_packed_features(), gen_kwargs=gen_kwargs, cache_dir=str(tmp / "build"), fingerprint=fingerprint
    )
    ds.save_to_disk(str(tmp / "data"))
    return ds


def _row_stats(ds, max_length: int) -> dict:
    real = int(np.sum(ds["n_real_tokens"], dtype=np.int64)) if len(ds) else 0
    loss = int(np.sum(ds["n_loss_tokens"], dtype=np.int64)) if len(ds) else 0
    total = len(ds) * max_length
    return {
        "rows": len(ds),
        "max_length": max_length,
        "tokens": total,
        "real_tokens": real,
        "loss_tokens": loss,
        "padding_fraction": round(1 - real / total, 6) if total else 0.0,
    }


# --------------------------------------------------------------------------- SFT


def _sft_map(batch, tokenizer, template_name, use_chat_template, aux_map, seed, pmp, max_length):
    template = get_template(template_name)
    prompts, fulls, kinds, whys = [], [], [], []
    keys = list(batch)
    for i in range(len(batch["src"])):
        rec = {k: batch[k][i] for k in keys}
        kind, aux_lang, aux, why = choose_prompt(rec, aux_map, seed, pmp["forward_share"], pmp["reverse_share"], pmp["enabled"])
        prompt, full = render_sft_example(rec, template, tokenizer, use_chat_template, aux_lang, aux)
        prompts.append(prompt)
        fulls.append(full)
        kinds.append(kind)
        whys.append(why)
    out = sft_token_batch(tokenizer, prompts, fulls, max_length)
    out["kind"] = kinds
    out["why"] = whys
    out["direction"] = [f"{s}-{t}" for s, t in zip(batch["src_lang"], batch["tgt_lang"])]
    return out


def build_sft_data(
    data_dir: "str | Path",
    tokenizer: Any,
    *,
    cache_dir: "str | Path",
    aux_map: AuxMap,
    seed: int,
    max_length: int,
    template: str = "pmp",
    use_chat_template: bool = True,
    pmp: Optional[dict] = None,
    reverse_keep: float = 1.0,
    num_proc: int = 1,
    build_here: bool = True,
    corpus_weights: Optional[dict[str, float]] = None,
) -> TrainingData:
    """Tokenised SFT examples from the prep output (cached; see module docs).

    Args:
        data_dir: prep (or selection) output directory.
        tokenizer: the model's tokenizer (its chat template wraps the prompts).
        cache_dir: where tokenised datasets are kept.
        aux_map: auxiliary-language map of the experiment.
        seed: decides PMP/STP per record.
        max_length: packed row length; longer examples are dropped and counted.
        template: prompt template name (:mod:`lmt.prompts`).
        pmp: ``{"enabled", "forward_share", "reverse_share"}``.
        reverse_keep: extra share of X->En/Zh records kept (prep already downsampled).
        num_proc: tokenisation worker processes.
        build_here: False on ranks that wait for another process to build the cache.

    Raises:
        DataError: missing/empty prep output, or nothing left to train on.
    """
    pmp = dict(pmp or {"enabled": True, "forward_share": 0.5, "reverse_share": 0.5})
    if get_template(template).pmp_header is None and pmp.get("enabled", True):
        # e.g. the released-model prompt: it has no PMP form, so every record gets it plain.
        log.warning("prompt template %r has no PMP form: PMP is off for this run", template)
        pmp["enabled"] = False
    key = content_hash(
        "sft", FORMAT_VERSION, data_fingerprint(data_dir, with_mono=False), tokenizer_fingerprint(tokenizer),
        template, use_chat_template, pmp, reverse_keep, max_length, seed, aux_map.en_centred, aux_map.zh_centred,
        *([corpus_weights] if corpus_weights else []),
    )

    def build(tmp: Path) -> dict:
        # Weights by corpus-name pattern (e.g. synthetic corpora): lmt.training.corpus_weights.
        records = weigh_corpora(_load_parallel(data_dir), corpus_weights, seed)
        n_records = len(records)
        if reverse_keep < 1.0:
            records = records.filter(
                lambda r: not Direction(r["src_lang"], r["tgt_lang"]).is_reverse
                or unit_hash(seed, "reverse_keep", r["src_lang"], r["tgt_lang"], r["src"], r["tgt"]) < reverse_keep,
                num_proc=num_proc if len(records) > 10_000 else None,
            )
        tok = records.map(
            _sft_map,
            batched=True,
            remove_columns=records.column_names,
            fn_kwargs=dict(
                tokenizer=tokenizer, template_name=template, use_chat_template=use_chat_template, aux_map=aux_map,
                seed=seed, pmp=pmp, max_length=max_length,
            ),
            num_proc=num_proc if num_proc > 1 and len(records) >= 2 * num_proc else None,
            cache_file_name=str(tmp / "build" / "tokenized.arrow"),
            new_fingerprint=f"{key}-tok",
            desc="render + tokenise SFT",
        )
        lengths = np.array([len(x) for x in tok["input_ids"]], dtype=np.int64)
        reasons: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for direction, why in zip(tok["direction"], tok["why"]):
            reasons[direction][why] += 1
        keep = np.nonzero(lengths > 0)[0]
        too_long = int(len(lengths) - len(keep))
        if len(keep) == 0:
            raise DataError(f"{data_dir}: every SFT example is longer than max_length={max_length} tokens")
        examples = tok.select_columns(["input_ids", "labels"]).select(keep)
        examples.save_to_disk(str(tmp / "data"))
        from lmt.training.order import example_token_counts

        n_tokens, n_loss = example_token_counts(examples)
        return {
            "kind": "sft",
            "key": key,
            "records": n_records,
            "examples": int(len(keep)),
            "dropped_too_long": too_long,
            "dropped_reverse_keep": n_records - len(lengths),
            "prompts": dict(collections.Counter(tok["kind"])),
            "prompt_reasons": dict(collections.Counter(tok["why"])),
            "prompt_reasons_by_direction": {d: dict(c) for d, c in sorted(reasons.items())},
            "directions": {d: sum(c.values()) for d, c in sorted(reasons.items())},
            "max_length": max_length,
            "tokens": int(n_tokens.sum()),
            "loss_tokens": int(n_loss.sum()),
        }

    data = _cached(cache_dir, "sft", key, build, build_here)
    _log_stats(data)
    return data


def pad_id(tokenizer: Any) -> int:
    """The tokenizer's pad id (its EOS when it has no pad token)."""
    pad = tokenizer.pad_token_id
    return int(pad if pad is not None else tokenizer.eos_token_id)


def _log_stats(data: TrainingData) -> None:
    s = data.stats
    src = "cache" if data.from_cache else "built"
    if s["kind"] == "sft":
        log.info("sft data (%s %s): %d examples, %d tokens, %d loss tokens", src, data.path, s["examples"], s["tokens"], s["loss_tokens"])
        return
    log.info(
        "%s data (%s %s): %d rows x %d tokens, padding %.2f%%, %d loss tokens",
        s["kind"], src, data.path, s["rows"], s["max_length"], 100 * s["padding_fraction"], s["loss_tokens"],
    )


# --------------------------------------------------------------------------- CPT


def _cpt_render(batch, seed, reverse_share):
    return {"text": [render_pair({k: batch[k][i] for k in batch}, seed, reverse_share) for i in range(len(batch["src"]))]}


def _cpt_tokenize(batch, tokenizer):
    return cpt_token_batch(tokenizer, batch["text"])


def _group_rows(langs: list[str]) -> dict[str, np.ndarray]:
    arr = np.asarray(langs, dtype=object)
    out: dict[str, np.ndarray] = {}
    for lang in sorted(set(langs)):
        out[lang] = np.nonzero(arr == lang)[0]
    return out


MEAN_SAMPLE = 1000  # documents per part and language whose tokens estimate the mean


def token_counter(tokenizer: Any) -> Callable[[list[str]], list[int]]:
    """Tokens of CPT documents (EOS included) with ``tokenizer``, or ~1 per 3 UTF-8 bytes without one.

    The fallback serves dry runs where the model's tokenizer is not available
    (a hub id offline): Qwen3's tokenizer averages about 3-4 bytes per token on
    Latin-script text and fewer on CJK, so the estimate is rough but the shares
    it plans are close, since it errs alike on every part.
    """
    if tokenizer is None:
        return lambda texts: [len(t.encode("utf-8")) // 3 + 1 for t in texts]
    return lambda texts: [len(x) for x in cpt_token_batch(tokenizer, texts)["input_ids"]]


def plan_cpt_mixture(samples: dict[str, dict[str, list[str]]], counts: dict[str, dict[str, int]], count_tokens, mix, alpha, weights, total_tokens):
    """:func:`lmt.training.mixing.plan_token_mixture` with means measured on ``samples`` (rendered documents)."""
    means = {p: {lang: float(np.mean(count_tokens(texts))) if texts else 0.0 for lang, texts in langs.items()} for p, langs in samples.items()}
    return plan_token_mixture(counts, means, mix, alpha, weights, total_tokens)


def cpt_pair_directions(data_dir: "str | Path", pairs_once: bool) -> list[Direction]:
    """Directions of the prep output CPT reads (:func:`lmt.training.mixing.cpt_directions`)."""
    return cpt_directions(sorted(parallel_shards(data_dir), key=str), pairs_once)


def build_cpt_data(
    data_dir: "str | Path",
    tokenizer: Any,
    *,
    cache_dir: "str | Path",
    seed: int,
    max_length: int,
    mix: dict[str, float],
    language_alpha: float = 1.0,
    language_weights: Optional[dict[str, float]] = None,
    reverse_share: float = 0.5,
    total_tokens: Optional[int] = None,
    pairs_once: bool = True,
    num_proc: int = 1,
    build_here: bool = True,
    corpus_weights: Optional[dict[str, float]] = None,
) -> TrainingData:
    """Packed CPT rows: the monolingual/bilingual mixture in tokens (see :mod:`lmt.training.mixing`).

    Args:
        pairs_once: read each pair once, from its forward direction (see
            :func:`lmt.training.mixing.cpt_directions`); False: every record of the prep output.

    Raises:
        DataError: missing/empty prep output, or no data for any mixture part.
    """
    import datasets

    key = content_hash(
        "cpt", FORMAT_VERSION, data_fingerprint(data_dir, with_mono=True), tokenizer_fingerprint(tokenizer),
        mix, language_alpha, language_weights or {}, reverse_share, total_tokens, pairs_once, max_length, seed,
        *([corpus_weights] if corpus_weights else []),
    )

    def build(tmp: Path) -> dict:
        from lmt.datafiles import load_mono, load_parallel

        directions = cpt_pair_directions(data_dir, pairs_once)
        par = load_parallel(data_dir, directions) if directions else None
        if par is not None:
            par = weigh_corpora(par, corpus_weights, seed)
        mono = load_mono(data_dir)
        if mono is not None:
            mono = weigh_corpora(mono, corpus_weights, seed, text_columns=("lang", "text"))
        groups: dict[str, dict[str, np.ndarray]] = {p: {} for p in PARTS}
        langs = list(zip(par["src_lang"], par["tgt_lang"])) if par is not None else []
        par_parts = [part_of(s, t) for s, t in langs]
        par_other = [Direction(s, t).other for s, t in langs]
        for part in ("zh_centric", "en_centric"):
            sel = [i for i, p in enumerate(par_parts) if p == part]
            for lang, idx in _group_rows([par_other[i] for i in sel]).items():
                groups[part][lang] = np.asarray(sel, dtype=np.int64)[idx]
        if mono is not None and len(mono):
            groups["monolingual"] = _group_rows(mono["lang"])
        counts = {p: {lang: len(ix) for lang, ix in g.items()} for p, g in groups.items()}
        rng = np.random.default_rng(seed)
        samples: dict[str, dict[str, list[str]]] = {}
        for part, langs in groups.items():
            for lang, ix in langs.items():
                pick = ix[np.sort(rng.permutation(len(ix))[:MEAN_SAMPLE])]
                samples.setdefault(part, {})[lang] = (
                    [mono[int(i)]["text"] for i in pick] if part == "monolingual"
                    else [render_pair(par[int(i)], seed, reverse_share) for i in pick]
                )
        plan, expected = plan_cpt_mixture(samples, counts, token_counter(tokenizer), mix, language_alpha, language_weights, total_tokens)
        picked: dict[str, list[np.ndarray]] = {"parallel": [], "monolingual": []}
        part_of_doc: dict[str, list[str]] = {"parallel": [], "monolingual": []}
        for part in PARTS:
            for lang, n in plan.get(part, {}).items():
                rows = groups[part][lang][sample_indices(len(groups[part][lang]), n, rng)]
                side = "monolingual" if part == "monolingual" else "parallel"
                picked[side].append(rows)
                part_of_doc[side] += [part] * len(rows)
        pieces = []
        par_idx = np.concatenate(picked["parallel"]) if picked["parallel"] else np.zeros(0, dtype=np.int64)
        if len(par_idx):
            bi = par.select(par_idx).map(
                _cpt_render, batched=True, remove_columns=par.column_names,
                fn_kwargs={"seed": seed, "reverse_share": reverse_share},
                cache_file_name=str(tmp / "build" / "bilingual.arrow"), new_fingerprint=f"{key}-bi",
                desc="render CPT pairs",
            )
            pieces.append(bi.add_column("part", part_of_doc["parallel"]))
        mono_idx = np.concatenate(picked["monolingual"]) if picked["monolingual"] else np.zeros(0, dtype=np.int64)
        if len(mono_idx):
            pieces.append(mono.select(mono_idx).select_columns(["text"]).add_column("part", part_of_doc["monolingual"]))
        docs = datasets.concatenate_datasets(pieces)
        # Interleave parts so every packed row (and every batch) mixes them.
        docs = docs.select(rng.permutation(len(docs)))
        tok = docs.map(
            _cpt_tokenize,
            batched=True,
            remove_columns=["text"],
            fn_kwargs={"tokenizer": tokenizer},
            num_proc=num_proc if num_proc > 1 and len(docs) >= 2 * num_proc else None,
            cache_file_name=str(tmp / "build" / "tokenized.arrow"),
            new_fingerprint=f"{key}-tok",
            desc="tokenise CPT",
        )
        offsets, _ = _flat(tok, "input_ids")
        lengths = np.diff(offsets)
        parts = np.asarray(tok["part"], dtype=object)
        realised = {p: int(lengths[parts == p].sum()) for p in PARTS if p in plan}
        ds = _save_rows(
            _gen_stream_rows, {"tokenized": tok.select_columns(["input_ids", "labels"]), "max_length": max_length, "pad_id": pad_id(tokenizer)},
            tmp, f"{key}-rows",
        )
        return {
            "kind": "cpt",
            "key": key,
            "documents": int(len(docs)),
            "pairs_once": pairs_once,
            "mixture": {p: dict(sorted(v.items())) for p, v in plan.items()},
            "mixture_tokens": realised,
            "mixture_tokens_planned": {p: round(sum(v.values())) for p, v in expected.items()},
            "available": {p: dict(sorted(v.items())) for p, v in counts.items()},
            **_row_stats(ds, max_length),
        }

    data = _cached(cache_dir, "cpt", key, build, build_here)
    _log_stats(data)
    return data
