"""Moses format: two line-aligned text files, one sentence per line.

Both sides are streamed in lockstep (plain, ``.gz`` or zip members), so memory
does not depend on corpus size. A line whose bytes are not UTF-8 drops its pair
(counted as ``read:invalid_utf8``); an empty or blank side drops the pair
(``read:empty``); a line longer than ``max_line_bytes`` drops its pair
(``read:line_too_long``) without ever being held in memory. Sides whose line counts differ raise :class:`DataError` after
every aligned pair before the mismatch was yielded, naming both files and the
line where the shorter one ended.
"""

from __future__ import annotations

from collections import Counter
from itertools import zip_longest
from typing import Iterator, Optional

from data_prep.readers.files import DEFAULT_MAX_LINE_BYTES, LINE_TOO_LONG, FileRef, decode_errors, raw_capped_lines, skip_rest
from lmt.errors import DataError

INVALID_UTF8 = "read:invalid_utf8"
EMPTY = "read:empty"


def read_moses(
    src: FileRef,
    tgt: FileRef,
    src_lang: str,
    tgt_lang: str,
    corpus: str,
    counts: Optional[Counter] = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[dict]:
    """Yield pair records from two line-aligned files.

    Args:
        src: source-side file.
        tgt: target-side file.
        src_lang: FLORES code of the source side.
        tgt_lang: FLORES code of the target side.
        corpus: corpus name stored in each record.
        counts: counter receiving ``read:invalid_utf8`` / ``read:empty`` /
            ``read:line_too_long``.
        max_line_bytes: longest line read (bytes); longer ones drop their pair.

    Yields:
        ``{src_lang, tgt_lang, src, tgt, corpus, origin}`` with origin
        ``"<src file>:<line>"`` (1-based line).

    Raises:
        DataError: both files are empty, or their line counts differ.
    """
    counts = counts if counts is not None else Counter()
    prefix = src.short + ":"
    lineno = 0
    with decode_errors(f"Moses corpus {src.display} + {tgt.display}"), src.open() as fs, tgt.open() as ft:
        # Hot loop (>= 500k pairs/s): C-level line iteration, one decode per
        # side, no helper calls on the accepted path.
        limit = max_line_bytes + 1
        lines = zip_longest(raw_capped_lines(fs, max_line_bytes), raw_capped_lines(ft, max_line_bytes))
        for lineno, (a, b) in enumerate(lines, 1):
            if a is None or b is None:
                short, longer = (src, tgt) if a is None else (tgt, src)
                raise DataError(
                    f"Moses files are misaligned: {short.display} ends after line {lineno - 1} "
                    f"but {longer.display} continues at line {lineno}"
                )
            if len(a) == limit or len(b) == limit:  # maybe over the cap: skip the rest of it
                long_a, long_b = skip_rest(fs, a, max_line_bytes), skip_rest(ft, b, max_line_bytes)
                if long_a or long_b:
                    counts[LINE_TOO_LONG] += 1
                    continue
            try:
                s = a.decode("utf-8").strip()
                t = b.decode("utf-8").strip()
            except UnicodeDecodeError:
                counts[INVALID_UTF8] += 1
                continue
            if not s or not t:
                counts[EMPTY] += 1
                continue
            yield {
                "src_lang": src_lang,
                "tgt_lang": tgt_lang,
                "src": s,
                "tgt": t,
                "corpus": corpus,
                "origin": prefix + str(lineno),
            }
    if lineno == 0:
        raise DataError(f"Moses corpus {src.display} + {tgt.display} is empty (no lines)")
