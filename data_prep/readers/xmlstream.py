"""Hardened, streaming XML parsing for TMX and XCES (expat, chunk by chunk).

Untrusted XML is parsed with these guarantees:

* any entity declaration (``<!ENTITY``, internal or parameter, parsed or not)
  raises :class:`DataError` with file and line *when it is declared*, before
  anything could be expanded -- billion-laughs style files cost nothing;
* external entities and external DTDs are never fetched;
* a DOCTYPE without entity declarations is accepted (TMX files often name
  ``tmx14.dtd``);
* malformed XML raises :class:`DataError` with file, line and column;
* input is fed in 64 KiB chunks and handlers keep only what the caller needs,
  so memory does not depend on file size.

Bytes that are not UTF-8 are decoded to U+FFFD (documents declaring another
encoding are handed to expat as-is), so readers can count and drop the
segments holding them (``read:invalid_utf8``) instead of failing the file.
"""

from __future__ import annotations

import codecs
import re
from typing import IO, Iterator
from xml.parsers import expat

from data_prep.readers.files import decode_errors
from lmt.errors import DataError

CHUNK = 1 << 16
REPLACEMENT = "\ufffd"
_DECL_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")


def make_parser(display: str) -> "expat.XMLParserType":
    """An expat parser that refuses entity declarations and external entities.

    Args:
        display: file name used in error messages.
    """
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    # Never read the external DTD subset or parameter entities.
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def entity_decl(name, is_parameter_entity, *_rest):
        kind = "parameter entity" if is_parameter_entity else "entity"
        raise DataError(
            f"{display}:{parser.CurrentLineNumber}: XML {kind} declaration <!ENTITY {name} ...> refused "
            "(entities are never expanded; untrusted XML must not declare them)"
        )

    def unparsed_entity_decl(name, *_rest):
        raise DataError(f"{display}:{parser.CurrentLineNumber}: XML unparsed entity declaration {name!r} refused")

    def external_ref(context, base, system_id, public_id):
        raise DataError(f"{display}:{parser.CurrentLineNumber}: external XML entity {system_id!r} refused (never fetched)")

    parser.EntityDeclHandler = entity_decl
    parser.UnparsedEntityDeclHandler = unparsed_entity_decl
    parser.ExternalEntityRefHandler = external_ref
    return parser


_HANDLERS = (
    "StartElementHandler",
    "EndElementHandler",
    "CharacterDataHandler",
    "EntityDeclHandler",
    "UnparsedEntityDeclHandler",
    "ExternalEntityRefHandler",
)


def release(parser: "expat.XMLParserType") -> None:
    """Drop the parser's handlers.

    Handlers close over the parser (for line numbers), a reference cycle that
    only the cyclic GC would free -- with it every finished document and its
    64 KiB text buffer stayed alive until the next collection.
    """
    for name in _HANDLERS:
        setattr(parser, name, None)


def _declared_encoding(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    m = _DECL_ENCODING.match(head)
    return m.group(1).decode("ascii").lower() if m else "utf-8"


def feed(parser: "expat.XMLParserType", stream: IO[bytes], display: str) -> Iterator[None]:
    """Feed ``stream`` to ``parser`` chunk by chunk, yielding after each chunk.

    Handlers collect records into a list the caller drains after each yield.

    Raises:
        DataError: the file is empty or not well-formed XML (with line/column).
    """
    try:
        with decode_errors(display):
            first = stream.read(CHUNK)
        if not first.strip():
            raise DataError(f"{display} is empty")
        as_utf8 = _declared_encoding(first[:512]) in ("utf-8", "utf8")
        decoder = codecs.getincrementaldecoder("utf-8-sig")("replace") if as_utf8 else None
        chunk = first
        while True:
            final = not chunk
            data = decoder.decode(chunk, final) if decoder is not None else chunk
            try:
                parser.Parse(data, final)
            except expat.ExpatError as err:
                raise DataError(
                    f"{display}:{err.lineno}: malformed XML: {expat.ErrorString(err.code)} (column {err.offset + 1})"
                ) from None
            yield
            if final:
                return
            with decode_errors(display):
                chunk = stream.read(CHUNK)
    finally:
        release(parser)
