"""Selection input/output: the prep layout in, the same layout out, and a chunk cache.

The input is a data directory in the :mod:`lmt.datafiles` layout (prep output by
default). Its parallel shards are read with pyarrow into one table whose row
order is fixed (directions sorted, shards sorted, rows in file order); that
order is the "input row index" used by score caches and by ``miwv_neighbor``.

Scores are computed in chunks of rows; each finished chunk is written
atomically under ``<output_dir>/cache/<name>/`` together with a key (hash of the
input fingerprints and the parameters that change scores). A rerun with the same
key skips finished chunks; a different key clears the cache first.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lmt.datafiles import MANIFEST, direction_dir, parallel_shards
from lmt.errors import DataError
from lmt.io import content_hash, file_fingerprint, read_json, write_json_atomic, write_parquet_atomic
from lmt.languages import Direction
from lmt.log import get_logger, progress
from lmt.schemas import PARALLEL_REQUIRED, check_columns

log = get_logger("lmt.select")

CACHE_DIR = "cache"
ROWS_PER_SHARD = 200_000


@dataclass
class SelectionInput:
    """All parallel records of a data directory, in a fixed order.

    Attributes:
        root: the data directory.
        table: every record (columns of the shards, union of their schemas).
        directions: ``Direction`` of each row's shard, one per row.
        fingerprints: identity of every input shard (for cache keys/manifest).
    """

    root: Path
    table: pa.Table
    directions: list[Direction]
    fingerprints: list[dict]

    def __len__(self) -> int:
        return self.table.num_rows

    @property
    def key(self) -> str:
        """Hash of the input shards (changes when any shard changes)."""
        return content_hash([{k: f[k] for k in ("size", "mtime", "head_sha256")} for f in self.fingerprints])

    def column(self, name: str) -> list:
        """One column as a Python list (``None`` for a column the input lacks)."""
        if name not in self.table.column_names:
            return [None] * len(self)
        return self.table.column(name).to_pylist()

    def direction_codes(self) -> np.ndarray:
        """Per row, the index of its direction in :meth:`direction_list`."""
        index = {d: i for i, d in enumerate(self.direction_list())}
        return np.fromiter((index[d] for d in self.directions), dtype=np.int64, count=len(self))

    def direction_list(self) -> list[Direction]:
        """Directions present, in input order."""
        return list(dict.fromkeys(self.directions))


def load_input(root: "str | Path", directions: Optional[Iterable[Direction]] = None) -> SelectionInput:
    """Read every parallel shard under ``root`` (optionally only ``directions``).

    Raises:
        MissingResourceError: ``root`` does not exist.
        DataError: no shards, or a shard lacks a required column or cannot be read.
    """
    shards = parallel_shards(root, directions)
    if not shards:
        raise DataError(f"{root}: no parallel Parquet shards to select from (run `lmt prep CONFIG` first)")
    tables, dirs, prints = [], [], []
    for direction, files in shards.items():
        for f in files:
            try:
                t = pq.read_table(f)
            except (pa.ArrowInvalid, OSError) as err:
                raise DataError(f"{f}: cannot read Parquet shard: {err}") from None
            check_columns(t.column_names, PARALLEL_REQUIRED, str(f))
            tables.append(t)
            dirs.extend([direction] * t.num_rows)
            prints.append(file_fingerprint(f))
    table = pa.concat_tables(tables, promote_options="permissive")
    if table.num_rows == 0:
        raise DataError(f"{root}: the parallel shards hold no records")
    return SelectionInput(Path(root), table, dirs, prints)


class ChunkCache:
    """Resumable per-chunk results (``.npz`` files) under one directory.

    Args:
        root: the cache directory (created).
        key: what the chunks depend on; a different key clears old chunks.
        overwrite: clear the cache whatever the key.
    """

    def __init__(self, root: "str | Path", key: str, overwrite: bool = False) -> None:
        self.root = Path(root)
        meta = self.root / "key.json"
        # The key is written before any chunk, so a directory without key.json
        # holds no chunks of another key (only, at worst, of a concurrent shard
        # worker with the same key): it is kept.
        stale = overwrite or (meta.is_file() and read_json(meta).get("key") != key)
        if stale and self.root.exists():
            log.info("%s: cached chunks are from other inputs/parameters (or --overwrite): recomputing", self.root)
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        if stale or not meta.is_file():
            write_json_atomic(meta, {"key": key})
        self.key = key

    def path(self, name: str) -> Path:
        return self.root / f"{name}.npz"

    def has(self, name: str) -> bool:
        """Whether chunk ``name`` is finished."""
        return self.path(name).is_file()

    def save(self, name: str, **arrays: np.ndarray) -> None:
        """Write a chunk atomically (a killed run leaves no partial chunk)."""
        from lmt.io import atomic_path

        with atomic_path(self.path(name)) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

    def load(self, name: str) -> dict[str, np.ndarray]:
        with np.load(self.path(name)) as z:
            return {k: z[k] for k in z.files}

    def run(
        self, ranges: list[tuple[int, int]], fn: Callable[[int, int], dict], desc: str, shard: tuple[int, int] = (0, 1)
    ) -> None:
        """Compute the missing chunks ``fn(start, stop) -> arrays`` of this shard.

        With ``shard=(i, n)`` only chunks ``c`` with ``c % n == i`` are computed
        here (other workers compute the rest into the same directory).

        Raises:
            ShardPending: chunks of other shards are still missing.
        """
        i, n = shard
        todo = [c for c in range(len(ranges)) if c % n == i and not self.has(chunk_name(c))]
        for c in progress(todo, desc=desc, unit="chunk"):
            self.save(chunk_name(c), **fn(*ranges[c]))
        missing = sum(not self.has(chunk_name(c)) for c in range(len(ranges)))
        if missing:
            raise ShardPending(f"{desc}: {missing} of {len(ranges)} chunks are left to other shards")

    def gather(self, ranges: list[tuple[int, int]], field: str) -> np.ndarray:
        """One array field of every chunk, concatenated in row order."""
        return np.concatenate([self.load(chunk_name(c))[field] for c in range(len(ranges))], axis=0)


class ShardPending(Exception):
    """A sharded run finished its own chunks; others' are still missing."""


def chunk_name(c: int) -> str:
    """File stem of chunk ``c``."""
    return f"chunk-{c:05d}"


def chunk_ranges(n: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n)`` in chunks."""
    return [(s, min(s + chunk_size, n)) for s in range(0, n, chunk_size)]


def write_selection(
    out_dir: "str | Path",
    data: SelectionInput,
    keep: np.ndarray,
    columns: dict[str, np.ndarray],
    manifest: dict,
) -> Path:
    """Write kept rows (plus score columns) in the datafiles layout and a manifest.

    Rows keep their input order inside each direction. Only parallel data is
    written (selection is for SFT; monolingual data stays in the prep output).
    Every shard and the manifest are written atomically; a previous run's
    shards are replaced as a whole so the directory holds only this result (the
    manifest is written last: a directory without one is unfinished).

    Args:
        out_dir: output data directory.
        data: the input.
        keep: boolean mask over input rows.
        columns: extra per-row columns (name -> array of len(data)) added to the output.
        manifest: method/parameters; counts per direction are added here.
    """
    out_dir = Path(out_dir)
    table = data.table
    for name, values in columns.items():
        arr = pa.array(values)
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, arr)
        else:
            table = table.append_column(name, arr)
    codes = data.direction_codes()
    dir_list = data.direction_list()
    counts: dict[str, dict[str, int]] = {}
    # Shards go to a staging folder that replaces parallel/ only when complete,
    # so a killed run never leaves a mix of old and new shards.
    staging = out_dir / ".staging"
    if staging.exists():
        shutil.rmtree(staging)
    for i, direction in enumerate(dir_list):
        rows = np.flatnonzero((codes == i) & keep)
        counts[str(direction)] = {"before": int((codes == i).sum()), "after": int(rows.size)}
        if rows.size == 0:
            continue
        sub = table.take(pa.array(rows))
        n_shards = max(1, math.ceil(rows.size / ROWS_PER_SHARD))
        for s in range(n_shards):
            part = sub.slice(s * ROWS_PER_SHARD, ROWS_PER_SHARD)
            write_parquet_atomic(part, direction_dir(staging, direction) / f"part-{s:05d}.parquet")
    (out_dir / MANIFEST).unlink(missing_ok=True)
    base = out_dir / "parallel"
    if base.exists():
        shutil.rmtree(base)
    if (staging / "parallel").exists():
        (staging / "parallel").rename(base)
    shutil.rmtree(staging, ignore_errors=True)
    total_before, total_after = len(data), int(keep.sum())
    manifest = dict(manifest)
    manifest.update(
        {
            "input_dir": str(data.root),
            "input_fingerprints": data.fingerprints,
            "counts": {"before": total_before, "after": total_after, "per_direction": counts},
        }
    )
    write_json_atomic(out_dir / MANIFEST, manifest)
    return out_dir
