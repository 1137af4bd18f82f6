"""Monolingual input of synthesis: one sentence per line (plain or .gz) or a Parquet column.

Unlike prep's monolingual reader, which drops undecodable lines and counts
them, synthesis refuses an input that is not UTF-8: the file is the whole
source of a corpus, and a wrong encoding would be translated into noise. Every
error names the file (and the line). Blank lines are skipped; a file without
any sentence is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from data_prep.readers.files import FileRef, decode_errors
from lmt.config.synth import SynthInput
from lmt.errors import DataError, MissingResourceError, UnknownLanguageError
from lmt.io import file_fingerprint
from lmt.languages import normalize_code

PARQUET_BATCH = 8192


@dataclass(frozen=True)
class MonoInput:
    """A resolved input: its file, FLORES language, format and sentence count."""

    index: int
    path: str
    lang: str
    format: str
    column: str
    sentences: int
    fingerprint: dict

    @property
    def short(self) -> str:
        """File name used in provenance."""
        return Path(self.path).name

    def read(self) -> Iterator[tuple[int, str]]:
        """``(line or row number, sentence)`` in file order."""
        return iter_sentences(self.path, self.format, self.column)


def input_format(spec: SynthInput) -> str:
    """``text`` or ``parquet`` (``auto`` looks at the file name)."""
    if spec.format != "auto":
        return spec.format
    return "parquet" if spec.path.lower().endswith((".parquet", ".pq")) else "text"


def _text_sentences(path: str) -> Iterator[tuple[int, str]]:
    ref = FileRef(path)
    with decode_errors(f"monolingual input {path}"), ref.open() as f:
        for lineno, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError as err:
                raise DataError(
                    f"monolingual input {path}: line {lineno} is not UTF-8 ({err.reason} at byte {err.start}); "
                    "convert the file to UTF-8 (e.g. iconv -f LATIN1 -t UTF-8)"
                ) from None
            if text:
                yield lineno, text


def _parquet_sentences(path: str, column: str) -> Iterator[tuple[int, str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"monolingual input {path}: not a readable Parquet file ({err})") from None
    names = pf.schema_arrow.names
    if column not in names:
        raise DataError(f"monolingual input {path}: no column {column!r} (has {names}); set column: in synth.inputs")
    if not pa.types.is_string(pf.schema_arrow.field(column).type) and not pa.types.is_large_string(
        pf.schema_arrow.field(column).type
    ):
        raise DataError(f"monolingual input {path}: column {column!r} is {pf.schema_arrow.field(column).type}, not text")
    row = 0
    for batch in pf.iter_batches(batch_size=PARQUET_BATCH, columns=[column]):
        for value in batch.column(0).to_pylist():
            row += 1
            # One sentence per Moses line: line breaks inside a cell become spaces.
            text = " ".join((value or "").split())
            if text:
                yield row, text


def iter_sentences(path: str, fmt: str, column: str = "text") -> Iterator[tuple[int, str]]:
    """``(line or row number, sentence)`` for each non-blank sentence of a file, in order."""
    return _parquet_sentences(path, column) if fmt == "parquet" else _text_sentences(path)


def resolve_input(index: int, spec: SynthInput, key: str) -> MonoInput:
    """Check an input (exists, known language, UTF-8, not empty) and count its sentences.

    Args:
        index: position in ``synth.inputs``.
        spec: the config entry.
        key: config key named in errors (``synth.inputs.0``).

    Raises:
        MissingResourceError: the file does not exist.
        UnknownLanguageError: ``lang`` is not in the registry (names the file).
        DataError: not UTF-8, unreadable, or without any sentence.
    """
    if not Path(spec.path).is_file():
        raise MissingResourceError(f"{key}: monolingual input {spec.path} does not exist")
    try:
        lang = normalize_code(spec.lang)
    except UnknownLanguageError as err:
        raise UnknownLanguageError(f"{key}: monolingual input {spec.path}: lang {spec.lang!r}: {err}") from None
    fmt = input_format(spec)
    n = sum(1 for _ in iter_sentences(spec.path, fmt, spec.column))
    if n == 0:
        raise DataError(f"{key}: monolingual input {spec.path} is empty (no non-blank sentence)")
    return MonoInput(index, spec.path, lang, fmt, spec.column, n, file_fingerprint(spec.path))
