"""Synthesis throughput: ``lmt synth`` with the Hugging Face engine, length-sorted vs input order.

    python benchmarks/synth_throughput.py [--n 256] [--distinct 24] [--batch-size 16]

The whole ``lmt synth`` path runs (config, reading, prompt rendering, engine,
degenerate checks, shard and corpus writes); only ``synth.sort_by_length``
changes between the two runs, which alternate ``--repeats`` times and whose
corpora are compared line by line. The figures are the best of the repeats of
the manifest's ``sentences_per_s`` (translation wall time only: rendering,
generation, checks; model loading excluded) and of sentences per CPU-second of
the whole ``run_synth`` call, which is steadier on a machine shared with other jobs.

A random tiny model never emits the end-of-sequence token, so every output would
run to ``max_new_tokens`` and the batching order could not matter. The script
therefore first teaches the tiny model (:func:`lmt.testing.translator.build_tiny_translator`)
``--distinct`` English->German sentence pairs of the bundled demo data, spread over
their length range (cached under ``.cache/synth_bench``); the input is ``--n``
lines drawn from them in random order, so output lengths follow input lengths as
a real model's do and a mixed-length batch waits for its longest member.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("LMT_PROGRESS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from data_prep.synth import run_synth  # noqa: E402
from lmt.config import load_experiment  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "lmt" / "data" / "demo" / "sentences.tsv"


def demo_pairs(distinct: int) -> list[tuple[str, str]]:
    """``distinct`` English-German demo pairs evenly spread over the English lengths."""
    with DEMO.open(encoding="utf-8") as f:
        rows = [(r["eng_Latn"], r["deu_Latn"]) for r in csv.DictReader(f, delimiter="\t")]
    rows.sort(key=lambda r: len(r[0]))
    step = (len(rows) - 1) / max(distinct - 1, 1)
    return [rows[round(i * step)] for i in range(distinct)]


def build_model(cache: Path, pairs: list[tuple[str, str]], steps: int) -> str:
    """The tiny translator for ``pairs`` (built once per setting, then cached)."""
    from lmt.modeling import train_tokenizer
    from lmt.testing.translator import build_tiny_translator

    out = cache / f"model-{len(pairs)}-{steps}"
    if (out / "config.json").is_file():
        return str(out)
    with DEMO.open(encoding="utf-8") as f:
        texts = [r[k] for r in csv.DictReader(f, delimiter="\t") for k in ("eng_Latn", "deu_Latn")]
    train_tokenizer(texts, cache / "tokenizer", vocab_size=1000)
    t0 = time.time()
    build_tiny_translator(cache / "tokenizer", [("eng_Latn", "deu_Latn", e, d) for e, d in pairs], out, steps=steps, hidden_size=96)
    print(f"trained the tiny translator on {len(pairs)} pairs in {time.time() - t0:.0f}s", flush=True)
    return str(out)


def run(workdir: Path, model: str, mono: Path, sort: bool, args) -> tuple[dict, list[str], float]:
    """One ``lmt synth`` run; returns its manifest, German output lines and CPU seconds."""
    section = {
        "model": model, "inputs": [{"path": str(mono), "lang": "eng_Latn"}], "directions": ["en-de"],
        "corpus": "synth_bench", "num_beams": 1, "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size,
        "sort_by_length": sort, "shard_size": args.n, "engine": "hf", "device": "cpu",
    }
    config = workdir / f"sorted_{sort}.yaml"
    config.write_text(yaml.safe_dump({"name": f"bench_{sort}", "run_dir": str(workdir / f"run_{sort}"), "synth": section}))
    c0 = time.process_time()
    manifest = run_synth(load_experiment(config), overwrite=True)
    cpu = time.process_time() - c0
    out = (workdir / f"run_{sort}" / "data" / "synth" / "synth_bench.eng_Latn-deu_Latn.deu_Latn").read_text(encoding="utf-8")
    return manifest, out.splitlines(), cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="input lines")
    ap.add_argument("--distinct", type=int, default=24, help="distinct demo sentences the model learns")
    ap.add_argument("--train-steps", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=2, help="alternating runs per setting (best one reported)")
    ap.add_argument("--cache", default=".cache/synth_bench")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    pairs = demo_pairs(args.distinct)
    model = build_model(cache, pairs, args.train_steps)
    rng = random.Random(0)
    lines = [rng.choice(pairs)[0] for _ in range(args.n)]
    mono = cache / f"mono-{args.n}.txt"
    mono.write_text("\n".join(lines) + "\n", encoding="utf-8")
    known = dict(pairs)

    best: dict[bool, dict] = {}
    outputs: dict[bool, list[str]] = {}
    for _ in range(args.repeats):
        for sort in (False, True):
            manifest, out, cpu = run(cache, model, mono, sort, args)
            d = manifest["directions"]["eng_Latn-deu_Latn"]
            exact = sum(1 for e, o in zip(lines, out) if known[e] == o) if d["kept"] == len(lines) else None
            speed, per_cpu = manifest["this_run"]["sentences_per_s"], len(lines) / cpu
            print(
                f"{'length-sorted' if sort else 'input order  '}: {speed:7.2f} sentences/s, {per_cpu:6.2f} per CPU-second; "
                f"kept {d['kept']}/{d['sentences']}, dropped {d['dropped']}"
                + (f", learnt translation {exact}/{len(lines)}" if exact is not None else ""),
                flush=True,
            )
            outputs[sort] = out
            b = best.setdefault(sort, {"sent_s": 0.0, "sent_cpu_s": 0.0})
            b["sent_s"], b["sent_cpu_s"] = max(b["sent_s"], speed), max(b["sent_cpu_s"], per_cpu)
    same = sum(a == b for a, b in zip(outputs[False], outputs[True]))
    print(json.dumps({
        "n": args.n, "batch_size": args.batch_size, "max_new_tokens": args.max_new_tokens,
        "input_order": {k: round(v, 2) for k, v in best[False].items()},
        "length_sorted": {k: round(v, 2) for k, v in best[True].items()},
        "speedup_wall": round(best[True]["sent_s"] / best[False]["sent_s"], 2),
        "speedup_cpu": round(best[True]["sent_cpu_s"] / best[False]["sent_cpu_s"], 2),
        "identical_outputs": f"{same}/{len(outputs[False])}",
    }))


if __name__ == "__main__":
    main()
