"""Reports: per-direction JSON, Markdown/CSV tables by group and tier, heatmaps.

``scores/{src}-{tgt}.json`` holds every metric of one direction (with sacrebleu
signatures, COMET model, signature and segment scores, the off-target rate, the
number of empty hypotheses). :func:`write_reports` aggregates them into
``report.md`` / ``report.csv`` (mean per direction group en2x/x2en/zh2x/x2zh and
per resource tier; per direction every 95% bootstrap interval as ``+/-`` or a
``*_ci95`` column; the directions skipped for missing FLORES files) and draws
``heatmap_<metric>.png`` (source language x target language).
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Optional

from lmt.io import atomic_path, read_json, write_text_atomic
from lmt.languages import TIERS, get_language

GROUPS = ("en2x", "x2en", "zh2x", "x2zh")
METRIC_ORDER = ("comet", "chrf", "chrf++", "bleu", "off_target")
#: Column titles where the metric's name is not enough.
LABELS = {"off_target": "off-target %"}
#: Metrics where a smaller value is the better one.
LOWER_IS_BETTER = frozenset({"off_target"})


def record_file(eval_dir: "str | Path", record: dict, key: str = "hyp") -> Path:
    """A file named in a score record, resolved from the evaluation directory.

    Hypothesis paths are stored relative to the evaluation directory (the one
    holding ``scores/``), so results can be moved and compared from anywhere;
    absolute paths (FLORES files) are kept. Records written before that stored
    paths relative to the working directory: their hypotheses are found at
    ``hyps/{direction}.txt``.
    """
    eval_dir = Path(eval_dir)
    p = Path(record["files"][key])
    if p.is_absolute():
        return p
    if key == "hyp" and not (eval_dir / p).is_file():
        return eval_dir / "hyps" / f"{record['direction']}.txt"
    return eval_dir / p


def load_skipped(eval_dir: "str | Path") -> dict[str, str]:
    """Directions skipped by the last ``lmt eval`` (direction -> reason)."""
    path = Path(eval_dir, "skipped.json")
    return read_json(path) if path.is_file() else {}


def load_scores(eval_dir: "str | Path") -> list[dict]:
    """Every ``scores/*.json`` of an eval directory, sorted by direction."""
    files = sorted(Path(eval_dir, "scores").glob("*.json"))
    return [read_json(p) for p in files if not p.name.startswith(".")]


def _metric_names(rows: list[dict]) -> list[str]:
    present = {m for r in rows for m in r.get("metrics", {})}
    return [m for m in METRIC_ORDER if m in present]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def aggregate(rows: list[dict]) -> list[dict]:
    """Mean score per group, tier and group x tier (plus ``all``)."""
    metrics = _metric_names(rows)
    buckets: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        buckets[("all", "all")].append(r)
        buckets[("group", r["group"])].append(r)
        if r.get("tier"):
            buckets[("tier", r["tier"])].append(r)
            buckets[("group x tier", f"{r['group']}/{r['tier']}")].append(r)
    order = [("all", "all")]
    order += [("group", g) for g in GROUPS + ("other",)]
    order += [("tier", t) for t in TIERS]
    order += [("group x tier", f"{g}/{t}") for g in GROUPS for t in TIERS]
    out = []
    for key in order:
        items = buckets.get(key)
        if not items:
            continue
        row = {"level": key[0], "name": key[1], "directions": len(items), "empty_hyps": sum(r["n_empty_hyps"] for r in items)}
        for m in metrics:
            vals = [r["metrics"][m]["score"] for r in items if m in r["metrics"]]
            row[m] = round(_mean(vals), 2) if vals else None
        out.append(row)
    return out


def _fmt(v: Optional[float]) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"


def _cell(res: Optional[dict]) -> str:
    """``score +/- half-interval`` (the interval when bootstrapped)."""
    if res is None:
        return ""
    ci = res.get("ci95")
    return _fmt(res["score"]) + (f" +/- {ci:.2f}" if ci is not None else "")


def _label(metric: str) -> str:
    return LABELS.get(metric, metric)


def _with_ci(rows: list[dict], metrics: list[str]) -> list[str]:
    return [m for m in metrics if any("ci95" in r["metrics"].get(m, {}) for r in rows)]


def render_markdown(
    rows: list[dict], title: str = "FLORES-200 evaluation", skipped: Optional[dict[str, str]] = None
) -> str:
    """The Markdown report: aggregates, then every direction, then signatures."""
    metrics = _metric_names(rows)
    agg = aggregate(rows)
    lines = [f"# {title}", ""]
    if rows:
        r0 = rows[0]
        lines += [f"split: {r0.get('split', '')}, segments per direction: {r0.get('n_segments', '')}", ""]
    lines += ["## By direction group and resource tier", ""]
    lines.append("| level | name | directions | " + " | ".join(map(_label, metrics)) + " | empty hyps |")
    lines.append("|---|---|---:|" + "---:|" * len(metrics) + "---:|")
    for a in agg:
        lines.append(
            f"| {a['level']} | {a['name']} | {a['directions']} | "
            + " | ".join(_fmt(a.get(m)) for m in metrics)
            + f" | {a['empty_hyps']} |"
        )
    lines += ["", "## Per direction", ""]
    lines.append("| direction | group | tier | " + " | ".join(map(_label, metrics)) + " | empty hyps |")
    lines.append("|---|---|---|" + "---:|" * len(metrics) + "---:|")
    for r in rows:
        vals = [_cell(r["metrics"].get(m)) for m in metrics]
        lines.append(f"| {r['direction']} | {r['group']} | {r.get('tier', '')} | " + " | ".join(vals) + f" | {r['n_empty_hyps']} |")
    boots = sorted({r["metrics"][m].get("bootstrap") for r in rows for m in r["metrics"]} - {None})
    if boots:
        lines += ["", f"+/-: half-width of the 95% bootstrap interval ({', '.join(map(str, boots))} resamples)."]
    if skipped:
        lines += ["", "## Skipped directions", ""] + [f"- {d}: {why}" for d, why in sorted(skipped.items())]
    sigs = sorted({f"{m}: {res['signature']}" for r in rows for m, res in r["metrics"].items() if "signature" in res})
    # Score files written before COMET had a signature: name the model at least.
    old_comet = [r["metrics"]["comet"] for r in rows if "signature" not in r["metrics"].get("comet", {"signature": 1})]
    comet = sorted({res.get("model", "") for res in old_comet})
    lines += ["", "## Signatures", ""] + [f"- `{s}`" for s in sigs] + [f"- `comet: {c}`" for c in comet]
    return "\n".join(lines) + "\n"


def render_csv(rows: list[dict], skipped: Optional[dict[str, str]] = None) -> str:
    """CSV: one row per direction, then one per aggregate (``level`` column), then
    the skipped directions (``level`` = ``skipped``, the reason under ``note``).

    A metric with bootstrap intervals gets a ``<metric>_ci95`` column (half-width).
    """
    metrics = _metric_names(rows)
    with_ci = _with_ci(rows, metrics)
    cols = [c for m in metrics for c in ([m, f"{m}_ci95"] if m in with_ci else [m])]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["level", "name", "group", "tier", "directions", *cols, "empty_hyps", "note"])
    for r in rows:
        vals = []
        for m in metrics:
            res = r["metrics"].get(m, {})
            vals.append(res.get("score", ""))
            if m in with_ci:
                vals.append(res.get("ci95", ""))
        w.writerow(["direction", r["direction"], r["group"], r.get("tier", ""), 1, *vals, r["n_empty_hyps"], ""])
    for a in aggregate(rows):
        group = a["name"].split("/")[0] if a["level"] in ("group", "group x tier") else ""
        tier = a["name"].split("/")[-1] if a["level"] in ("tier", "group x tier") else ""
        vals = [v for m in metrics for v in ([a.get(m, ""), ""] if m in with_ci else [a.get(m, "")])]
        w.writerow([a["level"], a["name"], group, tier, a["directions"], *vals, a["empty_hyps"], ""])
    for d, why in sorted((skipped or {}).items()):
        w.writerow(["skipped", d, "", "", 0, *[""] * len(cols), "", why])
    return buf.getvalue()


def draw_heatmap(rows: list[dict], metric: str, path: "str | Path") -> Optional[Path]:
    """Source x target heatmap of one metric (``None`` when no direction has it)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt
    import numpy as np

    have = [r for r in rows if metric in r["metrics"]]
    if not have:
        return None

    def key(code: str) -> tuple:
        lang = get_language(code)
        return (0 if lang.code in ("eng_Latn", "zho_Hans") else 1, TIERS.index(lang.tier) if lang.tier else 3, code)

    srcs = sorted({r["src_lang"] for r in have}, key=key)
    tgts = sorted({r["tgt_lang"] for r in have}, key=key)
    grid = np.full((len(srcs), len(tgts)), np.nan)
    for r in have:
        grid[srcs.index(r["src_lang"]), tgts.index(r["tgt_lang"])] = r["metrics"][metric]["score"]
    short = lambda c: get_language(c).short or c  # noqa: E731
    w = max(4.0, 0.28 * len(tgts) + 2.5)
    h = max(2.5, 0.28 * len(srcs) + 1.8)
    fig, ax = plt.subplots(figsize=(w, h))
    im = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(tgts)), [short(c) for c in tgts], rotation=90, fontsize=7)
    ax.set_yticks(range(len(srcs)), [short(c) for c in srcs], fontsize=7)
    ax.set_xlabel("target")
    ax.set_ylabel("source")
    ax.set_title(f"{_label(metric)} by direction")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if grid.size <= 200:  # small grids: print the numbers in the cells
        for i in range(len(srcs)):
            for j in range(len(tgts)):
                if not np.isnan(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=6, color="w")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path


def write_reports(eval_dir: "str | Path", heatmap_metrics: Iterable[str] = ("comet", "chrf"), title: str = "FLORES-200 evaluation") -> list[Path]:
    """Write ``report.md``, ``report.csv`` and heatmaps from ``scores/``; return the paths."""
    eval_dir = Path(eval_dir)
    rows = load_scores(eval_dir)
    skipped = load_skipped(eval_dir)
    md, csv_path = eval_dir / "report.md", eval_dir / "report.csv"
    write_text_atomic(md, render_markdown(rows, title, skipped))
    write_text_atomic(csv_path, render_csv(rows, skipped))
    written = [md, csv_path]
    for m in heatmap_metrics:
        p = draw_heatmap(rows, m, eval_dir / f"heatmap_{m}.png")
        if p:
            written.append(p)
    return written
