"""XCES reader: documents in folders and zips, 1-to-many links, counts, hostile input."""

from __future__ import annotations

import gzip
import zipfile
from collections import Counter

import pytest

from data_prep.readers import CorpusSource, read_corpus
from lmt.errors import DataError, MissingResourceError
from tests.data_prep.conftest import align_bytes, doc_bytes, write_xces

DOCS = {
    "de/2010/a.xml.gz": {"s1": "Die Katze schläft.", "s2": "Sie ist müde.", "s3": "Ende.", "s4": "Noch ein Satz."},
    "en/2010/a.xml.gz": {"s1": "The cat sleeps because it is tired.", "s2": "The end.", "s3": "Extra."},
    "de/2011/b.xml.gz": {"1": "Guten Morgen.", "2": "Wie geht's?"},
    "en/2011/b.xml.gz": {"1": "Good morning.", "2": "How are you?", "3": "Fine."},
}
GROUPS = [
    # 2-to-1, 1-to-1, 0-to-1 (unaligned), 1-to-0 (unaligned)
    ("de/2010/a.xml.gz", "en/2010/a.xml.gz", ["s1 s2;s1", "s3;s2", ";s3", "s4;"]),
    # 1-to-1, 1-to-2
    ("de/2011/b.xml.gz", "en/2011/b.xml.gz", ["1;1", "2;2 3"]),
]
EXPECTED = [
    ("Die Katze schläft. Sie ist müde.", "The cat sleeps because it is tired.", "de/2010/a.xml.gz|en/2010/a.xml.gz#s1 s2;s1"),
    ("Ende.", "The end.", "de/2010/a.xml.gz|en/2010/a.xml.gz#s3;s2"),
    ("Guten Morgen.", "Good morning.", "de/2011/b.xml.gz|en/2011/b.xml.gz#1;1"),
    ("Wie geht's?", "How are you? Fine.", "de/2011/b.xml.gz|en/2011/b.xml.gz#2;2 3"),
]


@pytest.mark.parametrize("zipped", [True, False])
@pytest.mark.parametrize("tokenized", [False, True])
def test_xces_exact_records(tmp_path, zipped, tokenized):
    folder = tmp_path / "Toy" / "v1" / "xml"
    align = write_xces(folder, "de", "en", DOCS, GROUPS, zipped=zipped, tokenized=tokenized)
    counts = Counter()
    recs = list(read_corpus(CorpusSource(path=str(align)), counts))
    assert [(r["src"], r["tgt"], r["origin"].split("#", 1)[1]) for r in recs] == EXPECTED
    assert {(r["src_lang"], r["tgt_lang"], r["corpus"]) for r in recs} == {("deu_Latn", "eng_Latn", "Toy")}
    assert recs[0]["origin"].startswith("de-en.xml.gz#")
    assert counts == Counter({"read:unaligned": 2})


def test_xces_explicit_docs_and_swap(tmp_path):
    align = write_xces(tmp_path / "raw", "de", "en", DOCS, GROUPS, zipped=True)
    # Move the document zips elsewhere: only `docs:` can find them.
    store = tmp_path / "docs"
    store.mkdir()
    for lang in ("de", "en"):
        (tmp_path / "raw" / f"{lang}.zip").rename(store / f"{lang}.zip")
    with pytest.raises(DataError, match=r"document 'de/2010/a\.xml\.gz' not found"):
        list(read_corpus(CorpusSource(path=str(align))))
    src = CorpusSource(path=str(align), docs=[str(store / "de.zip"), str(store / "en.zip")], src_lang="en", name="X")
    recs = list(read_corpus(src))
    assert [(r["src_lang"], r["src"], r["tgt"], r["corpus"]) for r in recs][:1] == [
        ("eng_Latn", "The cat sleeps because it is tired.", "Die Katze schläft. Sie ist müde.", "X")
    ]
    assert len(recs) == 4


def test_xces_invalid_utf8_and_empty_counted(tmp_path):
    folder = tmp_path / "c"
    docs = {"de/a.xml": {"s1": "Gut.", "s2": "Kaputt @@.", "s3": ""}, "en/a.xml": {"s1": "Good.", "s2": "Broken.", "s3": "Empty."}}
    write_xces(folder, "de", "en", docs, [("de/a.xml", "en/a.xml", ["s1;s1", "s2;s2", "s3;s3"])], zipped=False)
    raw = (folder / "de/a.xml").read_bytes().replace(b"@@", b"\xff")
    (folder / "de/a.xml").write_bytes(raw)
    counts = Counter()
    recs = list(read_corpus(CorpusSource(path=str(folder / "de-en.xml.gz")), counts))
    assert [(r["src"], r["tgt"]) for r in recs] == [("Gut.", "Good.")]
    assert counts == Counter({"read:invalid_utf8": 1, "read:empty": 1})


def test_xces_missing_sentence_and_bad_xtargets(tmp_path):
    folder = tmp_path / "c"
    docs = {"de/a.xml": {"s1": "Gut."}, "en/a.xml": {"s1": "Good."}}
    write_xces(folder, "de", "en", docs, [("de/a.xml", "en/a.xml", ["s1;s1", "s9;s1"])], zipped=False)
    with pytest.raises(DataError, match=r"de-en\.xml\.gz:6: sentence id 's9' not found in document 'de/a\.xml'"):
        list(read_corpus(CorpusSource(path=str(folder / "de-en.xml.gz"))))
    write_xces(folder, "de", "en", docs, [("de/a.xml", "en/a.xml", ["s1 s1"])], zipped=False)
    with pytest.raises(DataError, match=r"de-en\.xml\.gz:5: bad xtargets 's1 s1'"):
        list(read_corpus(CorpusSource(path=str(folder / "de-en.xml.gz"))))


def test_xces_hostile_and_malformed(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    evil = align_bytes([("de/a.xml", "en/a.xml", ["s1;s1"])]).replace(
        b'<!DOCTYPE cesAlign PUBLIC "-//CES//DTD XML cesAlign//EN" "">',
        b'<!DOCTYPE cesAlign [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    )
    with gzip.open(folder / "de-en.xml.gz", "wb") as f:
        f.write(evil)
    with pytest.raises(DataError, match=r"de-en\.xml\.gz:2: XML entity declaration <!ENTITY a"):
        list(read_corpus(CorpusSource(path=str(folder / "de-en.xml.gz"))))
    # An entity declared in a *document* is refused too.
    (folder / "de-en.xml").write_bytes(align_bytes([("de/a.xml", "en/a.xml", ["s1;s1"])]))
    (folder / "de").mkdir()
    (folder / "en").mkdir()
    (folder / "de/a.xml").write_bytes(
        doc_bytes({"s1": "x"}).replace(b"<document", b'<!DOCTYPE document [<!ENTITY e "boom">]>\n<document')
    )
    (folder / "en/a.xml").write_bytes(doc_bytes({"s1": "y"}))
    with pytest.raises(DataError, match=r"de/a\.xml:2: XML entity declaration"):
        list(read_corpus(CorpusSource(path=str(folder / "de-en.xml"))))
    (folder / "de/a.xml").write_bytes(b'<?xml version="1.0"?>\n<document>\n<s id="s1">x</p>\n</document>\n')
    with pytest.raises(DataError, match=r"de/a\.xml:3: malformed XML: mismatched tag"):
        list(read_corpus(CorpusSource(path=str(folder / "de-en.xml"))))


def test_xces_unsafe_doc_zip_refused(tmp_path):
    folder = tmp_path / "c"
    write_xces(folder, "de", "en", DOCS, GROUPS, zipped=True)
    with zipfile.ZipFile(folder / "de.zip", "a") as z:
        z.writestr(zipfile.ZipInfo("../../outside.xml"), b"<x/>")
    with pytest.raises(DataError, match=r"de\.zip: unsafe member path '\.\./\.\./outside\.xml'"):
        list(read_corpus(CorpusSource(path=str(folder / "de-en.xml.gz"))))


@pytest.mark.parametrize("content", [b"", align_bytes([])], ids=["zero_bytes", "no_links"])
def test_xces_empty_alignment_skipped_with_warning_or_strict(tmp_path, content):
    folder = tmp_path / "c"
    folder.mkdir()
    with gzip.open(folder / "de-en.xml.gz", "wb") as f:
        f.write(content)
    counts = Counter()
    assert list(read_corpus(CorpusSource(path=str(folder / "de-en.xml.gz")), counts)) == []
    assert counts == Counter({"warn:empty_alignment": 1})
    with pytest.raises(DataError, match=r"de-en\.xml\.gz is empty \(no <link> alignments\); prep.strict is on"):
        list(read_corpus(CorpusSource(path=str(folder / "de-en.xml.gz")), strict=True))
    with pytest.raises(MissingResourceError, match="document root .*nowhere does not exist"):
        list(read_corpus(CorpusSource(path=str(folder / "de-en.xml.gz"), docs=str(tmp_path / "nowhere"))))


SV_DOCS = {
    "sv/a.xml.gz": {"1": "Katten sover.", "2": "God morgon."},
    "de/a.xml.gz": {"1": "Die Katze schläft.", "2": "Guten Morgen."},
    "en/a.xml.gz": {"1": "The cat sleeps.", "2": "Good morning."},
}


def test_xces_languages_per_link_group(tmp_path):
    """One file, named de-en, holds an sv->de group, an en->de group (reversed
    order) and an sv->en group: each group is labelled by its own documents."""
    groups = [
        ("sv/a.xml.gz", "de/a.xml.gz", ["1;1"]),
        ("en/a.xml.gz", "de/a.xml.gz", ["2;2"]),
        ("sv/a.xml.gz", "en/a.xml.gz", ["1;1"]),
    ]
    align = write_xces(tmp_path / "c", "de", "en", SV_DOCS, groups, zipped=False)
    recs = list(read_corpus(CorpusSource(path=str(align))))
    assert [(r["src_lang"], r["tgt_lang"], r["src"], r["tgt"]) for r in recs] == [
        ("swe_Latn", "deu_Latn", "Katten sover.", "Die Katze schläft."),
        # en->de group inside a de-en file: oriented like the file name, texts follow.
        ("deu_Latn", "eng_Latn", "Guten Morgen.", "Good morning."),
        ("swe_Latn", "eng_Latn", "Katten sover.", "The cat sleeps."),
    ]
    # A wanted source language puts every group holding it on the source side.
    recs = list(read_corpus(CorpusSource(path=str(align), src_lang="en")))
    assert [(r["src_lang"], r["tgt_lang"], r["src"]) for r in recs][1:] == [
        ("eng_Latn", "deu_Latn", "Good morning."),
        ("eng_Latn", "swe_Latn", "The cat sleeps."),
    ]


def test_xces_document_lang_attribute_wins_over_path(tmp_path):
    folder = tmp_path / "c"
    (folder / "docs").mkdir(parents=True)
    (folder / "de-en.xml").write_bytes(align_bytes([("docs/x.xml", "docs/y.xml", ["1;1"])]))
    (folder / "docs/x.xml").write_bytes(doc_bytes({"1": "Good morning."}).replace(b'<document id="d"', b'<document id="d" lang="en"'))
    (folder / "docs/y.xml").write_bytes(doc_bytes({"1": "Guten Morgen."}).replace(b'<document id="d"', b'<document id="d" xml:lang="de"'))
    recs = list(read_corpus(CorpusSource(path=str(folder / "de-en.xml"))))
    assert [(r["src_lang"], r["tgt_lang"], r["src"]) for r in recs] == [("deu_Latn", "eng_Latn", "Guten Morgen.")]


def test_xces_group_without_languages_is_an_error(tmp_path):
    folder = tmp_path / "c"
    (folder / "docs").mkdir(parents=True)
    (folder / "de-en.xml").write_bytes(
        align_bytes([("de/x.xml", "en/x.xml", ["1;1"]), ("docs/a.xml", "docs/b.xml", ["1;1"])])
    )
    for rel, text in (("de/x.xml", "Hallo."), ("en/x.xml", "Hello."), ("docs/a.xml", "Hallo."), ("docs/b.xml", "Hello.")):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(doc_bytes({"1": text}))
    with pytest.raises(DataError, match=r"de-en\.xml:7: cannot tell the languages of <linkGrp fromDoc='docs/a\.xml' toDoc='docs/b\.xml'>"):
        list(read_corpus(CorpusSource(path=str(folder / "de-en.xml"))))
    # Languages set in the config name such groups (the user said so: not a guess).
    recs = list(read_corpus(CorpusSource(path=str(folder / "de-en.xml"), src_lang="de", tgt_lang="en")))
    assert [(r["src_lang"], r["tgt_lang"], r["src"]) for r in recs] == [("deu_Latn", "eng_Latn", "Hallo.")] * 2


def _xces_peak(folder, n_docs: int) -> tuple[int, int]:
    import tracemalloc

    docs, groups = {}, []
    for d in range(n_docs):
        docs[f"de/{d}.xml.gz"] = {f"s{j}": f"Deutscher Satz {j} in Dokument {d}." for j in range(40)}
        docs[f"en/{d}.xml.gz"] = {f"s{j}": f"English sentence {j} in document {d}." for j in range(40)}
        groups.append((f"de/{d}.xml.gz", f"en/{d}.xml.gz", [f"s{j};s{j}" for j in range(40)]))
    align = write_xces(folder, "de", "en", docs, groups, zipped=True)
    tracemalloc.start()
    try:
        n = sum(1 for _ in read_corpus(CorpusSource(path=str(align))))
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_xces_memory_bounded_by_documents_not_corpus(tmp_path):
    n_small, peak_small = _xces_peak(tmp_path / "small", 25)
    n_big, peak_big = _xces_peak(tmp_path / "big", 200)
    assert (n_small, n_big) == (1_000, 8_000)
    # 8x the documents and pairs: finished documents are freed as we go.
    assert peak_big < 1.5 * peak_small, (peak_small, peak_big)


def test_over_long_sentence_dropped(tmp_path):
    docs = {"de/a.xml.gz": {"1": "Hallo.", "2": "x" * 200_000, "3": "Tschüss."},
            "en/a.xml.gz": {"1": "Hello.", "2": "Long.", "3": "Bye."}}
    align = write_xces(tmp_path / "c", "de", "en", docs, [("de/a.xml.gz", "en/a.xml.gz", ["1;1", "2;2", "3;3"])])
    counts = Counter()
    recs = list(read_corpus(CorpusSource(path=str(align)), counts, max_line_bytes=100_000))
    assert [r["src"] for r in recs] == ["Hallo.", "Tschüss."] and counts == Counter({"read:line_too_long": 1})
