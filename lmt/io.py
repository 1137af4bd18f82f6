"""File helpers shared by the stages: atomic writes, JSON, fingerprints.

Everything a stage writes goes through a temp file in the same directory and an
``os.replace``, so a killed process never leaves a half-written output behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

FINGERPRINT_BYTES = 1 << 20


@contextlib.contextmanager
def atomic_path(path: "str | Path") -> Iterator[Path]:
    """Yield a temp path next to ``path``; rename it onto ``path`` on success.

    On an exception the temp file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: "str | Path", text: str) -> None:
    """Write UTF-8 text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: "str | Path", data: Any) -> None:
    """Write pretty JSON atomically (UTF-8, keys in insertion order)."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def read_json(path: "str | Path") -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_parquet_atomic(table: Any, path: "str | Path", **kwargs: Any) -> None:
    """Write a ``pyarrow.Table`` to Parquet atomically."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **kwargs)


def file_fingerprint(path: "str | Path") -> dict:
    """Cheap, stable identity of an input file: size, mtime and a head hash.

    Hashing whole multi-GB corpora would cost as much as reading them; size,
    modification time and the SHA-256 of the first MiB catch real changes.
    """
    p = Path(path)
    st = p.stat()
    h = hashlib.sha256()
    with p.open("rb") as f:
        h.update(f.read(FINGERPRINT_BYTES))
    return {"path": str(p), "size": st.st_size, "mtime": int(st.st_mtime), "head_sha256": h.hexdigest()[:16]}


def content_hash(*parts: Any) -> str:
    """SHA-256 (16 hex chars) of JSON-serialisable parts, for cache keys."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
