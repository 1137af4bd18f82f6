"""TMX (plain or .gz): translation units streamed with a hardened expat parser.

Each ``<tu>`` yields one pair from its ``<tuv xml:lang=...>`` (or TMX 1.1
``lang=``) variants for the two requested languages. Inline markup inside
``<seg>`` is flattened: the text of ``<hi>``/``<sub>`` is kept, native-code
elements (``<bpt> <ept> <ph> <it> <ut>``, formatting codes of the source
document) are dropped. Only the current unit is held in memory.

Counts: ``read:invalid_utf8`` (a side held bytes that are not UTF-8),
``read:empty`` (an empty side), ``read:unaligned`` (a unit lacking one of the
two languages).
"""

from __future__ import annotations

from collections import Counter
from typing import Iterator, Optional

from data_prep.readers.files import FileRef
from data_prep.readers.files import DEFAULT_MAX_LINE_BYTES, LINE_TOO_LONG
from data_prep.readers.moses import EMPTY, INVALID_UTF8
from data_prep.readers.opus_names import flores
from data_prep.readers.xmlstream import REPLACEMENT, feed, make_parser
from lmt.errors import DataError, UnknownLanguageError

UNALIGNED = "read:unaligned"
#: Stands for a segment longer than the cap (its text is never kept).
TOO_LONG = "\0<segment too long>"
# TMX 1.4 inline elements that hold native codes of the original format, not text.
NATIVE_CODE = frozenset({"bpt", "ept", "ph", "it", "ut"})


class _TmxHandler:
    """Expat callbacks collecting ``(tu_number, line, {raw_lang: text})``."""

    def __init__(self, parser, max_chars: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.parser = parser
        self.max_chars = max_chars
        self.size = 0
        self.units: list[tuple[int, int, dict]] = []
        self.n_tu = 0
        self.tu_line = 0
        self.segs: Optional[dict] = None
        self.lang: Optional[str] = None
        self.buf: Optional[list] = None
        self.skip = 0
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.chars

    def start(self, name: str, attrs: dict) -> None:
        if self.buf is not None:
            if name in NATIVE_CODE:
                self.skip += 1
        elif name == "tu":
            self.n_tu += 1
            self.tu_line = self.parser.CurrentLineNumber
            self.segs = {}
        elif name == "tuv":
            self.lang = attrs.get("xml:lang") or attrs.get("lang")
        elif name == "seg" and self.segs is not None:
            self.buf, self.size = [], 0

    def chars(self, data: str) -> None:
        if self.buf is not None and not self.skip:
            # A segment over the cap stops growing: expat hands text over in
            # pieces, so a 300 MB <seg> never sits in memory whole.
            self.size += len(data)
            if self.size <= self.max_chars:
                self.buf.append(data)

    def end(self, name: str) -> None:
        if self.buf is not None:
            if name == "seg":
                if self.lang and self.lang not in self.segs:
                    self.segs[self.lang] = TOO_LONG if self.size > self.max_chars else "".join(self.buf)
                self.buf = None
            elif name in NATIVE_CODE:
                self.skip -= 1
        elif name == "tu" and self.segs is not None:
            self.units.append((self.n_tu, self.tu_line, self.segs))
            self.segs = None


def read_tmx(
    ref: FileRef,
    src_lang: Optional[str],
    tgt_lang: Optional[str],
    corpus: str,
    counts: Optional[Counter] = None,
    max_chars: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[dict]:
    """Yield pair records from a TMX file.

    Args:
        ref: the TMX file (plain, .gz or zip member).
        src_lang: FLORES code of the source side; None takes the first
            variant of the first unit.
        tgt_lang: FLORES code of the target side; None takes the second.
        corpus: corpus name stored in each record.
        counts: counter receiving the ``read:*`` counts.
        max_chars: longest segment kept (characters); a longer one drops its
            unit (``read:line_too_long``).

    Yields:
        Pair records with origin ``"<file>#tu<N>"`` (1-based unit number).

    Raises:
        DataError: malformed XML, entity declarations, or no ``<tu>`` at all.
        UnknownLanguageError: a ``xml:lang`` code the registry does not know.
    """
    counts = counts if counts is not None else Counter()
    parser = make_parser(ref.display)
    handler = _TmxHandler(parser, max_chars)
    codes: dict[str, str] = {}
    prefix = ref.short + "#tu"

    def code_of(raw: str, line: int) -> str:
        code = codes.get(raw)
        if code is None:
            try:
                code = codes[raw] = flores(raw)
            except UnknownLanguageError as err:
                raise UnknownLanguageError(f"{ref.display}:{line}: unknown xml:lang {raw!r}: {err}") from None
        return code

    with ref.open() as stream:
        for _ in feed(parser, stream, ref.display):
            units, handler.units = handler.units, []
            for n, line, segs in units:
                by_code = {}
                for raw, text in segs.items():
                    by_code.setdefault(code_of(raw, line), text)
                if src_lang is None or tgt_lang is None:
                    found = list(by_code)
                    if len(found) < 2:
                        raise DataError(
                            f"{ref.display}:{line}: cannot infer the language pair from a unit with "
                            f"languages {found}; set src_lang and tgt_lang for this corpus"
                        )
                    src_lang = src_lang or next(c for c in found if c != tgt_lang)
                    tgt_lang = tgt_lang or next(c for c in found if c != src_lang)
                s, t = by_code.get(src_lang), by_code.get(tgt_lang)
                if s is None or t is None:
                    counts[UNALIGNED] += 1
                    continue
                if s is TOO_LONG or t is TOO_LONG:
                    counts[LINE_TOO_LONG] += 1
                    continue
                if REPLACEMENT in s or REPLACEMENT in t:
                    counts[INVALID_UTF8] += 1
                    continue
                s, t = s.strip(), t.strip()
                if not s or not t:
                    counts[EMPTY] += 1
                    continue
                yield {
                    "src_lang": src_lang,
                    "tgt_lang": tgt_lang,
                    "src": s,
                    "tgt": t,
                    "corpus": corpus,
                    "origin": prefix + str(n),
                }
    if handler.n_tu == 0:
        raise DataError(f"{ref.display} is empty (no <tu> translation units)")
