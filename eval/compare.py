"""``lmt compare RUN_A RUN_B``: per-direction and per-group deltas with significance.

chrF, chrF++ and BLEU are tested with sacrebleu's paired tests on the saved
hypotheses (paired bootstrap resampling by default, or approximate
randomisation); COMET and the off-target rate with a paired bootstrap over
their saved segment scores (sacrebleu has no test for them). A delta is flagged
when p < alpha; for the off-target rate a negative delta is the better one.
Hypotheses are read from each run's own directory (score files name them
relative to it), so the working directory does not matter.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Optional

import numpy as np

from eval.metrics import SACREBLEU_METRICS, make_metric
from eval.report import GROUPS, LABELS, LOWER_IS_BETTER, METRIC_ORDER, load_scores, record_file
from lmt.errors import DataError, MissingResourceError
from lmt.languages import TIERS


def resolve_eval_dir(path: "str | Path") -> Path:
    """Accept an eval directory, or a run directory holding ``eval/``."""
    p = Path(path)
    for cand in (p, p / "eval"):
        if (cand / "scores").is_dir():
            return cand
    raise MissingResourceError(f"{p} is not an evaluation directory (no scores/ in it or in {p / 'eval'}); run `lmt eval` first")


def _read(path: str) -> list[str]:
    from eval.runner import read_lines

    return read_lines(path)


def paired_bootstrap_segments(a: list[float], b: list[float], n_samples: int = 1000, seed: int = 12345) -> tuple[float, float]:
    """Paired bootstrap on segment scores: (p-value of B != A, 95% CI half-width of the delta)."""
    x, y = np.asarray(a), np.asarray(b)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_samples, len(x)))
    deltas = y[idx].mean(axis=1) - x[idx].mean(axis=1)
    observed = y.mean() - x.mean()
    # Same null as sacrebleu's paired bootstrap: recentre the resampled deltas.
    p = (np.sum(np.abs(deltas - deltas.mean()) >= abs(observed)) + 1) / (n_samples + 1)
    return float(p), float(1.96 * deltas.std())


def sacrebleu_paired(metric_name: str, tgt_lang: str, hyps_a: list[str], hyps_b: list[str], refs: list[str], test: str, n_samples: int, rec_a: dict) -> tuple[float, Optional[float]]:
    """p-value (and CI half-width of B) from sacrebleu's PairedTest."""
    from sacrebleu.significance import PairedTest

    sig = rec_a["metrics"][metric_name].get("signature", "")
    tok = "auto"
    for part in sig.split("|"):
        if part.startswith("tok:"):
            tok = part[4:]
    spm = rec_a["metrics"][metric_name].get("spm_model")
    metric = make_metric(metric_name, tgt_lang, tok if tok != "flores200" else "auto", spm)
    pt = PairedTest([("A", hyps_a), ("B", hyps_b)], {metric_name: metric}, [refs], test_type=test, n_samples=n_samples)
    _, scores = pt()
    res = list(scores.values())[1][1]
    return float(res.p_value), (float(res.ci) if res.ci is not None else None)


def compare_runs(run_a: "str | Path", run_b: "str | Path", metrics: Optional[list[str]] = None, test: str = "bs", n_samples: int = 1000, alpha: float = 0.05) -> dict:
    """Compare two evaluations.

    Returns:
        ``{"directions": [...], "groups": [...], "metrics": [...]}``; each
        direction row has ``{metric: {"a", "b", "delta", "p", "significant"}}``.
    """
    a_dir, b_dir = resolve_eval_dir(run_a), resolve_eval_dir(run_b)
    a = {r["direction"]: r for r in load_scores(a_dir)}
    b = {r["direction"]: r for r in load_scores(b_dir)}
    common = sorted(set(a) & set(b))
    if not common:
        raise DataError(f"{a_dir} and {b_dir} share no evaluated direction")
    present = [m for m in METRIC_ORDER if all(m in a[d]["metrics"] and m in b[d]["metrics"] for d in common)]
    missing = [m for m in (metrics or []) if m not in present]
    if missing:
        raise DataError(f"metric(s) {missing} not in both runs for every shared direction; available: {', '.join(present)}")
    metrics = list(metrics or present)
    if not metrics:
        raise DataError(f"no metric is present in both {a_dir} and {b_dir} for every shared direction")
    rows = []
    for d in common:
        ra, rb = a[d], b[d]
        if ra["n_segments"] != rb["n_segments"]:
            raise DataError(
                f"{d}: {record_file(a_dir, ra)} has {ra['n_segments']} segments but {record_file(b_dir, rb)} has {rb['n_segments']}"
            )
        row = {"direction": d, "group": ra["group"], "tier": ra.get("tier", "")}
        hyps_a = hyps_b = refs = None
        for m in metrics:
            sa, sb = ra["metrics"][m]["score"], rb["metrics"][m]["score"]
            cell = {"a": sa, "b": sb, "delta": round(sb - sa, 4), "p": None, "significant": False}
            if m in SACREBLEU_METRICS:
                if hyps_a is None:
                    hyps_a, hyps_b = _read(record_file(a_dir, ra)), _read(record_file(b_dir, rb))
                    refs = _read(record_file(a_dir, ra, "ref"))[: len(hyps_a)]
                p, ci = sacrebleu_paired(m, ra["tgt_lang"], hyps_a, hyps_b, refs, test, n_samples, ra)
                cell["p"], cell["ci95_b"] = p, ci
            else:  # comet, off_target: segment scores (x 100 in the corpus score)
                segs_a, segs_b = ra["metrics"][m].get("segments"), rb["metrics"][m].get("segments")
                if segs_a and segs_b and len(segs_a) == len(segs_b):
                    p, ci = paired_bootstrap_segments(segs_a, segs_b, n_samples)
                    cell["p"], cell["ci95_delta"] = p, round(100 * ci, 4)
            cell["significant"] = cell["p"] is not None and cell["p"] < alpha and cell["delta"] != 0
            row[m] = cell
        rows.append(row)
    groups = []
    buckets: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        buckets["all"].append(r)
        buckets[r["group"]].append(r)
        if r["tier"]:
            buckets[r["tier"]].append(r)
    for name in ("all", *GROUPS, "other", *TIERS):
        items = buckets.get(name)
        if not items:
            continue
        g = {"name": name, "directions": len(items)}
        for m in metrics:
            deltas = [r[m]["delta"] for r in items]
            sign = -1 if m in LOWER_IS_BETTER else 1
            g[m] = {
                "delta": round(sum(deltas) / len(deltas), 4),
                "better": sum(1 for r in items if r[m]["significant"] and sign * r[m]["delta"] > 0),
                "worse": sum(1 for r in items if r[m]["significant"] and sign * r[m]["delta"] < 0),
            }
        groups.append(g)
    return {"a": str(a_dir), "b": str(b_dir), "metrics": metrics, "test": test, "alpha": alpha, "directions": rows, "groups": groups,
            "only_a": sorted(set(a) - set(b)), "only_b": sorted(set(b) - set(a))}  # fmt: skip


def format_comparison(res: dict) -> str:
    """Plain-text tables: per direction (``*`` marks p < alpha) and per group."""
    ms = res["metrics"]
    lines = [f"A = {res['a']}", f"B = {res['b']}", f"delta = B - A; * = significant (paired {'bootstrap' if res['test'] == 'bs' else 'approximate randomisation'}, p < {res['alpha']})", ""]
    head = f"{'direction':<20} " + " ".join(f"{LABELS.get(m, m):>22}" for m in ms)
    lines += [head, "-" * len(head)]
    for r in res["directions"]:
        cells = []
        for m in ms:
            c = r[m]
            mark = "*" if c["significant"] else " "
            cells.append(f"{c['a']:>7.2f} {c['b']:>7.2f} {c['delta']:>+6.2f}{mark}")
        lines.append(f"{r['direction']:<20} " + " ".join(f"{x:>22}" for x in cells))
    lines += ["", f"{'group':<20} {'dirs':>4} " + " ".join(f"{LABELS.get(m, m) + ' delta (+/-)':>22}" for m in ms)]
    for g in res["groups"]:
        cells = [f"{g[m]['delta']:+.2f} ({g[m]['better']}+/{g[m]['worse']}-)" for m in ms]
        lines.append(f"{g['name']:<20} {g['directions']:>4} " + " ".join(f"{x:>22}" for x in cells))
    if res["only_a"] or res["only_b"]:
        lines += ["", f"only in A: {len(res['only_a'])} directions; only in B: {len(res['only_b'])}"]
    return "\n".join(lines)
