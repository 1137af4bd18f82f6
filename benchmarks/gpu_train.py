"""Packed SFT training throughput per attention kernel, and HF generation speed, on one GPU.

A Qwen3-0.6B-shaped model built from its config (random weights, nothing
downloaded) trains on packed 1024-token SFT rows (8 rows = 8,192 tokens per
step, the per-GPU budget of the shipped recipes) in bfloat16 with the pieces
the recipes use: :func:`lmt.training.packing.pack_sft`/``collate_packed``
(per-document positions, loss positions), :func:`lmt.training.loss.packed_loss_sum`
(chunked cross-entropy) and the packed attention kernels of
:mod:`lmt.training.attention`, each timed on the same rows:

* ``sdpa-loop``: ``lmt_packed_sdpa``, the per-document Python loop (CPU path);
* ``flex``: ``lmt_packed_flex``, FlexAttention with the document block mask;
* ``varlen``: ``lmt_packed_varlen``, ``torch.nn.attention.varlen`` (when present);
* ``sdpa-mask``: transformers' ``sdpa`` with the block-diagonal mask it derives
  from the position restarts (an L x L mask per row);
* ``flash_attention_2``: when the ``flash-attn`` package is installed.

Printed per kernel: real (non-pad) tokens/s, MFU (model FLOPs actually computed:
6 x matmul parameters per token, causal attention per document, the vocabulary
projection at loss positions only; against the GPU's dense bf16 peak), peak
memory; then sentences/s of :class:`lmt.generation.hf.HFEngine` (greedy and beam
search, fixed output length since random weights never stop).

The optimizer is ``torch.optim.AdamW`` (fused on CUDA) on the bf16 weights, not
DeepSpeed's fp32 master copy: this measures the kernels, not ZeRO.

Needs only torch, transformers, numpy and tqdm (no install: the repository root
is put on ``sys.path``). Fits in 5 minutes on one H100/H200::

    python benchmarks/gpu_train.py                   # GPU, Qwen3-0.6B shape
    python benchmarks/gpu_train.py --tiny            # CPU check: tiny model, few steps
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LMT_PROGRESS", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lmt.training import attention  # noqa: E402
from lmt.training.loss import packed_loss_sum  # noqa: E402
from lmt.training.packing import collate_packed, pack_row, pack_sft  # noqa: E402

QWEN3_0_6B = dict(
    vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
    num_key_value_heads=8, head_dim=128, max_position_embeddings=40960, rope_theta=1_000_000.0,
    tie_word_embeddings=True, rms_norm_eps=1e-6,
)
TINY = dict(
    vocab_size=2000, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, head_dim=16, max_position_embeddings=1024, tie_word_embeddings=True,
)
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "H800": 989.0, "A100": 312.0, "A800": 312.0, "L40S": 362.0, "B200": 2250.0}


def sft_rows(n_rows: int, max_length: int, vocab: int, seed: int) -> list[dict]:
    """Packed rows of synthetic SFT examples: prompts 20-250 tokens (no loss), responses 10-200 tokens."""
    rng = np.random.default_rng(seed)
    examples = []
    while sum(len(x) for x, _ in examples) < n_rows * max_length * 1.02:
        p, r = int(rng.integers(20, 250)), int(rng.integers(10, 200))
        ids = rng.integers(10, vocab, size=min(p + r, max_length)).tolist()
        examples.append((ids, [-100] * min(p, len(ids)) + ids[p:]))
    bins = pack_sft([len(x) for x, _ in examples], max_length, seed=seed)
    return [pack_row([examples[i] for i in b], max_length, pad_id=0) for b in bins[:n_rows]]


def model_flops(cfg: object, batch: dict) -> float:
    """FLOPs of one forward + backward as computed (see module docs)."""
    h, layers = cfg.hidden_size, cfg.num_hidden_layers
    q_dim, kv_dim = cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim
    per_layer = h * (q_dim + 2 * kv_dim) + q_dim * h + 3 * h * cfg.intermediate_size
    tokens = batch["input_ids"].numel()
    flops = 6 * per_layer * layers * tokens
    for row in batch["position_ids"]:
        for s, e in attention.segment_bounds(row):
            # QK^T and AV over the causal half, forward (x1) and backward (x2).
            flops += 3 * 2 * 2 * (e - s) * (e - s + 1) / 2 * q_dim * layers
    flops += 6 * h * cfg.vocab_size * batch["shift_labels"].numel()
    return float(flops)


def peak_tflops(override: float | None) -> float | None:
    if override:
        return override
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def kernels(device: str) -> list[tuple[str, str]]:
    """``(label, transformers attention name)`` of every kernel this machine can run."""
    attention.register()
    out = [("sdpa-loop", attention.PACKED_SDPA), ("flex", attention.PACKED_FLEX)]
    if device == "cuda" and attention.varlen_available():
        out.append(("varlen", attention.PACKED_VARLEN))
    out.append(("sdpa-mask", "sdpa"))
    if device == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        out.append(("flash_attention_2", "flash_attention_2"))
    return out


def allow_flex_backward_on_cpu() -> None:
    """PyTorch refuses autograd through eager FlexAttention on CPU; its dense reference is fine for a check run."""
    import torch.nn.attention.flex_attention as flex

    validate = flex._validate_device
    flex._validate_device = lambda q, k, v: validate(q.detach(), k.detach(), v.detach())


def train_kernel(model: object, impl: str, batches: list[dict], warmup: int, steps: int, device: str) -> dict:
    model.set_attn_implementation(impl)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device == "cuda")
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()

    def step(batch: dict) -> float:
        n_loss = batch["shift_labels"].ne(-100).sum()
        loss = packed_loss_sum(model, batch) / n_loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss.detach())

    t0 = time.perf_counter()
    for i in range(warmup):
        step(batches[i % len(batches)])
    sync(device)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tokens, flops, loss = 0, 0.0, 0.0
    for i in range(steps):
        batch = batches[(warmup + i) % len(batches)]
        loss = step(batch)
        tokens += batch["real_tokens"]
        flops += batch["flops"]
    sync(device)
    dt = time.perf_counter() - t0
    del opt
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    return {"tokens_per_s": tokens / dt, "tflops": flops / dt / 1e12, "peak_gib": peak, "warmup_s": compile_s, "loss": loss}


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def save_for_generation(model: object, vocab: int, out: Path) -> None:
    """The model plus a small byte-level BPE tokenizer (ids fit the model's vocabulary) as an HF directory."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    texts = [f"Translate the following text from English into German: sentence number {i} about cats." for i in range(200)]
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=min(vocab, 600), special_tokens=["<|endoftext|>"], show_progress=False))
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>").save_pretrained(out)
    model.set_attn_implementation("sdpa")
    model.config.use_cache = True
    model.save_pretrained(out)


def generation(model_dir: Path, device: str, n: int, new_tokens: int, beams: int, batch_size: int, dtype: str) -> float:
    from lmt.generation.hf import HFEngine

    engine = HFEngine(
        str(model_dir), num_beams=beams, max_new_tokens=new_tokens, batch_size=batch_size, do_sample=False, dtype=dtype, device=device
    )
    engine.model.generation_config.eos_token_id = None  # random weights: every output runs to max_new_tokens
    prompts = [f"Translate the following text from English into German: sentence {i} " + "about cats " * (i % 7) for i in range(n)]
    engine.generate(prompts[:batch_size])  # warm-up
    sync(device)
    t0 = time.perf_counter()
    engine.generate(prompts)
    sync(device)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiny", action="store_true", help="tiny model and few steps (runs on CPU)")
    ap.add_argument("--max-length", type=int, default=None, help="packed row length (default 1024; tiny 256)")
    ap.add_argument("--rows", type=int, default=None, help="rows per step (default 8; tiny 2)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per kernel (default 10; tiny 2)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (compilation; default 3; tiny 1)")
    ap.add_argument("--only", nargs="*", default=None, help="kernel labels to run (default: all available)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak for MFU (default: from the GPU name)")
    ap.add_argument("--gen-sentences", type=int, default=None, help="prompts for generation (default 256; tiny 8)")
    ap.add_argument("--gen-tokens", type=int, default=None, help="new tokens per sentence (default 64; tiny 16)")
    args = ap.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    tiny = args.tiny or device == "cpu"
    max_length = args.max_length or (256 if tiny else 1024)
    rows = args.rows or (2 if tiny else 8)
    steps = args.steps or (2 if tiny else 10)
    warmup = args.warmup if args.warmup is not None else (1 if tiny else 3)
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    if device == "cpu":
        allow_flex_backward_on_cpu()

    from transformers import AutoModelForCausalLM, Qwen3Config

    cfg = Qwen3Config(**(TINY if tiny else QWEN3_0_6B))
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg, dtype=dtype).to(device)
    model.config.use_cache = False
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    batches = []
    for b in range(warmup + steps):
        packed = sft_rows(rows, max_length, cfg.vocab_size, seed=b)
        batch = {k: v.to(device) for k, v in collate_packed(packed, loss_positions=True).items()}
        batch["real_tokens"] = sum(r["n_real_tokens"] for r in packed)
        batch["flops"] = model_flops(cfg, batch)
        batches.append(batch)
    peak = peak_tflops(args.peak_tflops)
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    print(f"# {name}; torch {torch.__version__}; model {n_params / 1e6:.1f}M params ({'tiny' if tiny else 'Qwen3-0.6B shape'}), "
          f"{str(dtype).replace('torch.', '')}; {rows} x {max_length} tokens per step; {warmup} warm-up + {steps} timed steps")
    results = {}
    print(f"{'kernel':<18} {'tokens/s':>10} {'TFLOP/s':>8} {'MFU':>6} {'peak GiB':>9} {'warm-up s':>9} {'loss':>8}")
    for label, impl in kernels(device):
        if args.only and label not in args.only:
            continue
        try:
            r = train_kernel(model, impl, batches, warmup, steps, device)
        except Exception as err:  # a kernel this build cannot run: say so, keep the others
            print(f"{label:<18} failed: {type(err).__name__}: {str(err).splitlines()[0][:120]}")
            continue
        results[label] = r
        mfu = f"{100 * r['tflops'] / peak:.1f}%" if peak else "-"
        print(f"{label:<18} {r['tokens_per_s']:>10.0f} {r['tflops']:>8.1f} {mfu:>6} {r['peak_gib']:>9.1f} {r['warmup_s']:>9.1f} {r['loss']:>8.1f}")
    if "sdpa-loop" in results:
        base = results["sdpa-loop"]["tokens_per_s"]
        print("speed-up over the per-document loop: " + ", ".join(f"{k} x{v['tokens_per_s'] / base:.2f}" for k, v in results.items()))

    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        save_for_generation(model, cfg.vocab_size, Path(tmp))
        del model, batches
        if device == "cuda":
            torch.cuda.empty_cache()
        n = args.gen_sentences or (8 if tiny else 256)
        new_tokens = args.gen_tokens or (16 if tiny else 64)
        gen_dtype = "bfloat16" if dtype == torch.bfloat16 else "float32"
        for beams, bs in ((1, 64 if not tiny else 4), (5, 16 if not tiny else 4)):
            sps = generation(Path(tmp), device, n, new_tokens, beams, bs, gen_dtype)
            print(f"HF engine generation: {sps:.2f} sentences/s ({n} prompts, batch {bs}, beams {beams}, {new_tokens} new tokens each)")


if __name__ == "__main__":
    main()
