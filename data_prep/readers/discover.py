"""Find the OPUS corpora in a download folder (or a single file / zip).

Recognised, by OPUS naming:

* Moses sides ``{corpus}.{l1}-{l2}.{l1}`` + ``.{l2}`` (optionally ``.gz``);
* Moses zips (``{l1}-{l2}.txt.zip``, or any zip holding such sides);
* TMX ``[{corpus}.]{l1}-{l2}.tmx[.gz]``;
* XCES alignments ``[{corpus}.]{l1}-{l2}.xml[.gz]`` (checked to be a
  ``cesAlign`` file) with their documents in ``{l1}.zip``/``{l2}.zip`` or
  folders next to them.

Languages are returned as FLORES codes; an OPUS code the registry does not know
raises :class:`UnknownLanguageError` naming the file. Zips holding only
documents (``de.zip``), READMEs, ``.ids`` files and the like are ignored.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Iterable, Optional

from data_prep.readers.corpus import TMX_SUFFIXES, XML_SUFFIXES, default_doc_roots
from data_prep.readers.files import is_gzip_name, open_zip
from data_prep.readers.opus_names import (
    corpus_from_folders,
    flores,
    parse_moses_side,
    parse_pair_file,
    resolve_pair,
    split_pair,
    strip_suffixes,
)
from lmt.config.corpora import CorpusSource
from lmt.errors import DataError, MissingResourceError


def discover(path: "str | Path") -> list[CorpusSource]:
    """List the corpora in an OPUS download folder, file or zip.

    Args:
        path: a directory (searched recursively, hidden entries skipped), a
            Moses side file, a zip, a TMX file or an XCES alignment file.

    Returns:
        One fully specified :class:`CorpusSource` per corpus and language
        pair, sorted by path.

    Raises:
        MissingResourceError: ``path`` does not exist.
        DataError: ``path`` holds no OPUS corpus, or a zip has unsafe members.
        UnknownLanguageError: an OPUS file name has an unknown language code.
    """
    root = Path(path)
    if not root.exists():
        raise MissingResourceError(f"{root} does not exist")
    if root.is_dir():
        # Hidden entries and macOS metadata (__MACOSX/, ._name) are never corpora.
        files = sorted(
            f
            for f in root.rglob("*")
            if f.is_file() and not any(p.startswith(".") or p == "__MACOSX" for p in f.relative_to(root).parts)
        )
    elif parse_moses_side(root.name):
        # One Moses side: its partner is a sibling with the same prefix.
        prefix = parse_moses_side(root.name)[3]
        files = sorted(f for f in root.parent.iterdir() if f.is_file() and f.name.startswith(prefix + "."))
    else:
        files = [root]
    sources = _moses_sides(files)
    for f in files:
        low = f.name.lower()
        if low.endswith(".zip"):
            sources += _moses_zip(f)
        elif low.endswith(TMX_SUFFIXES):
            sources.append(_tmx(f))
        elif low.endswith(XML_SUFFIXES) and parse_pair_file(f.name, XML_SUFFIXES) and _is_alignment(f):
            sources.append(_xces(f))
    if not sources:
        raise DataError(
            f"{root}: no OPUS corpus found (expected Moses X.l1-l2.l1/.l2, l1-l2.txt.zip, *.tmx[.gz] "
            "or XCES l1-l2.xml[.gz] with l1.zip/l2.zip)"
        )
    return sorted(sources, key=lambda s: (s.path, s.src_path or "", s.tgt_path or ""))


def resolve_sources(sources: Iterable[CorpusSource]) -> list[CorpusSource]:
    """Expand sources whose ``path`` is a directory into the corpora found there.

    A ``name`` set on a directory entry names every corpus found in it; its
    ``src_lang``/``tgt_lang`` keep only matching pairs, oriented that way.
    Other sources are returned unchanged.
    """
    out: list[CorpusSource] = []
    for src in sources:
        if not Path(src.path).is_dir() or (src.src_path and src.tgt_path):
            out.append(src)
            continue
        want = {k: flores(v) for k, v in (("src_lang", src.src_lang), ("tgt_lang", src.tgt_lang)) if v}
        for found in discover(src.path):
            pair = _name_pair(found)
            if not set(want.values()) <= set(pair):
                continue
            update: dict = {"name": src.name} if src.name else {}
            if found.format == "xces":
                update.update(want)  # orients every link group holding these languages
            elif want.get("src_lang") == pair[1] or want.get("tgt_lang") == pair[0]:
                update.update(src_lang=pair[1], tgt_lang=pair[0])
                if found.src_path:
                    update.update(src_path=found.tgt_path, tgt_path=found.src_path)
            out.append(found.model_copy(update=update))
    return out


def _moses_sides(files: list[Path]) -> list[CorpusSource]:
    groups: dict[tuple[Path, str], dict[str, Path]] = {}
    meta: dict[tuple[Path, str], tuple[str, str]] = {}
    for f in files:
        parsed = parse_moses_side(f.name)
        if parsed and not f.name.lower().endswith((".zip", ".tmx", ".xml")):
            corpus, pair, lang, prefix = parsed
            groups.setdefault((f.parent, prefix), {})[lang] = f
            meta[(f.parent, prefix)] = (corpus, pair)
    out = []
    for key, sides in groups.items():
        corpus, pair = meta[key]
        l1, l2 = _split(pair)
        if l1 not in sides or l2 not in sides:
            continue  # an .ids file or a lone side: not a corpus
        c1, c2 = resolve_pair(l1, l2, str(sides[l1]))
        out.append(
            CorpusSource(
                path=str(key[0] / key[1]),
                format="moses",
                src_lang=c1,
                tgt_lang=c2,
                name=corpus,
                src_path=str(sides[l1]),
                tgt_path=str(sides[l2]),
            )
        )
    return out


def _split(pair: str) -> tuple[str, str]:
    sides = split_pair(pair)
    assert sides is not None  # parse_moses_side only returns valid pairs
    return sides


def _moses_zip(f: Path) -> list[CorpusSource]:
    archive = open_zip(f)  # refuses unsafe member paths
    groups: dict[tuple[str, str], dict[str, str]] = {}
    for member in archive.names:
        parsed = parse_moses_side(Path(member).name)
        if parsed:
            corpus, pair, lang, prefix = parsed
            groups.setdefault((str(Path(member).parent), prefix), {})[lang] = member
    out = []
    for (_folder, prefix), sides in sorted(groups.items()):
        corpus, pair = prefix.rsplit(".", 1)
        l1, l2 = _split(pair)
        if l1 not in sides or l2 not in sides:
            continue
        c1, c2 = resolve_pair(l1, l2, f"{f}/{sides[l1]}")
        out.append(
            CorpusSource(
                path=str(f),
                format="moses",
                src_lang=c1,
                tgt_lang=c2,
                name=corpus,
                src_path=sides[l1],
                tgt_path=sides[l2],
            )
        )
    return out


def _tmx(f: Path) -> CorpusSource:
    parsed = parse_pair_file(f.name, TMX_SUFFIXES)
    if parsed is None:
        # Languages will come from the first <tu>.
        return CorpusSource(path=str(f), format="tmx", name=strip_suffixes(f.name, TMX_SUFFIXES))
    corpus, a, b = parsed
    l1, l2 = resolve_pair(a, b, str(f))
    return CorpusSource(path=str(f), format="tmx", src_lang=l1, tgt_lang=l2, name=corpus or corpus_from_folders(f) or f"{a}-{b}")


def _is_alignment(f: Path) -> bool:
    opener = gzip.open if is_gzip_name(f.name) else open
    try:
        with opener(f, "rb") as fh:
            head = fh.read(4096)
    except (OSError, EOFError) as err:
        raise DataError(f"{f}: cannot read ({err})") from None
    # An empty file named like an alignment is one (OPUS ships a few): the
    # reader skips it with a counted warning instead of losing it silently.
    return b"<cesAlign" in head or b"<linkGrp" in head or not head.strip()


def _xces(f: Path) -> CorpusSource:
    parsed = parse_pair_file(f.name, XML_SUFFIXES)
    assert parsed is not None
    corpus, a, b = parsed
    l1, l2 = resolve_pair(a, b, str(f))
    # No src_lang/tgt_lang: each link group's languages come from its documents
    # (the file name only orients them); languages set here would also label
    # groups whose documents name none, i.e. guess from the file name.
    return CorpusSource(
        path=str(f),
        format="xces",
        name=corpus or corpus_from_folders(f) or f"{a}-{b}",
        docs=default_doc_roots(f, (l1, l2)),
    )


def _name_pair(source: CorpusSource) -> tuple[Optional[str], Optional[str]]:
    """The languages of a discovered source: its own, or its file name's (XCES)."""
    if source.src_lang or source.format != "xces":
        return source.src_lang, source.tgt_lang
    parsed = parse_pair_file(Path(source.path).name, XML_SUFFIXES)
    if parsed is None:
        return None, None
    return resolve_pair(parsed[1], parsed[2], source.path)
