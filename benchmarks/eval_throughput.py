"""Evaluation throughput: length-sorted batching vs input-order batching.

    python benchmarks/eval_throughput.py [--flores /work/shared/data/flores_lmt] [--n 256]

Same tiny Qwen3 model, same FLORES-format input (``flores.devtest.en`` of an
LMT-style directory, or ``devtest/eng_Latn.devtest`` of a FLORES-200 one), same
engine (:class:`eval.engines.HFEngine`); only ``sort_by_length`` changes. The
two runs are timed side by side and their outputs compared line by line.

A random model never emits the end-of-sequence token, so every output would
run to ``max_new_tokens`` and batching order could not matter. The script
therefore first trains the tiny model for a few hundred CPU steps to copy its
input and stop (cached under ``.cache/eval_bench``): its output lengths then
follow the input lengths, as a real translation model's do, and a batch of
mixed lengths waits for its longest member, which is what sorting avoids.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("LMT_PROGRESS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.engines import HFEngine  # noqa: E402
from eval.flores import FloresSet  # noqa: E402
from eval.prompting import render  # noqa: E402


def train_copy_model(texts: list[str], out: Path, steps: int, seed: int = 0) -> None:
    """Tiny Qwen3 trained to answer the released prompt with a copy of the source."""
    import torch
    from transformers import AutoTokenizer

    from lmt.modeling import build_qwen3_model, train_tokenizer

    torch.manual_seed(seed)
    random.seed(seed)
    tok_dir = out / "tokenizer"
    train_tokenizer(texts, tok_dir, vocab_size=1000)
    tok = AutoTokenizer.from_pretrained(tok_dir)
    model = build_qwen3_model(tok, None, hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256)
    prompts = [render(tok, "released", "en", "en", t) for t in texts]
    examples = []
    for p, t in zip(prompts, texts):
        p_ids = tok(p)["input_ids"]
        full = p_ids + tok(t)["input_ids"] + [tok.eos_token_id]
        examples.append((full, len(p_ids)))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    t0 = time.time()
    for step in range(steps):
        batch = random.sample(examples, 16)
        width = max(len(x) for x, _ in batch)
        ids = torch.full((16, width), tok.pad_token_id)
        labels = torch.full((16, width), -100)
        mask = torch.zeros((16, width), dtype=torch.long)
        for i, (x, plen) in enumerate(batch):
            ids[i, : len(x)] = torch.tensor(x)
            labels[i, plen : len(x)] = torch.tensor(x[plen:])  # loss on the answer only
            mask[i, : len(x)] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        if step % 100 == 0 or step == steps - 1:
            print(f"  train step {step:4d} loss {loss.item():.3f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    model.save_pretrained(out / "model")
    tok.save_pretrained(out / "model")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flores", default="/work/shared/data/flores_lmt", help="FLORES-format directory")
    ap.add_argument("--n", type=int, default=256, help="sentences to translate")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--num-beams", type=int, default=1)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--train-steps", type=int, default=600)
    ap.add_argument("--cache", default=".cache/eval_bench", help="where the trained tiny model is kept")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    fl = FloresSet.discover(args.flores, "devtest")
    src = fl.sentences("en")[: args.n]
    train = FloresSet.discover(args.flores, "dev").sentences("en")
    cache = Path(args.cache) / f"copy_h128_s{args.train_steps}"
    if not (cache / "model" / "config.json").exists():
        print(f"training the tiny copy model ({args.train_steps} steps) into {cache} ...", flush=True)
        train_copy_model(train, cache, args.train_steps)
    eng = HFEngine(
        str(cache / "model"), num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size, do_sample=False, device="cpu",
    )  # fmt: skip
    prompts = [render(eng.tokenizer, "released", "en", "en", s) for s in src]
    eng.generate(prompts[: args.batch_size])  # warm-up (allocator, kernels)

    results = {}
    for label, sort in (("input order", False), ("length-sorted", True)):
        eng.sort_by_length = sort
        t0 = time.perf_counter()
        outs = eng.generate(prompts)
        dt = time.perf_counter() - t0
        results[label] = (dt, outs)
    (t_in, out_in), (t_sort, out_sort) = results["input order"], results["length-sorted"]
    same = sum(a == b for a, b in zip(out_in, out_sort))
    out_tokens = [len(eng.tokenizer(o)["input_ids"]) for o in out_sort]
    copies = sum(o.strip() == s.strip() for o, s in zip(out_sort, src))
    print()
    print(f"input: {fl.path('en')} (first {len(src)} sentences); model: {cache / 'model'}")
    print(f"batch {args.batch_size}, beams {args.num_beams}, max_new_tokens {args.max_new_tokens}, threads {torch.get_num_threads()}")
    print(f"output tokens per sentence: min {min(out_tokens)}, mean {sum(out_tokens) / len(out_tokens):.1f}, max {max(out_tokens)}; exact copies {copies}/{len(src)}")
    print()
    print(f"{'batching':<15} {'seconds':>8} {'sent/s':>8}")
    print(f"{'input order':<15} {t_in:8.2f} {len(src) / t_in:8.2f}")
    print(f"{'length-sorted':<15} {t_sort:8.2f} {len(src) / t_sort:8.2f}")
    print(f"speed-up {t_in / t_sort:.2f}x; identical outputs {same}/{len(src)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
