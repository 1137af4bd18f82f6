"""Evaluation throughput: length-sorted batching vs input-order batching.

    python benchmarks/eval_throughput.py --flores DIR [--n 256]     # or LMT_FLORES_DIR=DIR

Same tiny Qwen3 model, same FLORES-format input (``flores.devtest.en`` of an
LMT-style directory, or ``devtest/eng_Latn.devtest`` of a FLORES-200 one), same
engine (:class:`lmt.generation.HFEngine`); only ``sort_by_length`` changes. The
two runs are timed side by side and their outputs compared line by line.

A random model never emits the end-of-sequence token, so every output would
run to ``max_new_tokens`` and batching order could not matter. The script
therefore first trains the tiny model (hidden 128, 2 layers) to answer the
released prompt with a copy of the source and stop, on FLORES dev (cached under
``.cache/eval_bench``; ~20-30 CPU minutes, resumable: ``--train-steps N`` continues
from the longest cached shorter run). Its output lengths then follow the input
lengths, as a real translation model's do, and a batch of mixed lengths waits for
its longest member, which is what sorting avoids.
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

from lmt.generation import HFEngine  # noqa: E402
from eval.flores import FloresSet  # noqa: E402
from eval.prompting import render  # noqa: E402


def train_copy_model(texts: list[str], out: Path, steps: int, init: "Path | None" = None, lr: float = 3e-3, seed: int = 0) -> None:
    """Tiny Qwen3 trained to answer the released prompt with a copy of the source.

    ``init``: a shorter-trained model of this script to continue from.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lmt.modeling import build_qwen3_model, train_tokenizer

    torch.manual_seed(seed)
    random.seed(seed + (0 if init is None else 1))
    if init is None:
        tok_dir = out / "tokenizer"
        train_tokenizer(texts, tok_dir, vocab_size=1000)
        tok = AutoTokenizer.from_pretrained(tok_dir)
        model = build_qwen3_model(tok, None, hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256)
    else:
        tok = AutoTokenizer.from_pretrained(init)
        model = AutoModelForCausalLM.from_pretrained(init)
    prompts = [render(tok, "released", "en", "en", t) for t in texts]
    examples = []
    for p, t in zip(prompts, texts):
        p_ids = tok(p)["input_ids"]
        full = p_ids + tok(t)["input_ids"] + [tok.eos_token_id]
        examples.append((full, len(p_ids)))
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
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
        sched.step()
        opt.zero_grad()
        if step % 100 == 0 or step == steps - 1:
            print(f"  train step {step:4d} loss {loss.item():.3f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    model.save_pretrained(out / "model")
    tok.save_pretrained(out / "model")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    flores = os.environ.get("LMT_FLORES_DIR")
    ap.add_argument(
        "--flores", default=flores, required=flores is None, help="FLORES-format directory (default: $LMT_FLORES_DIR)"
    )
    ap.add_argument("--n", type=int, default=256, help="sentences to translate per split")
    ap.add_argument("--splits", nargs="+", default=["dev", "devtest"], help="FLORES splits to translate")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--num-beams", type=int, default=1)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--train-steps", type=int, default=4500)
    ap.add_argument("--cache", default=".cache/eval_bench", help="where the trained tiny model is kept")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    train = FloresSet.discover(args.flores, "dev").sentences("en")
    cache = Path(args.cache) / f"copy_h128_s{args.train_steps}"
    if not (cache / "model" / "config.json").exists():
        # Continue from the longest shorter run in the cache, if any (training is the slow part).
        done = sorted(
            (int(p.name.rsplit("_s", 1)[1]), p) for p in Path(args.cache).glob("copy_h128_s*")
            if (p / "model" / "config.json").exists() and int(p.name.rsplit("_s", 1)[1]) < args.train_steps
        )  # fmt: skip
        init = done[-1][1] / "model" if done else None
        steps = args.train_steps - (done[-1][0] if done else 0)
        print(f"training the tiny copy model ({steps} steps{f' from {init}' if init else ''}) into {cache} ...", flush=True)
        train_copy_model(train, cache, steps, init=init, lr=1e-3 if init else 3e-3)
    eng = HFEngine(
        str(cache / "model"), num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size, do_sample=False, device="cpu",
    )  # fmt: skip
    print(f"model: {cache / 'model'}; batch {args.batch_size}, beams {args.num_beams}, "
          f"max_new_tokens {args.max_new_tokens}, threads {torch.get_num_threads()}")  # fmt: skip
    rows = []
    for split in args.splits:
        fl = FloresSet.discover(args.flores, split)
        src = fl.sentences("en")[: args.n]
        prompts = [render(eng.tokenizer, "released", "en", "en", s) for s in src]
        eng.generate(prompts[: args.batch_size])  # warm-up (allocator, kernels)
        timed = {}
        for sort in (False, True):
            eng.sort_by_length = sort
            t0 = time.perf_counter()
            outs = eng.generate(prompts)
            timed[sort] = (time.perf_counter() - t0, outs)
        (t_in, out_in), (t_sort, out_sort) = timed[False], timed[True]
        lens = [len(eng.tokenizer(o)["input_ids"]) for o in out_sort]
        rows.append(
            dict(
                split=split, file=str(fl.path("en")), n=len(src), t_in=t_in, t_sort=t_sort,
                same=sum(a == b for a, b in zip(out_in, out_sort)),
                copies=sum(o.strip() == x.strip() for o, x in zip(out_sort, src)),
                lens=(min(lens), sum(lens) / len(lens), max(lens)),
            )
        )  # fmt: skip
    print()
    print(f"{'split':<8} {'sents':>5} {'input-order s/s':>16} {'sorted s/s':>11} {'speed-up':>9} {'identical':>10} {'copies':>7} {'out tokens min/mean/max':>24}")
    for r in rows:
        lo, mean, hi = r["lens"]
        print(
            f"{r['split']:<8} {r['n']:>5} {r['n'] / r['t_in']:>16.2f} {r['n'] / r['t_sort']:>11.2f} "
            f"{r['t_in'] / r['t_sort']:>8.2f}x {r['same']:>5}/{r['n']:<4} {r['copies']:>7} {f'{lo}/{mean:.0f}/{hi}':>24}"
        )
    print("\n(the tiny model was trained to copy FLORES dev: there its output lengths follow the inputs, as a real")
    print(" MT model's do; on devtest it copies loosely and some outputs run to max_new_tokens in either order)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
