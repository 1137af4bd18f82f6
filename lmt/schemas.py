"""Record schemas for the files stages exchange (Parquet shards).

Parallel records: ``src_lang, tgt_lang, src, tgt`` plus provenance (``corpus``,
``origin``: file and line or link id) and the optional auxiliary sentence
(``aux_lang, aux``) used by PMP. Extra columns (filter or selection scores) are
allowed after these. Monolingual records: ``lang, text, corpus``.
"""

from __future__ import annotations

import pyarrow as pa

from lmt.errors import DataError

PARALLEL_SCHEMA = pa.schema(
    [
        ("src_lang", pa.string()),
        ("tgt_lang", pa.string()),
        ("src", pa.string()),
        ("tgt", pa.string()),
        ("corpus", pa.string()),
        ("origin", pa.string()),
        ("aux_lang", pa.string()),
        ("aux", pa.string()),
    ]
)
PARALLEL_REQUIRED = ("src_lang", "tgt_lang", "src", "tgt")

MONO_SCHEMA = pa.schema([("lang", pa.string()), ("text", pa.string()), ("corpus", pa.string())])
MONO_REQUIRED = ("lang", "text")


def check_columns(names: "list[str]", required: "tuple[str, ...]", source: str) -> None:
    """Raise :class:`DataError` naming ``source`` when required columns are missing."""
    missing = [c for c in required if c not in names]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; has {list(names)}")
