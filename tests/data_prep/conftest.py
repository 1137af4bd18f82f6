"""OPUS fixture writers shared by the data_prep tests.

Each helper WRITES a small corpus in one OPUS distribution format, the way OPUS
ships it, so tests of readers, filters and the pipeline run on real files:

* :func:`write_moses` -- ``{corpus}.{l1}-{l2}.{l1}`` + ``.{l2}`` (plain or .gz);
* :func:`write_moses_zip` -- ``{l1}-{l2}.txt.zip`` holding the two sides (+ README);
* :func:`write_tmx` -- ``{corpus}.{l1}-{l2}.tmx[.gz]``;
* :func:`write_xces` -- ``{l1}-{l2}.xml.gz`` + documents as folders or
  ``{l1}.zip``/``{l2}.zip`` (members under ``{corpus}/xml/{lang}/``, gzipped).

Languages are OPUS codes (``de``, ``en``, ``zh_cn``); sentences default to the
shared ``parallel_text`` fixture of tests/conftest.py.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path
from typing import Optional, Sequence
from xml.sax.saxutils import escape, quoteattr

import pytest


def _write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def _lines(lines: Sequence["str | bytes"]) -> bytes:
    return b"".join((x if isinstance(x, bytes) else x.encode("utf-8")) + b"\n" for x in lines)


def write_moses(
    folder: Path,
    corpus: str,
    l1: str,
    l2: str,
    src: Sequence["str | bytes"],
    tgt: Sequence["str | bytes"],
    gz: bool = False,
) -> Path:
    """Write ``folder/{corpus}.{l1}-{l2}.{l1|l2}[.gz]``; returns the prefix path."""
    prefix = folder / f"{corpus}.{l1}-{l2}"
    _write(folder / f"{corpus}.{l1}-{l2}.{l1}", _lines(src), gz)
    _write(folder / f"{corpus}.{l1}-{l2}.{l2}", _lines(tgt), gz)
    return prefix


def write_moses_zip(
    path: Path, corpus: str, l1: str, l2: str, src: Sequence[str], tgt: Sequence[str], extra: Optional[dict] = None
) -> Path:
    """Write an OPUS Moses zip: ``{corpus}.{l1}-{l2}.{l1|l2}``, ``.ids``, README, LICENSE."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{corpus}.{l1}-{l2}.{l1}", _lines(src))
        z.writestr(f"{corpus}.{l1}-{l2}.{l2}", _lines(tgt))
        z.writestr(f"{corpus}.{l1}-{l2}.ids", _lines([f"a.xml\tb.xml\t{i}\t{i}" for i in range(len(src))]))
        z.writestr("README", "OPUS corpus\n")
        z.writestr("LICENSE", "CC-BY\n")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def tmx_bytes(units: Sequence[dict], lang_attr: str = "xml:lang", doctype: str = "") -> bytes:
    """A TMX 1.4 document; each unit maps a language code to a raw ``<seg>`` XML fragment."""
    body = []
    for unit in units:
        tuvs = "".join(f'<tuv {lang_attr}="{lang}"><seg>{seg}</seg></tuv>' for lang, seg in unit.items())
        body.append(f"    <tu>{tuvs}</tu>")
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        + doctype
        + '<tmx version="1.4">\n<header creationtool="test" segtype="sentence" adminlang="en" srclang="*all*" datatype="PlainText" o-tmf="none"/>\n'
        + "  <body>\n"
        + "\n".join(body)
        + "\n  </body>\n</tmx>\n"
    )
    return text.encode("utf-8")


def write_tmx(path: Path, units: Sequence[dict], gz: bool = False, escape_text: bool = True, **kw) -> Path:
    """Write a TMX file (``.gz`` appended when ``gz``); unit texts are XML-escaped unless told not to."""
    if escape_text:
        units = [{lang: escape(seg) for lang, seg in u.items()} for u in units]
    return _write(path, tmx_bytes(units, **kw), gz)


def doc_bytes(sentences: dict, tokenized: bool = False) -> bytes:
    """An OPUS XML document; ``tokenized`` puts each word in a ``<w>``."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<document id="d">', "<p>"]
    for sid, text in sentences.items():
        if tokenized:
            words = "".join(f'<w id="{sid}.{i}">{escape(w)}</w>' for i, w in enumerate(text.split(), 1))
            out.append(f'<s id="{sid}">{words}</s>')
        else:
            out.append(f'<s id="{sid}">\n  {escape(text)}\n</s>')
    out += ["</p>", "</document>", ""]
    return "\n".join(out).encode("utf-8")


def align_bytes(groups: Sequence[tuple[str, str, Sequence[str]]]) -> bytes:
    """A cesAlign file: ``(fromDoc, toDoc, [xtargets...])`` per linkGrp."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<!DOCTYPE cesAlign PUBLIC "-//CES//DTD XML cesAlign//EN" "">',
           '<cesAlign version="1.0">']
    for from_doc, to_doc, links in groups:
        out.append(f'<linkGrp targType="s" fromDoc={quoteattr(from_doc)} toDoc={quoteattr(to_doc)}>')
        for i, xt in enumerate(links, 1):
            out.append(f'<link id="SL{i}" xtargets={quoteattr(xt)} />')
        out.append("</linkGrp>")
    out += ["</cesAlign>", ""]
    return "\n".join(out).encode("utf-8")


def write_xces(
    folder: Path,
    l1: str,
    l2: str,
    docs: dict,
    groups: Sequence[tuple[str, str, Sequence[str]]],
    zipped: bool = True,
    corpus: str = "Toy",
    tokenized: bool = False,
    align_name: Optional[str] = None,
) -> Path:
    """Write an XCES corpus as OPUS ships it; returns the alignment file path.

    Args:
        docs: ``{"de/a.xml.gz": {"s1": "text", ...}, ...}`` keyed by the paths
            the alignment uses.
        groups: ``(fromDoc, toDoc, [xtargets, ...])``.
        zipped: documents in ``{lang}.zip`` (members ``{corpus}/xml/{path}``
            without ``.gz``, as OPUS does) instead of folders next to the alignment.
    """
    folder.mkdir(parents=True, exist_ok=True)
    align = folder / (align_name or f"{l1}-{l2}.xml.gz")
    with gzip.open(align, "wb") as f:
        f.write(align_bytes(groups))
    if zipped:
        for lang in (l1, l2):
            with zipfile.ZipFile(folder / f"{lang}.zip", "w", zipfile.ZIP_DEFLATED) as z:
                for name, sents in docs.items():
                    if name.split("/")[0] == lang:
                        member = f"{corpus}/xml/{name[:-3] if name.endswith('.gz') else name}"
                        z.writestr(member, doc_bytes(sents, tokenized))
    else:
        for name, sents in docs.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            data = doc_bytes(sents, tokenized)
            if name.endswith(".gz"):
                with gzip.open(path, "wb") as f:
                    f.write(data)
            else:
                path.write_bytes(data)
    return align


def zip_with_member(path: Path, member: str, data: bytes = b"x\n") -> Path:
    """A zip holding one member with an arbitrary (possibly unsafe) name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo(member), data)
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture
def de_en(parallel_text) -> tuple[list[str], list[str]]:
    """The shared German and English sentences (8 aligned lines)."""
    return list(parallel_text["deu_Latn"]), list(parallel_text["eng_Latn"])
