"""OPUS XML documents with XCES sentence alignments.

The alignment file (``de-en.xml`` / ``.xml.gz``) is streamed::

    <cesAlign><linkGrp fromDoc="de/a.xml.gz" toDoc="en/a.xml.gz">
      <link xtargets="s1 s2;s1"/> ...

For each ``linkGrp`` the two sentence-split documents (``<s id="s1">...</s>``,
tokens possibly in ``<w>`` elements) are loaded -- from directories or from the
zip archives OPUS ships (``de.zip``, ``en.zip``; members may be ``.xml.gz`` and
sit under a corpus prefix such as ``Europarl/xml/de/...``) -- so memory is
bounded by the largest document pair. 1-to-many and many-to-1 links join their
sentences with a space; 0-to-n links are counted as ``read:unaligned``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from data_prep.readers.files import DEFAULT_MAX_LINE_BYTES, LINE_TOO_LONG, FileRef, is_gzip_name, open_zip
from data_prep.readers.moses import EMPTY, INVALID_UTF8
from data_prep.readers.opus_names import flores, is_language
from data_prep.readers.tmx import UNALIGNED
from data_prep.readers.xmlstream import REPLACEMENT, feed, make_parser
from lmt.errors import DataError, MissingResourceError, UnknownLanguageError
from lmt.log import get_logger

log = get_logger(__name__)
#: Reader counter of alignment files skipped because they hold no links (a warning, not a drop).
EMPTY_ALIGNMENT = "warn:empty_alignment"
#: Stands for a sentence longer than the cap (its text is never kept).
TOO_LONG = "\0<sentence too long>"


# --------------------------------------------------------------------------- documents


class _SentenceHandler:
    """Collects ``{id: text}`` from ``<s>`` elements (``<w>`` tokens joined by spaces)."""

    def __init__(self, parser, max_chars: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.max_chars = max_chars
        self.size = 0
        self.sents: dict[str, str] = {}
        self.sid: Optional[str] = None
        self.buf: list[str] = []
        self.tokens: list[str] = []
        self.wbuf: Optional[list[str]] = None
        self.lang: Optional[str] = None
        self._root = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.chars

    def start(self, name: str, attrs: dict) -> None:
        if self._root:  # <document lang="de"> / xml:lang: the document's language
            self._root = False
            self.lang = attrs.get("lang") or attrs.get("xml:lang")
        if name == "s":
            self.sid = attrs.get("id")
            self.buf, self.tokens, self.size = [], [], 0
        elif name == "w" and self.sid is not None:
            self.wbuf = []

    def chars(self, data: str) -> None:
        if self.sid is not None:
            # A sentence over the cap stops growing (expat hands text over in pieces).
            self.size += len(data)
            if self.size > self.max_chars:
                return
        if self.wbuf is not None:
            self.wbuf.append(data)
        elif self.sid is not None:
            self.buf.append(data)

    def end(self, name: str) -> None:
        if name == "w" and self.wbuf is not None:
            self.tokens.append("".join(self.wbuf).strip())
            self.wbuf = None
        elif name == "s" and self.sid is not None:
            # Tokenised documents: tokens are the text; raw ones: collapse whitespace.
            if self.size > self.max_chars:
                self.sents[self.sid] = TOO_LONG
            elif self.tokens:
                self.sents[self.sid] = " ".join([w for w in self.tokens if w])
            else:
                self.sents[self.sid] = " ".join("".join(self.buf).split())
            self.sid = None


def read_document(ref: FileRef, max_chars: int = DEFAULT_MAX_LINE_BYTES) -> tuple[dict[str, str], Optional[str]]:
    """All sentences of one OPUS XML document, by ``<s id>``, and the root's ``lang``.

    A sentence longer than ``max_chars`` is stored as :data:`TOO_LONG`.
    """
    parser = make_parser(ref.display)
    handler = _SentenceHandler(parser, max_chars)
    with ref.open() as stream:
        for _ in feed(parser, stream, ref.display):
            pass
    lang = None
    if handler.lang:
        try:
            lang = flores(handler.lang)
        except UnknownLanguageError as err:
            raise UnknownLanguageError(f"{ref.display}: lang attribute: {err}") from None
    return handler.sents, lang


def read_sentences(ref: FileRef) -> dict[str, str]:
    """All sentences of one OPUS XML document, by ``<s id>``."""
    return read_document(ref)[0]


def _strip_gz(name: str) -> str:
    return name[:-3] if is_gzip_name(name) else name


class DocStore:
    """Finds OPUS documents named by ``fromDoc``/``toDoc`` in dirs and zips.

    The full document path is tried in every root before shorter suffixes of
    it (``de/2010/a.xml`` before ``2010/a.xml``), so one language's archive
    never answers for the other's. In a zip, members may carry a prefix
    (``Europarl/xml/de/...``) and lack or add ``.gz``; members are indexed by
    base name once per archive.
    """

    def __init__(self, roots: list[str], align: str, max_chars: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.align = align
        self.max_chars = max_chars
        self.roots = roots
        self._zip_index: dict[str, dict[str, list[str]]] = {}
        self._cache: dict[str, dict[str, str]] = {}
        self._langs: dict[str, Optional[str]] = {}
        for root in roots:
            if not Path(root).exists():
                raise MissingResourceError(f"{align}: document root {root} does not exist")

    def find(self, doc: str) -> FileRef:
        """Locate a document.

        Raises:
            DataError: the document is in none of the roots.
        """
        parts = [p for p in doc.replace("\\", "/").split("/") if p and p != "."]
        for drop in range(len(parts)):
            rel = "/".join(parts[drop:])
            for root in self.roots:
                rp = Path(root)
                ref = self._find_in_dir(rp, rel) if rp.is_dir() else self._find_in_zip(root, rel)
                if ref is not None:
                    return ref
        raise DataError(
            f"{self.align}: document {doc!r} not found in {self.roots}; point `docs:` at the folder or "
            "zip archives (e.g. de.zip, en.zip) that hold the OPUS XML documents"
        )

    @staticmethod
    def _find_in_dir(root: Path, rel: str) -> Optional[FileRef]:
        for cand in (rel, _strip_gz(rel), rel + ".gz"):
            p = root / cand
            if p.is_file():
                return FileRef(str(p))
        return None

    def _find_in_zip(self, root: str, rel: str) -> Optional[FileRef]:
        index = self._zip_index.get(root)
        if index is None:
            index = self._zip_index[root] = {}
            for name in open_zip(root).names:
                index.setdefault(_strip_gz(name).rsplit("/", 1)[-1], []).append(name)
        key = _strip_gz(rel)
        for name in index.get(key.rsplit("/", 1)[-1], ()):
            bare = _strip_gz(name)
            if bare == key or bare.endswith("/" + key):
                return FileRef(root, name)
        return None

    def sentences(self, doc: str) -> dict[str, str]:
        """Sentences of ``doc`` (the last two documents stay cached)."""
        if doc not in self._cache:
            if len(self._cache) >= 2:
                self._cache.pop(next(iter(self._cache)))
            self._cache[doc], self._langs[doc] = read_document(self.find(doc), self.max_chars)
        return self._cache[doc]

    def lang(self, doc: str) -> Optional[str]:
        """FLORES code of the document's ``lang`` attribute (None when absent)."""
        if doc not in self._langs:
            self.sentences(doc)
        return self._langs[doc]


# --------------------------------------------------------------------------- alignment


class _AlignHandler:
    """Expat callbacks collecting ``("grp", from, to, line)`` / ``("link", xtargets, line)``."""

    def __init__(self, parser) -> None:
        self.parser = parser
        self.events: list[tuple] = []
        self.n_groups = 0
        parser.StartElementHandler = self.start

    def start(self, name: str, attrs: dict) -> None:
        if name == "link":
            self.events.append(("link", attrs.get("xtargets"), self.parser.CurrentLineNumber))
        elif name == "linkGrp":
            self.n_groups += 1
            self.events.append(("grp", attrs.get("fromDoc"), attrs.get("toDoc"), self.parser.CurrentLineNumber))


_LANG_FOLDER = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z]{2,4})?$")


def path_language(doc: str) -> Optional[str]:
    """FLORES code of the language folder in an OPUS document path.

    OPUS puts each document under its language: ``de/2010/a.xml.gz``,
    ``OpenSubtitles/xml/zh_cn/1999/x.xml.gz``. The first folder that is a
    language code wins; None when no folder is one.
    """
    for part in doc.replace("\\", "/").split("/")[:-1]:
        if _LANG_FOLDER.match(part) and is_language(part):
            return flores(part)
    return None


@dataclass
class _Group:
    from_doc: str
    to_doc: str
    tag: str
    line: int
    langs: Optional[tuple[str, str, bool]] = None  # (src, tgt, swap) once resolved


def _group_langs(group: _Group, store: DocStore, where: str, prefer: tuple, fallback: Optional[tuple]) -> tuple[str, str, bool]:
    """(src_lang, tgt_lang, swap) of one link group.

    Each side's language is its document's ``lang`` attribute when present,
    else the language folder of its path; ``fallback`` (the config's
    src_lang/tgt_lang, both given) covers groups whose documents name none.
    The orientation follows ``prefer`` = (wanted source, wanted target, file-name
    pair): a wanted language goes to its side, a group of the file-name pair
    keeps the file name's order, any other group keeps fromDoc -> toDoc.

    Raises:
        DataError: a side's language cannot be determined (names file and group).
    """
    sides = []
    for doc in (group.from_doc, group.to_doc):
        lang = store.lang(doc) or path_language(doc)
        sides.append(lang)
    a, b = sides
    if a is None or b is None:
        if fallback is None:
            raise DataError(
                f"{where}:{group.line}: cannot tell the languages of <linkGrp fromDoc={group.from_doc!r} "
                f"toDoc={group.to_doc!r}> (no language folder in the paths, no lang attribute in the documents); "
                "set src_lang and tgt_lang of this corpus"
            )
        a, b = fallback
    want_src, want_tgt, name_pair = prefer
    if want_src in (a, b):
        swap = a != want_src
    elif want_tgt in (a, b):
        swap = b != want_tgt
    elif name_pair and {a, b} == set(name_pair):
        swap = a != name_pair[0]
    else:
        swap = False
    return (b, a, True) if swap else (a, b, False)


def alignment_is_empty(align: FileRef) -> bool:
    """Whether an alignment file has no content at all (OPUS ships a few)."""
    with align.open() as stream:
        return not stream.read(4096).strip()


def read_xces(
    align: FileRef,
    store: DocStore,
    corpus: str,
    counts: Optional[Counter] = None,
    src_lang: Optional[str] = None,
    tgt_lang: Optional[str] = None,
    name_pair: Optional[tuple[str, str]] = None,
    strict: bool = False,
) -> Iterator[dict]:
    """Yield pair records from an XCES alignment file and its documents.

    Every ``<linkGrp>`` has its own languages (see :func:`_group_langs`): a
    file may hold groups of several language pairs and in either order.

    Args:
        align: the alignment file.
        store: where the documents are.
        corpus: corpus name stored in each record.
        counts: counter receiving ``read:unaligned`` / ``read:empty`` /
            ``read:invalid_utf8``, and ``warn:empty_alignment`` for a file
            without links (skipped).
        src_lang, tgt_lang: wanted orientation (FLORES codes); when both are
            set they also name the languages of groups whose documents do not.
        name_pair: the pair of the file name (``de-en.xml.gz``), used for the
            orientation only.
        strict: an alignment file without links is an error, not a warning.

    Yields:
        Pair records with origin ``"<alignment file>#<fromDoc>|<toDoc>#<xtargets>"``.

    Raises:
        DataError: malformed XML, entity declarations, a link outside a
            ``linkGrp``, a bad ``xtargets``, a document or sentence id that
            cannot be found, a group whose languages cannot be told, or (with
            ``strict``) an alignment without links.
    """
    counts = counts if counts is not None else Counter()
    where = align.display
    if alignment_is_empty(align):
        yield from _empty(align, counts, strict)
        return
    parser = make_parser(align.display)
    handler = _AlignHandler(parser)
    group: Optional[_Group] = None
    n_links = 0
    prefer = (src_lang, tgt_lang, name_pair)
    fallback = (src_lang, tgt_lang) if src_lang and tgt_lang else None
    with align.open() as stream:
        for _ in feed(parser, stream, align.display):
            events, handler.events = handler.events, []
            for ev in events:
                if ev[0] == "grp":
                    _, from_doc, to_doc, line = ev
                    if not from_doc or not to_doc:
                        raise DataError(f"{align.display}:{line}: <linkGrp> without fromDoc/toDoc")
                    group = _Group(from_doc, to_doc, f"{align.short}#{from_doc}|{to_doc}#", line)
                    continue
                _, xtargets, line = ev
                n_links += 1
                if group is None:
                    raise DataError(f"{align.display}:{line}: <link> outside a <linkGrp>")
                if xtargets is None or xtargets.count(";") != 1:
                    raise DataError(f"{align.display}:{line}: bad xtargets {xtargets!r} (expected 'ids;ids')")
                left, right = xtargets.split(";")
                from_ids, to_ids = left.split(), right.split()
                if not from_ids or not to_ids:
                    counts[UNALIGNED] += 1
                    continue
                a = _join(store.sentences(group.from_doc), from_ids, group.from_doc, where, line)
                b = _join(store.sentences(group.to_doc), to_ids, group.to_doc, where, line)
                if group.langs is None:
                    group.langs = _group_langs(group, store, where, prefer, fallback)
                if TOO_LONG in a or TOO_LONG in b:
                    counts[LINE_TOO_LONG] += 1
                    continue
                if REPLACEMENT in a or REPLACEMENT in b:
                    counts[INVALID_UTF8] += 1
                    continue
                if not a or not b:
                    counts[EMPTY] += 1
                    continue
                sl, tl, swap = group.langs
                s, t = (b, a) if swap else (a, b)
                yield {
                    "src_lang": sl,
                    "tgt_lang": tl,
                    "src": s,
                    "tgt": t,
                    "corpus": corpus,
                    "origin": group.tag + xtargets,
                }
    if n_links == 0:
        yield from _empty(align, counts, strict)


def _empty(align: FileRef, counts: Counter, strict: bool) -> Iterator[dict]:
    if strict:
        raise DataError(f"{align.display} is empty (no <link> alignments); prep.strict is on")
    log.warning("%s is empty (no <link> alignments): skipped", align.display)
    counts[EMPTY_ALIGNMENT] += 1
    return iter(())


def _join(sents: dict[str, str], ids: list[str], doc: str, where: str, line: int) -> str:
    try:
        if len(ids) == 1:
            return sents[ids[0]]
        return " ".join([sents[i] for i in ids])
    except KeyError as err:
        raise DataError(f"{where}:{line}: sentence id {err.args[0]!r} not found in document {doc!r}") from None
