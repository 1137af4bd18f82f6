"""``read_corpus``: resolve a :class:`CorpusSource` and stream its pair records.

Resolution fills what the source leaves unset from OPUS naming: the format
(``.tmx[.gz]`` -> TMX, ``.xml[.gz]`` -> XCES, anything else Moses), the files
(a Moses prefix ``X.de-en``, one side file, or the single Moses pair inside a
zip), the languages (``de-en`` -> source ``de``, target ``en``; a source/target
language set in the config picks the orientation) and the corpus name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from data_prep.readers.files import DEFAULT_MAX_LINE_BYTES, FileRef, open_zip
from data_prep.readers.moses import read_moses
from data_prep.readers.opus_names import (
    corpus_from_folders,
    flores,
    is_language,
    parse_moses_side,
    parse_pair_file,
    resolve_code,
    resolve_pair,
    split_pair,
    strip_suffixes,
)
from data_prep.readers.tmx import read_tmx
from data_prep.readers.xces import DocStore, read_xces
from lmt.config.corpora import CorpusSource
from lmt.errors import DataError, MissingResourceError, UnknownLanguageError

TMX_SUFFIXES = (".tmx.gz", ".tmx")
XML_SUFFIXES = (".xml.gz", ".xml")
ZIP_SUFFIXES = (".txt.zip", ".zip")


def detect_format(source: CorpusSource) -> str:
    """``moses``, ``tmx`` or ``xces`` for a source (``format: auto`` looks at the name)."""
    if source.format != "auto":
        return source.format
    if source.src_path or source.tgt_path:
        return "moses"
    low = Path(source.path).name.lower()
    if low.endswith(TMX_SUFFIXES):
        return "tmx"
    if low.endswith(XML_SUFFIXES):
        return "xces"
    return "moses"


def read_corpus(
    source: CorpusSource,
    counts: Optional[Counter] = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    strict: bool = False,
) -> Iterator[dict]:
    """Stream the pair records of one corpus, in file order.

    Args:
        source: the corpus (see :class:`lmt.config.corpora.CorpusSource`).
        counts: counter receiving ``read:invalid_utf8``, ``read:empty``,
            ``read:unaligned`` and ``read:line_too_long`` (pairs skipped while
            reading) and ``warn:empty_alignment`` (XCES files without links).
        max_line_bytes: longest Moses line (bytes) or TMX/XCES segment
            (characters) read; longer ones drop their pair.
        strict: an empty XCES alignment file is an error instead of a warning.

    Yields:
        ``{src_lang, tgt_lang, src, tgt, corpus, origin}`` (FLORES codes).

    Raises:
        DataError: malformed or misaligned input, an empty corpus, unsafe zip
            members, a source that cannot be resolved (the message says what to set).
        MissingResourceError: a file that does not exist.
        UnknownLanguageError: a language code that the registry does not know.
    """
    if Path(source.path).is_dir() and not (source.src_path and source.tgt_path):
        raise DataError(
            f"corpus path {source.path} is a directory: expand it with data_prep.readers.discover() "
            "(prep does this for you) or set src_path/tgt_path"
        )
    fmt = detect_format(source)
    if fmt == "moses":
        plan = moses_plan(source)
        return read_moses(plan.src, plan.tgt, plan.src_lang, plan.tgt_lang, plan.name, counts, max_line_bytes)
    if fmt == "tmx":
        return _read_tmx(source, counts, max_line_bytes)
    return _read_xces(source, counts, strict, max_line_bytes)


# --------------------------------------------------------------------------- helpers


def _cfg_lang(code: Optional[str], key: str, source: CorpusSource) -> Optional[str]:
    if code is None:
        return None
    try:
        return flores(code)
    except UnknownLanguageError as err:
        raise UnknownLanguageError(f"corpus {source.path}: {key}: {err}") from None


def _orient(l1: str, l2: str, want_src: Optional[str], want_tgt: Optional[str], where: str) -> tuple[str, str, bool]:
    """Orientation of a ``l1-l2`` corpus: (src, tgt, swapped)."""
    for src, tgt, swapped in ((l1, l2, False), (l2, l1, True)):
        if (want_src in (None, src)) and (want_tgt in (None, tgt)):
            return src, tgt, swapped
    raise DataError(f"{where}: holds {l1}-{l2}, which does not match src_lang={want_src} tgt_lang={want_tgt}")


@dataclass(frozen=True)
class MosesPlan:
    """Resolved Moses corpus: the two sides, their FLORES codes, the name."""

    src: FileRef
    tgt: FileRef
    src_lang: str
    tgt_lang: str
    name: str


def _ref_in(base: Path, rel: str) -> FileRef:
    if Path(rel).is_absolute():
        return FileRef(rel)
    if base.name.lower().endswith(".zip") and base.is_file():
        return FileRef(str(base), rel)
    if base.is_dir() and ((base / rel).exists() or not Path(rel).exists()):
        return FileRef(str(base / rel))
    return FileRef(rel)


def moses_plan(source: CorpusSource) -> MosesPlan:
    """Resolve a Moses source to its two side files, languages and name.

    Raises:
        DataError: no (or more than one) Moses pair matches the source.
        MissingResourceError: a side file that does not exist.
    """
    want_src = _cfg_lang(source.src_lang, "src_lang", source)
    want_tgt = _cfg_lang(source.tgt_lang, "tgt_lang", source)
    if source.src_path or source.tgt_path:
        return _explicit_plan(source, want_src, want_tgt)
    p = Path(source.path)
    if p.name.lower().endswith(".zip"):
        groups, where = _zip_groups(p), f"zip archive {p}"
    else:
        groups, where = _prefix_groups(p), f"corpus {p}"
    return _pick_group(groups, where, want_src, want_tgt, source.name)


# Moses side groups: {(corpus, raw pair): {raw lang: FileRef}}
_Groups = dict[tuple[str, str], dict[str, FileRef]]


def _explicit_plan(source: CorpusSource, want_src: Optional[str], want_tgt: Optional[str]) -> MosesPlan:
    p = Path(source.path)
    if source.src_path and source.tgt_path:
        src, tgt = _ref_in(p, source.src_path), _ref_in(p, source.tgt_path)
    elif p.is_file() and not p.name.lower().endswith(".zip"):
        # `path` is one side, src_path/tgt_path names the other.
        other = _ref_in(p.parent, source.src_path or source.tgt_path or "")
        src, tgt = (other, FileRef(str(p))) if source.src_path else (FileRef(str(p)), other)
    else:
        raise DataError(f"corpus {source.path}: set both src_path and tgt_path, or point path at one side file")
    for key, rel, ref in (("src_path", source.src_path, src), ("tgt_path", source.tgt_path, tgt)):
        if rel:
            _check_side(source, key, rel, ref)
    sides = [parse_moses_side(r.name) for r in (src, tgt)]
    langs = []
    for want, side, key, ref in ((want_src, sides[0], "src_lang", src), (want_tgt, sides[1], "tgt_lang", tgt)):
        if want is None and side is None:
            raise DataError(f"corpus {source.path}: cannot infer {key} from {ref.name!r}; set {key}")
        langs.append(want or resolve_code(side[2], ref.display))
    name = source.name or (sides[0][0] if sides[0] else Path(src.name).stem.split(".")[0])
    return MosesPlan(src, tgt, langs[0], langs[1], name)


def _check_side(source: CorpusSource, key: str, rel: str, ref: FileRef) -> None:
    """A side named by ``src_path``/``tgt_path`` must exist (error names the key)."""
    if ref.member is not None:
        if ref.member not in open_zip(ref.path).name_set:
            raise MissingResourceError(f"corpus {source.path}: {key}: no member {rel!r} in the zip archive {ref.path}")
    elif not Path(ref.path).is_file():
        raise MissingResourceError(f"corpus {source.path}: {key}: {rel!r} does not exist (looked for {ref.path})")


def _zip_groups(p: Path) -> _Groups:
    groups: _Groups = {}
    for member in open_zip(p).names:
        parsed = parse_moses_side(Path(member).name)
        if parsed:
            groups.setdefault((parsed[0], parsed[1]), {})[parsed[2]] = FileRef(str(p), member)
    return groups


def _prefix_groups(p: Path) -> _Groups:
    """The sides of a prefix ``X.de-en`` or of one side file ``X.de-en.de[.gz]``."""
    if p.is_file():
        parsed = parse_moses_side(p.name)
        if parsed is None:
            raise DataError(
                f"corpus {p}: not an OPUS Moses file name (X.l1-l2.l1); set format, src_path/tgt_path and languages"
            )
        corpus, pair, _lang, prefix = parsed
    else:
        corpus, _, pair = p.name.rpartition(".")
        prefix = p.name
        if not corpus or not split_pair(pair):
            raise MissingResourceError(f"corpus {p} does not exist and is not a Moses prefix like bible-uedin.de-en")
    sides = split_pair(pair)
    assert sides is not None
    files: dict[str, FileRef] = {}
    for lang in sides:
        for cand in (p.parent / f"{prefix}.{lang}", p.parent / f"{prefix}.{lang}.gz"):
            if cand.is_file():
                files[lang] = FileRef(str(cand))
                break
    if not files:
        raise MissingResourceError(
            f"corpus {p}: no Moses files {prefix}.{sides[0]}[.gz] / {prefix}.{sides[1]}[.gz] in {p.parent}"
        )
    return {(corpus, pair): files}


def _pick_group(
    groups: _Groups, where: str, want_src: Optional[str], want_tgt: Optional[str], name: Optional[str]
) -> MosesPlan:
    complete = []
    for (corpus, pair), files in groups.items():
        raw = split_pair(pair)
        if not raw or set(raw) - set(files):
            continue
        l1, l2 = resolve_pair(raw[0], raw[1], files[raw[0]].display)
        if {want_src, want_tgt} - {None, l1, l2}:
            continue
        complete.append((corpus, raw, l1, l2, files))
    if not complete:
        found = {f"{c}.{pr}": sorted(f) for (c, pr), f in groups.items()}
        raise DataError(
            f"{where}: no complete Moses pair (X.l1-l2.l1 + X.l1-l2.l2) found"
            + (f"; incomplete: {found}" if found else "")
        )
    if len(complete) > 1:
        names = [f"{c}.{r[0]}-{r[1]}" for c, r, *_ in complete]
        raise DataError(f"{where}: holds several Moses corpora {names}; list each with src_path/tgt_path")
    corpus, raw, l1, l2, files = complete[0]
    src_lang, tgt_lang, swapped = _orient(l1, l2, want_src, want_tgt, where)
    a, b = files[raw[0]], files[raw[1]]
    src, tgt = (b, a) if swapped else (a, b)
    return MosesPlan(src, tgt, src_lang, tgt_lang, name or corpus)


def _pair_langs(
    source: CorpusSource, suffixes: tuple[str, ...]
) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """(corpus, l1, l2) from an OPUS TMX/XCES file name (codes FLORES; None when absent)."""
    parsed = parse_pair_file(Path(source.path).name, suffixes)
    if not parsed:
        return None, None, None
    corpus, a, b = parsed
    l1, l2 = resolve_pair(a, b, source.path)
    return corpus, l1, l2


def _default_name(source: CorpusSource, corpus: Optional[str], has_pair: bool, suffixes: tuple[str, ...]) -> str:
    """Config name, else the name's corpus part, else (for a bare ``de-en.xml.gz``)
    the OPUS download folder (``Europarl/v8/xml/``), else the file stem."""
    if source.name:
        return source.name
    if corpus:
        return corpus
    stem = strip_suffixes(Path(source.path).name, suffixes)
    return (corpus_from_folders(source.path) if has_pair else None) or stem


def _read_tmx(source: CorpusSource, counts: Optional[Counter], max_chars: int) -> Iterator[dict]:
    want_src = _cfg_lang(source.src_lang, "src_lang", source)
    want_tgt = _cfg_lang(source.tgt_lang, "tgt_lang", source)
    corpus, l1, l2 = _pair_langs(source, TMX_SUFFIXES)
    src_lang, tgt_lang = want_src, want_tgt
    if l1 and l2:
        src_lang, tgt_lang, _ = _orient(l1, l2, want_src, want_tgt, f"corpus {source.path}")
    ref = _source_ref(source)
    return read_tmx(ref, src_lang, tgt_lang, _default_name(source, corpus, bool(l1), TMX_SUFFIXES), counts, max_chars)


def _source_ref(source: CorpusSource) -> FileRef:
    p = Path(source.path)
    if not p.exists():
        raise MissingResourceError(f"corpus file {p} does not exist")
    return FileRef(str(p))


def default_doc_roots(align_path: "str | Path", langs: tuple[str, ...]) -> list[str]:
    """Document roots next to an alignment file: ``<lang>.zip`` archives and ``<lang>/`` folders, then the folder."""
    folder = Path(align_path).parent
    roots: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.name.lower().endswith(".zip"):
            stem = entry.name[:-4]
            tokens = stem.split("_")
            # de.zip, zh_cn.zip, Europarl_v8_xml_de.zip
            cands = [stem] + ["_".join(tokens[i:]) for i in range(1, len(tokens))]
            if any(is_language(c) and flores(c) in langs for c in cands if c):
                roots.append(str(entry))
    roots.append(str(folder))
    return roots


def _read_xces(source: CorpusSource, counts: Optional[Counter], strict: bool, max_chars: int) -> Iterator[dict]:
    want_src = _cfg_lang(source.src_lang, "src_lang", source)
    want_tgt = _cfg_lang(source.tgt_lang, "tgt_lang", source)
    ref = _source_ref(source)
    corpus, l1, l2 = _pair_langs(source, XML_SUFFIXES)
    name = _default_name(source, corpus, bool(l1), XML_SUFFIXES)
    name_pair = None
    if l1 and l2:
        # The name only orients; each link group's languages come from its documents.
        src, tgt, _ = _orient(l1, l2, want_src, want_tgt, f"corpus {source.path}")
        name_pair = (src, tgt)
    langs = tuple(c for c in (l1, l2, want_src, want_tgt) if c)
    roots = source.doc_roots() or default_doc_roots(source.path, langs)
    store = DocStore(roots, ref.display, max_chars)
    return read_xces(ref, store, name, counts, want_src, want_tgt, name_pair, strict)
