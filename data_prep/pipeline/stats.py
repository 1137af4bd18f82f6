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


PAPER_PMP_SHARE = 0.5  # train.sft.pmp defaults: half of every group's records get the PMP prompt
PMP_SAMPLE = 20_000  # records per direction whose prompt is decided for the card (the rest is read column-wise only)


def prompt_reasons(records: list[dict], aux_map: Any, seed: int) -> dict[str, int]:
    """How SFT would prompt these records at the paper's PMP shares (:func:`lmt.training.pmp.choose_prompt`)."""
    from lmt.training.pmp import choose_prompt

    out: dict[str, int] = {}
    for r in records:
        why = choose_prompt(r, aux_map, seed, PAPER_PMP_SHARE, PAPER_PMP_SHARE)[3]
        out[why] = out.get(why, 0) + 1
    return out


def data_card(root: "str | Path") -> dict[str, Any]:
    """Per-direction figures from the manifest and the shards.

    Returns:
        ``{"directions": [{direction, group, before, after, kept_share, aux,
        aux_share, pivot, pmp_share, prompt_reasons, avg_src_chars, avg_tgt_chars}],
        "pmp_groups": {group: share}, "pmp_warnings": [...], "drops": {...},
        "counts": {...}, "mono": {lang: {lines, avg_chars}}}``. PMP shares are
        those SFT realises at the paper's settings (half PMP where an auxiliary
        sentence exists) with the manifest's seed and auxiliary map, on the
        first ``PMP_SAMPLE`` records of each direction.
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
    from lmt.aux_map import AuxMap

    aux_map, seed = AuxMap.load(manifest.get("aux_map") or "default"), int(manifest.get("seed", 0))
    rows = []
    names = sorted(set(man_dirs) | {str(d) for d in shards})
    by_name = {str(d): files for d, files in shards.items()}
    for name in names:
        files = by_name.get(name, [])
        n = aux = 0
        src_chars = tgt_chars = 0
        reasons: dict[str, int] = {}
        for f in files:
            t = pq.read_table(f, columns=["src_lang", "tgt_lang", "src", "tgt", "aux_lang", "aux"])
            n += t.num_rows
            aux += t.num_rows - t.column("aux").null_count
            room = PMP_SAMPLE - sum(reasons.values())
            if room > 0:
                for why, c in prompt_reasons(t.slice(0, room).to_pylist(), aux_map, seed).items():
                    reasons[why] = reasons.get(why, 0) + c
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
                "pmp_share": reasons.get("pmp", 0) / sum(reasons.values()) if reasons else 0.0,
                "prompt_reasons": reasons,
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
    from lmt.training.plan import pmp_group_shares, pmp_warnings

    groups = pmp_group_shares({r["direction"]: r["prompt_reasons"] for r in rows if r["prompt_reasons"]})
    return {
        "directions": rows,
        "pmp_groups": {g: round(v["pmp_share"], 4) for g, v in groups.items()},
        "pmp_warnings": pmp_warnings(groups, {"forward": PAPER_PMP_SHARE, "reverse": PAPER_PMP_SHARE}),
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
    for col in ("direction", "group", "before", "after", "kept", "aux", "pivot", "avg src", "avg tgt", "PMP"):
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
            f"{100 * r['pmp_share']:.1f}%",
        )
    t.add_row("total", "", f"{total_b:,}", f"{total_a:,}", f"{100 * total_a / total_b:.1f}%" if total_b else "-", "", "", "", "", "")
    console.print(t)
    if card.get("pmp_groups"):
        console.print("PMP share per group (SFT at 50% PMP): " + ", ".join(f"{g} {100 * v:.1f}%" for g, v in card["pmp_groups"].items()))
    for w in card.get("pmp_warnings", []):
        console.print(f"[yellow]warning:[/yellow] {w}")
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
