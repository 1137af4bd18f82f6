"""Monolingual text: one sentence per line, plain or .gz (or a zip member)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterator, Optional

from data_prep.readers.files import DEFAULT_MAX_LINE_BYTES, LINE_TOO_LONG, TOO_LONG, FileRef, capped_lines, decode_errors
from data_prep.readers.moses import EMPTY, INVALID_UTF8
from data_prep.readers.opus_names import flores
from lmt.errors import DataError, UnknownLanguageError


def read_monolingual(
    path: "str | Path | FileRef",
    lang: str,
    corpus: Optional[str] = None,
    counts: Optional[Counter] = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[dict]:
    """Yield ``{lang, text, corpus}`` for each non-empty UTF-8 line.

    Args:
        path: text file (``.gz`` decompressed on the fly) or a :class:`FileRef`.
        lang: language code in any registry form; records carry the FLORES code.
        corpus: corpus name (default: the file name up to its first dot).
        counts: counter receiving ``read:invalid_utf8``, ``read:empty`` and
            ``read:line_too_long``.
        max_line_bytes: longest line read (bytes); longer lines are skipped.

    Raises:
        UnknownLanguageError: ``lang`` is not known (names the file).
        DataError: the file has no lines.
    """
    ref = path if isinstance(path, FileRef) else FileRef(str(path))
    try:
        code = flores(lang)
    except UnknownLanguageError as err:
        raise UnknownLanguageError(f"{ref.display}: {err}") from None
    corpus = corpus or ref.name.split(".")[0]
    counts = counts if counts is not None else Counter()
    n = 0
    with decode_errors(ref.display), ref.open() as f:
        for n, raw in enumerate(capped_lines(f, max_line_bytes), 1):
            if raw is TOO_LONG:
                counts[LINE_TOO_LONG] += 1
                continue
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                counts[INVALID_UTF8] += 1
                continue
            if not text:
                counts[EMPTY] += 1
                continue
            yield {"lang": code, "text": text, "corpus": corpus}
    if n == 0:
        raise DataError(f"monolingual file {ref.display} is empty (no lines)")
