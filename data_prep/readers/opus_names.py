"""OPUS file-name conventions: language pairs and corpus names.

OPUS names its downloads ``{corpus}.{l1}-{l2}.{lang}`` (Moses sides),
``{corpus}.{l1}-{l2}.tmx.gz`` (TMX), ``{l1}-{l2}.txt.zip`` (Moses zip, whose
members carry the corpus name) and ``{l1}-{l2}.xml.gz`` next to ``{l1}.zip`` /
``{l2}.zip`` (XCES; the corpus name is a parent folder, e.g.
``Europarl/v8/xml/de-en.xml.gz``). ``opus_get`` prefixes names with
``{corpus}_{version}_{format}_`` (``Europarl_v8_xml_de-en.xml.gz``). OPUS
language codes (``zh_cn``, ``pt_br``, ``nb``) resolve through
:mod:`lmt.languages`.
"""

from __future__ import annotations

import contextlib
import functools
import re
from pathlib import Path
from typing import Optional

from lmt.errors import UnknownLanguageError
from lmt.languages import get_language, normalize_code

# Folder names in OPUS download trees that are not the corpus name.
_NOT_CORPUS = re.compile(r"^(xml|raw|moses|tmx|parsed|mono|smt|dic|freq|alignments?|v?\d[\w.\-]*|latest|data|download\w*)$", re.I)
# opus_get file-name prefix: {corpus}_{version}_{format}_
_OPUS_GET = re.compile(r"^(?P<corpus>.+?)_(?P<version>v?[\w.\-]+?|latest)_(?P<fmt>xml|moses|tmx|raw)_(?P<rest>.+)$", re.I)


@functools.lru_cache(maxsize=4096)
def flores(code: str) -> str:
    """FLORES code of an OPUS/ISO/FLORES/BCP-47 code (cached).

    Region-tagged codes the registry does not list fall back to their language
    (``de-DE``, ``fr_CA`` -> ``deu_Latn``, ``fra_Latn``); a script subtag is
    kept (``sr-Latn`` -> ``srp_Latn`` if registered), never dropped.

    Raises:
        UnknownLanguageError: naming the closest valid codes.
    """
    try:
        return normalize_code(code)
    except UnknownLanguageError:
        parts = re.split(r"[-_]", code)
        if len(parts) == 2 and parts[0]:
            lang, sub = parts
            if re.fullmatch(r"[A-Za-z]{2}|\d{3}", sub):
                with contextlib.suppress(UnknownLanguageError):
                    return normalize_code(lang)
            elif re.fullmatch(r"[A-Za-z]{4}", sub):
                with contextlib.suppress(UnknownLanguageError):
                    return normalize_code(f"{get_language(lang).iso639_3}_{sub.title()}")
        raise


def is_language(code: str) -> bool:
    """Whether ``code`` resolves in the language registry."""
    try:
        flores(code)
        return True
    except UnknownLanguageError:
        return False


def split_pair(text: str) -> Optional[tuple[str, str]]:
    """Split an OPUS pair ``de-en`` / ``en-zh_cn`` into its two raw codes.

    Returns None when ``text`` does not look like a pair (no dash, empty side,
    or characters OPUS codes never contain). Codes are not validated here.
    """
    if "-" not in text or not re.fullmatch(r"[A-Za-z0-9_\-]+", text):
        return None
    parts = text.split("-")
    if len(parts) == 2:
        a, b = parts
        return (a, b) if a and b and _code_like(a) and _code_like(b) else None
    # Codes with dashes (zh-cn-en): keep the first split where both sides resolve.
    for i in range(1, len(parts)):
        a, b = "-".join(parts[:i]), "-".join(parts[i:])
        if is_language(a) and is_language(b):
            return a, b
    return None


def _code_like(code: str) -> bool:
    # OPUS codes: 2-3 letters, optionally _REGION/_script (zh_cn, pt_br, sr_latn, ze_zh).
    return bool(re.fullmatch(r"[A-Za-z]{2,3}(_[A-Za-z0-9]{2,8})*", code))


def resolve_code(code: str, where: str) -> str:
    """FLORES code of a raw code from a file name; unknown codes raise naming ``where``."""
    try:
        return flores(code)
    except UnknownLanguageError as err:
        raise UnknownLanguageError(f"{where}: language code {code!r} in the file name is not known: {err}") from None


def resolve_pair(a: str, b: str, where: str) -> tuple[str, str]:
    """FLORES codes of a raw pair; unknown codes raise naming ``where`` (the file)."""
    return resolve_code(a, where), resolve_code(b, where)


def strip_opus_get(stem: str) -> tuple[Optional[str], str]:
    """Split an ``opus_get`` name ``Corpus_v1_xml_de-en`` into (``Corpus``, ``de-en``)."""
    m = _OPUS_GET.match(stem)
    if m and split_pair(m.group("rest")):
        return m.group("corpus"), m.group("rest")
    return None, stem


def corpus_from_folders(path: "str | Path") -> Optional[str]:
    """Corpus name from the download tree (``Europarl/v8/xml/de-en.xml.gz`` -> ``Europarl``)."""
    for parent in Path(path).resolve().parents:
        name = parent.name
        if not name:
            break
        if _NOT_CORPUS.match(name) or split_pair(name):
            continue
        return name
    return None


def strip_suffixes(name: str, suffixes: tuple[str, ...]) -> str:
    """Remove the first matching (case-insensitive) suffix chain, e.g. ``.tmx.gz``."""
    low = name.lower()
    for suf in suffixes:
        if low.endswith(suf):
            return name[: len(name) - len(suf)]
    return name


def parse_moses_side(name: str) -> Optional[tuple[str, str, str, str]]:
    """Parse a Moses side file name ``{corpus}.{l1}-{l2}.{lang}[.gz]``.

    Returns:
        (corpus, pair, lang, pair_prefix) with raw OPUS codes, or None when the
        name does not follow the convention (README, LICENSE, ``.ids``...).
    """
    base = strip_suffixes(name, (".gz",))
    parts = base.split(".")
    if len(parts) < 3:
        return None
    corpus, pair, lang = ".".join(parts[:-2]), parts[-2], parts[-1]
    sides = split_pair(pair)
    if not corpus or not sides or lang not in sides:
        return None
    return corpus, pair, lang, f"{corpus}.{pair}"


def parse_pair_file(name: str, suffixes: tuple[str, ...]) -> Optional[tuple[Optional[str], str, str]]:
    """Parse ``[{corpus}.]{l1}-{l2}{suffix}`` (TMX, XCES, Moses zip names).

    Returns:
        (corpus or None, l1, l2) with raw codes, or None when no pair is found.
    """
    stem = strip_suffixes(name, suffixes)
    if stem == name:
        return None
    corpus, stem = strip_opus_get(stem)
    if "." in stem:
        head, pair = stem.rsplit(".", 1)
        corpus = corpus or head
    else:
        pair = stem
    sides = split_pair(pair)
    if not sides:
        return None
    return corpus, sides[0], sides[1]
