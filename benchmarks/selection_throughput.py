"""Selection benchmark: MIWV throughput on CPU and retrieval peak memory.

Run::

    OMP_NUM_THREADS=1 python benchmarks/selection_throughput.py
    OMP_NUM_THREADS=1 python benchmarks/selection_throughput.py --samples 256 --sizes 100000 1000000 --dim 256

Part 1 scores MIWV for ``--samples`` FLORES dev pairs (../shared/data/flores200
when present, else the test sentences repeated) with the tiny Qwen3 model
(random weights, a SentencePiece tokenizer trained on the same text), twice:

* ``batched``: :func:`data_prep.selection.miwv.miwv_scores` (length-sorted
  batches, output projection on response positions only);
* ``naive``: one sample at a time, full forward with logits over every position
  (the straightforward implementation), as the baseline.

It prints samples/s of both and the largest difference between their scores.

Part 2 measures the nearest-neighbour search's peak resident memory at each
``--sizes`` N (random ``--dim`` embeddings), each engine in a fresh process:
the blocked search, faiss (when installed) and the full N x N similarity matrix
baseline (only where it fits in ``--max-full-gb``). The search answers the first
``--queries`` queries against all N keys: memory does not depend on how many
query blocks run (each reuses one tile), and the printed full-search time is
extrapolated linearly from the measured part.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FLORES = ROOT.parent / "shared" / "data" / "flores200" / "dev"
PAIRS = [("eng_Latn", "deu_Latn"), ("eng_Latn", "kir_Cyrl"), ("zho_Hans", "rus_Cyrl"), ("eng_Latn", "zho_Hans")]


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) so imports do not count."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def rss_mb() -> float:
    """Resident memory now (MiB)."""
    return _status_mb("VmRSS")


def peak_mb() -> float:
    """Peak resident memory since the last :func:`reset_peak` (MiB)."""
    return _status_mb("VmHWM")


def load_pairs(n: int):
    from data_prep.selection.miwv import Sample

    if FLORES.is_dir():
        text = {c: (FLORES / f"{c}.dev").read_text(encoding="utf-8").splitlines() for p in PAIRS for c in p}
        source = str(FLORES)
    else:
        from tests.conftest import PARALLEL

        text = {c: PARALLEL[c] * 200 for p in PAIRS for c in p}
        source = "tests/conftest.py sentences (FLORES not found)"
    per = -(-n // len(PAIRS))
    samples = [Sample(s, t, text[s][i], text[t][i]) for s, t in PAIRS for i in range(per)][:n]
    return samples, text, source


def naive_losses(model, tok, template, samples, neighbors, max_length):
    """Baseline: unbatched, full logits, two forwards per sample."""
    import torch

    from data_prep.selection.miwv import encode, one_shot_user_text, user_text

    out = []
    with torch.inference_mode():
        for i, s in enumerate(samples):
            vals = []
            for user in (one_shot_user_text(template, samples[neighbors[i]], s), user_text(template, s)):
                ids, n_resp = encode(tok, user, s.tgt, True, max_length)
                x = torch.tensor([ids])
                logp = torch.log_softmax(model(input_ids=x).logits[0].float(), -1)
                pos = torch.arange(len(ids) - n_resp, len(ids))
                vals.append(float(-logp[pos - 1, x[0, pos]].mean()))
            out.append(vals[0] - vals[1])
    return np.asarray(out)


def bench_miwv(n: int, batch_size: int) -> None:
    import torch

    from data_prep.selection.embed import embed_texts
    from data_prep.selection.miwv import example_text, miwv_scores
    from data_prep.selection.retrieval import nearest_neighbors
    from lmt.modeling import build_qwen3_model, train_tokenizer
    from lmt.prompts import get_template

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    samples, text, source = load_pairs(n)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = [line for lines in text.values() for line in lines[:1000]]
        tok = train_tokenizer(corpus, Path(tmp) / "tok", vocab_size=4000)
        model = build_qwen3_model(tok).eval()
    template = get_template("stp")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"## MIWV throughput (CPU, {torch.get_num_threads()} thread(s))")
    print(
        f"data: {len(samples)} pairs from {source}; model: tiny Qwen3, {n_params / 1e6:.2f}M params, vocab {len(tok)}"
    )

    t0 = time.perf_counter()
    emb = embed_texts(model, tok, [example_text(template, s) for s in samples], batch_size, 1024)
    neighbors, _ = nearest_neighbors(emb, engine="blocked")
    t_emb = time.perf_counter() - t0

    t0 = time.perf_counter()
    fast, _, _ = miwv_scores(model, tok, template, samples, neighbors, range(len(samples)), True, batch_size, 1024)
    t_fast = time.perf_counter() - t0

    t0 = time.perf_counter()
    slow = naive_losses(model, tok, template, samples, neighbors, 1024)
    t_slow = time.perf_counter() - t0

    print(f"{'variant':<34}{'seconds':>10}{'samples/s':>12}")
    print(f"{'embeddings + retrieval':<34}{t_emb:>10.2f}{len(samples) / t_emb:>12.1f}")
    print(f"{'MIWV batched (batch ' + str(batch_size) + ')':<34}{t_fast:>10.2f}{len(samples) / t_fast:>12.1f}")
    print(f"{'MIWV naive baseline (batch 1)':<34}{t_slow:>10.2f}{len(samples) / t_slow:>12.1f}")
    print(f"speed-up x{t_slow / t_fast:.1f}; max |batched - naive| = {np.max(np.abs(fast - slow)):.2e}")


def _child(engine: str, n: int, dim: int, queries: int, block: int) -> None:
    """One measurement in a fresh process (so ru_maxrss is this engine's alone)."""
    from data_prep.selection.retrieval import l2_normalize, nearest_neighbors

    rng = np.random.default_rng(0)
    emb = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):  # fill in blocks: no float64 temporary of N x d
        emb[s : s + 100_000] = rng.standard_normal((min(100_000, n - s), dim), dtype=np.float32)
    l2_normalize(emb, inplace=True)
    if engine == "faiss":
        import faiss  # noqa: F401  (library load is not search memory)
    reset_peak()
    base = rss_mb()
    t0 = time.perf_counter()
    q = min(queries, n)
    if engine == "full":
        x = emb[:q]
        sim = x @ emb.T  # the baseline: one similarity row per query, all N columns at once
        sim[np.arange(q), np.arange(q)] = -np.inf
        sim.argmax(axis=1)
    else:
        nearest_neighbors(emb, engine=engine, block_size=block, start=0, stop=q, normalized=True)
    dt = time.perf_counter() - t0
    print(json.dumps({"base_mb": base, "peak_mb": peak_mb(), "seconds": dt, "queries": q}))


def bench_retrieval(sizes: list[int], dim: int, queries: int, block: int, max_full_gb: float) -> None:
    from data_prep.selection.retrieval import have_faiss

    print(f"\n## Nearest-neighbour retrieval memory (dim {dim}, float32, block {block})")
    print("search = peak RSS during the search minus RSS before it (embeddings loaded, libraries imported)")
    print(
        f"{'N':>9} {'engine':<8}{'embeddings MB':>14}{'search MB':>11}{'peak MB':>9}{'queries':>9}{'s measured':>11}{'s full N (est.)':>16}"
    )
    engines = ["blocked"] + (["faiss"] if have_faiss() else []) + ["full"]
    for n in sizes:
        for engine in engines:
            full_gb = n * n * 4 / 2**30
            if engine == "full" and full_gb > max_full_gb:
                print(f"{n:>9} {'full':<8}  does not fit: the N x N float32 matrix needs {full_gb:,.0f} GiB")
                continue
            q = n if engine == "full" else queries
            cmd = [sys.executable, __file__, "--child", engine, str(n), str(dim), str(q), str(block)]
            res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "LMT_PROGRESS": "0"})
            if res.returncode != 0:
                print(f"{n:>9} {engine:<8}  failed: {res.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            est = r["seconds"] * n / r["queries"]
            print(
                f"{n:>9} {engine:<8}{n * dim * 4 / 2**20:>14.0f}{r['peak_mb'] - r['base_mb']:>11.0f}{r['peak_mb']:>9.0f}"
                f"{r['queries']:>9}{r['seconds']:>11.2f}{est:>16.0f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--queries", type=int, default=4096, help="queries answered per measurement (blocked/faiss)")
    ap.add_argument("--block", type=int, default=4096)
    ap.add_argument("--max-full-gb", type=float, default=2.0, help="skip the full-matrix baseline above this size")
    ap.add_argument("--skip-miwv", action="store_true")
    ap.add_argument("--skip-retrieval", action="store_true")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("LMT_PROGRESS", "0")
    if args.child:
        engine, n, dim, q, block = args.child
        _child(engine, int(n), int(dim), int(q), int(block))
        return
    if not args.skip_miwv:
        bench_miwv(args.samples, args.batch_size)
    if not args.skip_retrieval:
        bench_retrieval(args.sizes, args.dim, args.queries, args.block, args.max_full_gb)


if __name__ == "__main__":
    main()
