"""Training input pipeline throughput: packed rows (ours) vs per-sample padding.

Same data, same tiny Qwen3 model, same Hugging Face Trainer, CPU: only the input
pipeline differs.

* ours: ``lmt.training.data.build_sft_data`` / ``build_cpt_data`` rows
  (best-fit packing for SFT, stream packing for CPT; per-document position ids,
  no cross-document attention), collated by ``lmt.training.packing.collate_packed``,
  trained with the per-document attention kernel the recipes use
  (``lmt.training.attention``);
  ``ours`` also computes the vocabulary projection only at positions that have
  a target (``collate_packed(loss_positions=True)``, as the training loop does);
  ``packed`` is the same without that, to show what packing alone gives;
* baseline: the same tokenised examples, one per sample, batched with
  ``transformers.DataCollatorForSeq2Seq`` (pads to the longest in the batch),
  with a batch size giving the same token budget per step.

Printed per task: useful (non-pad) tokens per second, useful-token fraction,
and the ratio ours / baseline. Targets: fraction >= 0.95, ratio >= 1.5.

Data: FLORES-200 dev (997 multi-way sentences) from ../shared/data/flores200
when present (``--flores DIR``), else the test sentences repeated.

Each pipeline runs ``--rounds`` times for ``--seconds`` (after 2 warm-up steps),
alternating with the other, and the rounds are pooled: the machine's load
drifts. "tok/cpu-s" divides by the process CPU time (1 torch thread by default,
so OpenMP spinning does not count), which depends less on other jobs.

Run: ``python benchmarks/train_throughput.py [--seconds 30] [--rounds 2] [--max-length 512]``
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("LMT_PROGRESS", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LANGS = ["eng_Latn", "zho_Hans", "deu_Latn", "rus_Cyrl", "kir_Cyrl", "fra_Latn", "nld_Latn"]
DIRECTIONS = [
    ("eng_Latn", "kir_Cyrl"), ("eng_Latn", "deu_Latn"), ("eng_Latn", "fra_Latn"), ("eng_Latn", "zho_Hans"),
    ("zho_Hans", "kir_Cyrl"), ("zho_Hans", "rus_Cyrl"), ("zho_Hans", "deu_Latn"),
    ("kir_Cyrl", "eng_Latn"), ("deu_Latn", "zho_Hans"),
]


def load_sentences(flores: Path) -> dict[str, list[str]]:
    if (flores / "dev" / "eng_Latn.dev").is_file():
        return {l: (flores / "dev" / f"{l}.dev").read_text(encoding="utf-8").splitlines() for l in LANGS}
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import PARALLEL

    out = {l: [s for _ in range(60) for s in PARALLEL.get(l, PARALLEL["eng_Latn"])] for l in LANGS}
    return out


def write_prep(root: Path, sents: dict[str, list[str]]) -> None:
    import pyarrow as pa

    from lmt.aux_map import AuxMap
    from lmt.io import write_parquet_atomic
    from lmt.schemas import MONO_SCHEMA, PARALLEL_SCHEMA

    amap = AuxMap.load()
    for s, t in DIRECTIONS:
        aux = amap.aux_language(s, t)
        aux = aux if aux in sents else None
        n = len(sents[s])
        rows = {
            "src_lang": [s] * n, "tgt_lang": [t] * n, "src": sents[s], "tgt": sents[t], "corpus": ["flores"] * n,
            "origin": [f"dev:{i + 1}" for i in range(n)], "aux_lang": [aux] * n,
            "aux": sents[aux] if aux else [None] * n,
        }
        write_parquet_atomic(pa.table(rows, schema=PARALLEL_SCHEMA), root / "parallel" / f"{s}-{t}" / "part-00000.parquet")
    for l, xs in sents.items():
        write_parquet_atomic(
            pa.table({"lang": [l] * len(xs), "text": xs, "corpus": ["flores"] * len(xs)}, schema=MONO_SCHEMA),
            root / "mono" / l / "part-00000.parquet",
        )


class Meter:
    """Counts tokens of the batches a collator hands out; times the steps after warm-up."""

    def __init__(self, collate, pad_id: int, packed: bool, warmup: int, seconds: float):
        self.collate, self.pad_id, self.packed = collate, pad_id, packed
        self.warmup, self.seconds = warmup, seconds
        self.batches = 0
        self.real = self.total = 0
        self.t0 = self.c0 = None

    def __call__(self, rows):
        batch = self.collate(rows)
        self.batches += 1
        if self.batches == self.warmup + 1:
            self.t0, self.c0 = time.perf_counter(), time.process_time()
        if self.batches > self.warmup:
            self.total += batch["input_ids"].numel()
            if self.packed:
                self.real += sum(r["n_real_tokens"] for r in rows)
            else:
                self.real += int(batch["attention_mask"].sum())
        return batch

    def callback(self):
        from transformers import TrainerCallback

        meter = self

        class Stop(TrainerCallback):
            def on_step_end(self, args, state, control, **kw):
                if meter.t0 is not None and time.perf_counter() - meter.t0 > meter.seconds:
                    control.should_training_stop = True

        return Stop()


def run_trainer(model_dir: str, dataset, batch_size: int, out: str, meter: Meter, packed: bool) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="sdpa")
    model.config.use_cache = False
    if packed:
        from lmt.training.attention import use_packed_attention

        use_packed_attention(model, "sdpa")  # what lmt.training.loop does: per-document attention
    args = TrainingArguments(
        output_dir=out, per_device_train_batch_size=batch_size, max_steps=100_000, learning_rate=1e-3,
        report_to=[], save_strategy="no", logging_strategy="no", remove_unused_columns=False,
        dataloader_num_workers=0, use_cpu=True, disable_tqdm=True, seed=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=meter, callbacks=[meter.callback()])
    trainer.train()
    dt, dc = time.perf_counter() - meter.t0, time.process_time() - meter.c0
    return {"real": meter.real, "total": meter.total, "wall": dt, "cpu": dc, "steps": meter.batches - meter.warmup}


def combine(runs: list[dict]) -> dict:
    """Pool the rounds of one pipeline: tokens over time."""
    real, total = sum(r["real"] for r in runs), sum(r["total"] for r in runs)
    return {
        "useful_tok_s": real / sum(r["wall"] for r in runs),
        "useful_tok_cpu_s": real / sum(r["cpu"] for r in runs),
        "fraction": real / max(1, total),
        "steps": sum(r["steps"] for r in runs),
    }


def baseline_examples(prep: Path, tok, max_length: int, kind: str, seed: int):
    """The same tokenised examples as ours, one row each (input_ids, labels, attention_mask)."""
    import datasets

    from lmt.aux_map import AuxMap
    from lmt.datafiles import load_mono, load_parallel
    from lmt.prompts import get_template
    from lmt.training.mixing import render_pair
    from lmt.training.pmp import choose_prompt, render_sft_example
    from lmt.training.tokens import cpt_token_batch, sft_token_batch

    par = load_parallel(prep)
    if kind == "sft":
        amap, tpl = AuxMap.load(), get_template("pmp")
        prompts, fulls = [], []
        for r in par:
            k, al, a, _ = choose_prompt(r, amap, seed, 0.5, 0.5)
            p, f = render_sft_example(r, tpl, tok, True, al, a)
            prompts.append(p)
            fulls.append(f)
        enc = sft_token_batch(tok, prompts, fulls, max_length)
    else:
        texts = [render_pair(r, seed, 0.5) for r in par] + list(load_mono(prep)["text"])
        enc = cpt_token_batch(tok, texts)
        enc = {k: [x[:max_length] for x in v] for k, v in enc.items()}
    keep = [i for i, x in enumerate(enc["input_ids"]) if x]
    return datasets.Dataset.from_dict({k: [v[i] for i in keep] for k, v in enc.items()})


def sft_rows(examples, max_length: int, pad_id: int, seed: int, per_step: int = 64):
    """One epoch of SFT examples packed the way training packs them (per step of ``per_step`` examples)."""
    import math

    import datasets

    from lmt.training.order import ExampleBatches

    steps = math.ceil(len(examples) / per_step)
    b = ExampleBatches(examples, 1, 1, per_step, max_length, seed, steps, pad_id)
    rows = [r for s in range(steps) for mb in b.micro_batches(s, 0) for r in mb if r["n_real_tokens"]]
    return datasets.Dataset.from_list(rows), 1 - sum(r["n_real_tokens"] for r in rows) / (len(rows) * max_length)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flores", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "flores200"))
    ap.add_argument("--seconds", type=float, default=30.0, help="timed seconds per run")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--tasks", nargs="+", default=["sft", "cpt"])
    ap.add_argument("--rounds", type=int, default=2, help="alternate baseline/ours this many times (load drifts)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: CPU time is not inflated by OpenMP spinning)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from transformers import AutoTokenizer, DataCollatorForSeq2Seq

    from lmt.aux_map import AuxMap
    from lmt.modeling import build_qwen3_model, train_tokenizer
    from lmt.training.data import build_cpt_data, build_sft_data
    from lmt.training.mixing import cpt_tags
    from lmt.training.packing import collate_packed

    work = Path(tempfile.mkdtemp(prefix="lmt_bench_train_"))
    sents = load_sentences(Path(args.flores))
    write_prep(work / "prep", sents)
    texts = [s for xs in sents.values() for s in xs]
    tok = train_tokenizer(texts, work / "model", vocab_size=4000, user_symbols=cpt_tags(DIRECTIONS))
    build_qwen3_model(tok, work / "model", hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, intermediate_size=384, max_position_embeddings=args.max_length)
    tok = AutoTokenizer.from_pretrained(work / "model")
    L, seed = args.max_length, 1234
    print(f"data: {len(sents['eng_Latn'])} multi-way sentences x {len(DIRECTIONS)} directions; model hidden 128 x 2 layers; "
          f"max_length {L}; torch threads {torch.get_num_threads()}; {args.seconds:.0f}s timed per run")
    rows = []
    for task in args.tasks:
        if task == "sft":
            examples = build_sft_data(work / "prep", tok, cache_dir=work / "cache", aux_map=AuxMap.load(), seed=seed, max_length=L, num_proc=2)
            packed_rows, pad_frac = sft_rows(examples.dataset, L, tok.pad_token_id, seed)
        else:
            ours = build_cpt_data(work / "prep", tok, cache_dir=work / "cache", seed=seed, max_length=L,
                                  mix={"monolingual": 1, "zh_centric": 1, "en_centric": 1}, num_proc=2)
            packed_rows, pad_frac = ours.dataset, ours.stats["padding_fraction"]
        base = baseline_examples(work / "prep", tok, L, task, seed)
        avg = sum(len(x) for x in base["input_ids"]) / len(base)
        bsz = max(1, round(L / avg))  # same token budget per step as one packed row
        runs = {"base": [], "packed": [], "ours": []}
        for r in range(args.rounds):
            meter = Meter(DataCollatorForSeq2Seq(tok, padding="longest"), tok.pad_token_id, False, 2, args.seconds)
            runs["base"].append(run_trainer(str(work / "model"), base.shuffle(seed=r), bsz, str(work / "out"), meter, False))
            meter = Meter(collate_packed, tok.pad_token_id, True, 2, args.seconds)
            runs["packed"].append(run_trainer(str(work / "model"), packed_rows.shuffle(seed=r), 1, str(work / "out"), meter, True))
            meter = Meter(functools.partial(collate_packed, loss_positions=True), tok.pad_token_id, True, 2, args.seconds)
            runs["ours"].append(run_trainer(str(work / "model"), packed_rows.shuffle(seed=r), 1, str(work / "out"), meter, True))
        rows.append((task, {k: combine(v) for k, v in runs.items()}, bsz, pad_frac))
    print()
    print(f"{'task':<5} {'pipeline':<40} {'useful tok/s':>13} {'useful tok/cpu-s':>17} {'useful frac':>12} {'steps':>6}")
    for task, res, bsz, pad in rows:
        names = {
            "base": f"baseline: padding, batch {bsz}",
            "packed": f"packed rows of {L}",
            "ours": "ours: packed + loss-position logits",
        }
        for key, name in names.items():
            r = res[key]
            print(f"{task:<5} {name:<40} {r['useful_tok_s']:>13.0f} {r['useful_tok_cpu_s']:>17.0f} {r['fraction']:>12.3f} {r['steps']:>6}")
        for key in ("packed", "ours"):
            ratio_w = res[key]["useful_tok_s"] / res["base"]["useful_tok_s"]
            ratio_c = res[key]["useful_tok_cpu_s"] / res["base"]["useful_tok_cpu_s"]
            print(f"{task:<5} {'ratio ' + key + ' / baseline':<40} {ratio_w:>12.2f}x {ratio_c:>16.2f}x")
        print(f"{task:<5} packed data: padding {pad:.2%} of all rows")


if __name__ == "__main__":
    main()
