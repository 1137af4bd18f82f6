"""Assemble a direction's finished shards into the files other stages read.

* ``moses``: ``{corpus}.{src}-{tgt}.{src}`` and ``.{tgt}``, line-aligned: an OPUS
  Moses corpus that ``lmt prep`` discovers in the folder like any download;
  its records get ``corpus`` = the synthetic corpus name and ``origin`` =
  ``{corpus}.{src}-{tgt}.{src}:{line}``.
* ``parquet``: ``parallel/{src}-{tgt}/part-00000.parquet`` in
  :data:`lmt.schemas.PARALLEL_SCHEMA` with ``origin`` = ``{corpus}:{input file}:{line}``
  (the prep-output layout of :mod:`lmt.datafiles`, so training can read it as is).

Only kept pairs are written; every file appears atomically.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_prep.synth.shards import Shard
from lmt.datafiles import direction_dir
from lmt.io import atomic_path, write_parquet_atomic
from lmt.languages import Direction
from lmt.schemas import PARALLEL_SCHEMA


def moses_paths(root: Path, corpus: str, d: Direction) -> tuple[Path, Path]:
    """The two Moses sides of a direction."""
    prefix = f"{corpus}.{d.src}-{d.tgt}"
    return root / f"{prefix}.{d.src}", root / f"{prefix}.{d.tgt}"


def _kept(root: Path, shard: Shard) -> pa.Table:
    table = pq.read_table(shard.path(root)).slice(0, shard.lines)
    return table.filter(pc.is_null(table.column("drop_reason")))


def write_outputs(root: Path, corpus: str, d: Direction, shards: list[Shard], inputs: dict[int, str], formats: list[str]) -> dict:
    """Write the kept pairs of ``shards`` (in order) in every requested format.

    Returns:
        ``{"pairs": n, "files": [...]}``; nothing is written when no pair was kept
        (an empty Moses corpus would be an error for prep).
    """
    tables = [(s, _kept(root, s)) for s in shards]
    n = sum(t.num_rows for _, t in tables)
    files: list[str] = []
    if n == 0:
        return {"pairs": 0, "files": files}
    if "moses" in formats:
        src_path, tgt_path = moses_paths(root, corpus, d)
        with atomic_path(src_path) as tmp_src, atomic_path(tgt_path) as tmp_tgt:
            with tmp_src.open("w", encoding="utf-8") as fs, tmp_tgt.open("w", encoding="utf-8") as ft:
                for _, t in tables:
                    fs.writelines(x + "\n" for x in t.column("src").to_pylist())
                    ft.writelines(x + "\n" for x in t.column("tgt").to_pylist())
        files += [src_path.name, tgt_path.name]
    if "parquet" in formats:
        cols: dict[str, list] = {name: [] for name in PARALLEL_SCHEMA.names}
        for s, t in tables:
            lines = t.column("line").to_pylist()
            cols["src"] += t.column("src").to_pylist()
            cols["tgt"] += t.column("tgt").to_pylist()
            cols["origin"] += [f"{corpus}:{inputs[s.input_index]}:{line}" for line in lines]
        cols.update(src_lang=[d.src] * n, tgt_lang=[d.tgt] * n, corpus=[corpus] * n, aux_lang=[None] * n, aux=[None] * n)
        path = direction_dir(root, d) / "part-00000.parquet"
        write_parquet_atomic(pa.table(cols, schema=PARALLEL_SCHEMA), path)
        files.append(str(path.relative_to(root)))
    return {"pairs": n, "files": files}
