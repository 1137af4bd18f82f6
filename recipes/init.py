"""``lmt train init``: the tokenizer and tiny Qwen3 model of a CPU-sized run.

When ``train.model.path`` names a real model (hub id or directory) there is
nothing to build and the step is skipped. Otherwise a SentencePiece tokenizer is
trained on the run's own prep output (sources, targets, auxiliary sentences and
monolingual text; CPT tags such as ``<en2ky>`` and ``<ky>`` kept whole) and a
randomly initialised Qwen3-architecture model of ``train.tiny`` size is built
next to it, in ``<run_dir>/model_init``. A rerun with the same data and config
is skipped.

Run: ``lmt train init CONFIG [key=value ...] [--dry-run] [--overwrite]`` (``--dry-run``
checks the inputs and prints what would be built; ``--overwrite`` rebuilds).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from lmt.config import ExperimentConfig, load_experiment
from lmt.config.experiment import prep_hint
from lmt.errors import DataError, MissingResourceError
from lmt.io import content_hash, read_json, write_json_atomic
from lmt.log import print0

MARKER = "lmt_init.json"


def _init_inputs(cfg: ExperimentConfig) -> tuple[Path, Path, str]:
    """``(data_dir, out_dir, key)`` of the init step; raises when the data is missing."""
    from lmt.training.data import data_fingerprint
    from lmt.training.stage import prep_output

    train = cfg.require("train")
    data_dir = Path(train.cpt.data_dir) if train.cpt is not None and train.cpt.data_dir else prep_output(cfg)
    if not data_dir.is_dir():
        raise MissingResourceError(f"training data {data_dir} does not exist; {prep_hint(cfg, data_dir, 'train.cpt.data_dir')}")
    key = content_hash(data_fingerprint(data_dir, with_mono=True), train.tokenizer.model_dump(), train.tiny.model_dump(), cfg.seed)
    return data_dir, cfg.stage_dir("model_init"), key


def init_plan(cfg: ExperimentConfig) -> list[str]:
    """What ``lmt train init`` would do, checked but not done (``--dry-run``)."""
    train = cfg.require("train")
    if train.model.path:
        return [f"[plan init] train.model.path = {train.model.path}: nothing to build"]
    data_dir, out, key = _init_inputs(cfg)
    if (out / MARKER).is_file() and read_json(out / MARKER).get("key") == key:
        return [f"[plan init] {out} is up to date: nothing to build"]
    t, tok = train.tiny, train.tokenizer
    return [
        f"[plan init] SentencePiece tokenizer ({tok.model_type}, {tok.vocab_size} pieces, up to {tok.max_sentences:,} "
        f"sentences) trained on {data_dir}",
        f"[plan init] tiny Qwen3 model: hidden {t.hidden_size} x {t.num_hidden_layers} layers, {t.num_attention_heads} heads "
        f"({t.num_key_value_heads} KV), MLP {t.intermediate_size}, max positions {t.max_position_embeddings}",
        f"[plan init] written to {out}",
    ]


def init_model(cfg: ExperimentConfig) -> Optional[Path]:
    """Build tokenizer + tiny model into ``stage_dir("model_init")``; None when a model path is given."""
    from lmt.datafiles import load_mono, load_parallel
    from lmt.modeling import build_qwen3_model, train_tokenizer
    from lmt.training.mixing import cpt_tags

    train = cfg.require("train")
    if train.model.path:
        print0(f"[lmt train init] train.model.path = {train.model.path}: nothing to build")
        return None
    data_dir, out, key = _init_inputs(cfg)
    if (out / MARKER).is_file() and read_json(out / MARKER).get("key") == key:
        print0(f"[lmt train init] {out} is up to date")
        return out

    par = load_parallel(data_dir)
    mono = load_mono(data_dir)
    texts = list(par["src"]) + list(par["tgt"])
    if "aux" in par.column_names:
        texts += [t for t in par["aux"] if t]
    if mono is not None:
        texts += list(mono["text"])
    if not texts:
        raise DataError(f"{data_dir}: no text to train a tokenizer on")
    limit = train.tokenizer.max_sentences
    if len(texts) > limit:
        pick = np.random.default_rng(cfg.seed).choice(len(texts), size=limit, replace=False)
        texts = [texts[i] for i in sorted(pick)]
    directions = sorted(set(zip(par["src_lang"], par["tgt_lang"])))
    tags = cpt_tags(directions)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tok = train_tokenizer(
            texts, tmp, vocab_size=train.tokenizer.vocab_size, model_type=train.tokenizer.model_type, user_symbols=tags
        )
        t = train.tiny
        build_qwen3_model(
            tok, tmp, hidden_size=t.hidden_size, num_hidden_layers=t.num_hidden_layers,
            num_attention_heads=t.num_attention_heads, num_key_value_heads=t.num_key_value_heads,
            intermediate_size=t.intermediate_size, max_position_embeddings=t.max_position_embeddings, seed=cfg.seed,
        )
        write_json_atomic(tmp / MARKER, {"key": key, "data_dir": str(data_dir), "sentences": len(texts), "tags": tags, "vocab": len(tok)})
        if out.exists():
            shutil.rmtree(out)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print0(f"[lmt train init] tokenizer ({len(tok)} tokens, {len(tags)} CPT tags) and tiny Qwen3 model in {out}")
    return out


def main(argv: Optional[list[str]] = None) -> int:
    """``python recipes/init.py --config CONFIG [key=value ...]``."""
    from lmt.training.stage import recipe_args

    args = recipe_args(argv, "lmt train init", __doc__.splitlines()[0])
    init_model(load_experiment(args.config, args.overrides))
    return 0


if __name__ == "__main__":
    sys.exit(main())
