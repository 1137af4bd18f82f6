"""OPUS ingestion: stream pair records out of raw OPUS downloads.

Formats: Moses (plain, ``.gz``, inside zips), TMX (plain, ``.gz``) and OPUS XML
documents with XCES alignments (documents in folders or zips). Every reader is a
generator yielding ``{src_lang, tgt_lang, src, tgt, corpus, origin}`` in file
order with constant memory; pairs skipped while reading are counted in a
``collections.Counter`` under ``read:invalid_utf8``, ``read:empty`` and
``read:unaligned``. Bad files raise :class:`lmt.errors.DataError` naming the
file and line.

Entry points:
    read_corpus(source, counts): the records of one :class:`CorpusSource`.
    discover(path): the corpora of an OPUS download folder/file/zip.
    resolve_sources(sources): config sources with directories expanded.
    read_monolingual(path, lang, corpus, counts): ``{lang, text, corpus}`` records.
"""

from data_prep.readers.corpus import detect_format, moses_plan, read_corpus
from data_prep.readers.discover import discover, resolve_sources
from data_prep.readers.files import FileRef, SafeZip
from data_prep.readers.mono import read_monolingual
from data_prep.readers.moses import EMPTY, INVALID_UTF8, read_moses
from data_prep.readers.tmx import UNALIGNED, read_tmx
from data_prep.readers.xces import DocStore, read_xces
from lmt.config.corpora import CorpusSource

__all__ = [
    "CorpusSource",
    "DocStore",
    "EMPTY",
    "FileRef",
    "INVALID_UTF8",
    "SafeZip",
    "UNALIGNED",
    "detect_format",
    "discover",
    "moses_plan",
    "read_corpus",
    "read_monolingual",
    "read_moses",
    "read_tmx",
    "read_xces",
    "resolve_sources",
]
