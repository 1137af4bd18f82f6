"""The on-disk layout stages exchange, and readers for it.

A data directory (prep output, selection output) looks like::

    DIR/manifest.json                         counts, drops, fingerprints, config hash
    DIR/parallel/{src}-{tgt}/part-00000.parquet   parallel records (lmt.schemas.PARALLEL_SCHEMA + score columns)
    DIR/mono/{lang}/part-00000.parquet            monolingual records (lmt.schemas.MONO_SCHEMA)

``{src}-{tgt}`` are FLORES codes (``eng_Latn-kir_Cyrl``). Every Parquet file is
complete (written atomically) and loadable with
``datasets.load_dataset("parquet", data_files=...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from lmt.errors import DataError, MissingResourceError
from lmt.languages import Direction

MANIFEST = "manifest.json"
PARALLEL_DIR = "parallel"
MONO_DIR = "mono"


def direction_dir(root: "str | Path", direction: Direction) -> Path:
    """Folder of one direction's parallel shards."""
    return Path(root) / PARALLEL_DIR / f"{direction.src}-{direction.tgt}"


def mono_dir(root: "str | Path", lang: str) -> Path:
    """Folder of one language's monolingual shards."""
    return Path(root) / MONO_DIR / lang


def _check_root(root: "str | Path") -> Path:
    root = Path(root)
    if not root.is_dir():
        raise MissingResourceError(f"data directory {root} does not exist (run `lmt prep CONFIG` first)")
    return root


def parallel_shards(root: "str | Path", directions: Optional[Iterable[Direction]] = None) -> dict[Direction, list[Path]]:
    """Parquet shards per direction under ``root/parallel`` (sorted, non-empty dirs only)."""
    root = _check_root(root)
    out: dict[Direction, list[Path]] = {}
    wanted = set(directions) if directions is not None else None
    base = root / PARALLEL_DIR
    if not base.is_dir():
        return out
    for d in sorted(base.iterdir()):
        if not d.is_dir() or "-" not in d.name:
            continue
        src, tgt = d.name.split("-", 1)
        direction = Direction(src, tgt)
        if wanted is not None and direction not in wanted:
            continue
        files = sorted(p for p in d.glob("*.parquet") if not p.name.startswith("."))
        if files:
            out[direction] = files
    return out


def mono_shards(root: "str | Path", langs: Optional[Iterable[str]] = None) -> dict[str, list[Path]]:
    """Parquet shards per language under ``root/mono``."""
    root = _check_root(root)
    base = root / MONO_DIR
    wanted = set(langs) if langs is not None else None
    out: dict[str, list[Path]] = {}
    if not base.is_dir():
        return out
    for d in sorted(base.iterdir()):
        if d.is_dir() and (wanted is None or d.name in wanted):
            files = sorted(p for p in d.glob("*.parquet") if not p.name.startswith("."))
            if files:
                out[d.name] = files
    return out


def load_parallel(root: "str | Path", directions: Optional[Iterable[Direction]] = None):
    """All parallel records under ``root`` as one ``datasets.Dataset``.

    Raises:
        DataError: when there are no parallel shards (empty prep output).
    """
    import datasets

    shards = parallel_shards(root, directions)
    files = [str(p) for fs in shards.values() for p in fs]
    if not files:
        raise DataError(f"{root}: no parallel Parquet shards under {Path(root) / PARALLEL_DIR} (empty or unfinished prep output)")
    return datasets.load_dataset("parquet", data_files=files, split="train")


def load_mono(root: "str | Path", langs: Optional[Iterable[str]] = None):
    """All monolingual records under ``root`` as one ``datasets.Dataset`` (or None)."""
    import datasets

    files = [str(p) for fs in mono_shards(root, langs).values() for p in fs]
    if not files:
        return None
    return datasets.load_dataset("parquet", data_files=files, split="train")
