"""The per-direction data card of a prep (or selection) output: ``lmt stats DIR``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from lmt.datafiles import MANIFEST, mono_shards, parallel_shards
from lmt.errors import DataError, MissingResourceError
from lmt.io import read_json


def data_card(root: "str | Path") -> dict[str, Any]:
    """Per-direction figures from the manifest and the shards.

    Returns:
        ``{"directions": [{direction, group, before, after, kept_share, aux,
        aux_share, pivot, avg_src_chars, avg_tgt_chars}], "drops": {...},
        "counts": {...}, "mono": {lang: {lines, avg_chars}}}``.
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingResourceError(f"{root} does not exist (run `lmt prep CONFIG` first)")
    manifest: dict = {}
    if (root / MANIFEST).is_file():
        try:
            manifest = read_json(root / MANIFEST)
        except ValueError as err:
            raise DataError(f"{root / MANIFEST}: not valid JSON: {err}") from None
    shards = parallel_shards(root)
    if not shards and not manifest:
        raise DataError(f"{root}: no manifest.json and no parallel shards: not a prep output")
    man_dirs = manifest.get("directions", {})
    rows = []
    names = sorted(set(man_dirs) | {str(d) for d in shards})
    by_name = {str(d): files for d, files in shards.items()}
    for name in names:
        files = by_name.get(name, [])
        n = aux = 0
        src_chars = tgt_chars = 0
        for f in files:
            t = pq.read_table(f, columns=["src", "tgt", "aux"])
            n += t.num_rows
            aux += t.num_rows - t.column("aux").null_count
            src_chars += pc.sum(pc.utf8_length(t.column("src"))).as_py() or 0
            tgt_chars += pc.sum(pc.utf8_length(t.column("tgt"))).as_py() or 0
        m = man_dirs.get(name, {})
        before = m.get("before", n)
        rows.append(
            {
                "direction": name,
                "group": m.get("group", ""),
                "before": before,
                "after": n,
                "kept_share": n / before if before else 0.0,
                "aux": aux,
                "aux_share": aux / n if n else 0.0,
                "pivot": m.get("pivot", 0),
                "avg_src_chars": src_chars / n if n else 0.0,
                "avg_tgt_chars": tgt_chars / n if n else 0.0,
            }
        )
    mono = {}
    for lang, files in mono_shards(root).items():
        lines = chars = 0
        for f in files:
            t = pq.read_table(f, columns=["text"])
            lines += t.num_rows
            chars += pc.sum(pc.utf8_length(t.column("text"))).as_py() or 0
        mono[lang] = {"lines": lines, "avg_chars": chars / lines if lines else 0.0}
    return {
        "directions": rows,
        "drops": manifest.get("counts", {}).get("drops", {}),
        "counts": manifest.get("counts", {}),
        "mono": mono,
    }


def render_card(card: dict, console=None) -> None:
    """Print the data card as rich tables."""
    from rich.console import Console
    from rich.table import Table

    # Pipes and CI logs get no terminal width: keep direction names whole there.
    console = console or Console(width=None if sys.stdout.isatty() else 120)
    t = Table(title="pairs per direction")
    for col in ("direction", "group", "before", "after", "kept", "aux", "pivot", "avg src", "avg tgt"):
        t.add_column(col, justify="left" if col in ("direction", "group") else "right", no_wrap=col == "direction")
    total_b = total_a = 0
    for r in card["directions"]:
        total_b += r["before"]
        total_a += r["after"]
        t.add_row(
            r["direction"],
            r["group"],
            f"{r['before']:,}",
            f"{r['after']:,}",
            f"{100 * r['kept_share']:.1f}%",
            f"{100 * r['aux_share']:.1f}%",
            f"{r['pivot']:,}",
            f"{r['avg_src_chars']:.1f}",
            f"{r['avg_tgt_chars']:.1f}",
        )
    t.add_row("total", "", f"{total_b:,}", f"{total_a:,}", f"{100 * total_a / total_b:.1f}%" if total_b else "-", "", "", "", "")
    console.print(t)
    counts = card.get("counts", {})
    if card["drops"] or counts.get("out_of_scope"):
        d = Table(title="drops by reason")
        d.add_column("reason")
        d.add_column("pairs", justify="right")
        for reason, n in sorted(card["drops"].items(), key=lambda kv: (-kv[1], kv[0])):
            d.add_row(reason, f"{n:,}")
        if counts.get("out_of_scope"):
            d.add_row("out of scope (no wanted direction; not filtered)", f"{counts['out_of_scope']:,}")
        console.print(d)
    for kind, n in sorted(counts.get("warnings", {}).items()):
        console.print(f"warning: {n:,} file(s) skipped: {kind.replace('_', ' ')}")
    if card["mono"]:
        m = Table(title="monolingual")
        m.add_column("lang")
        m.add_column("lines", justify="right")
        m.add_column("avg chars", justify="right")
        for lang, v in card["mono"].items():
            m.add_row(lang, f"{v['lines']:,}", f"{v['avg_chars']:.1f}")
        console.print(m)
