"""Moses reader: plain/gz/zip, exact records, counts, misalignment, empty input, streaming."""

from __future__ import annotations

import gzip
import tracemalloc
from collections import Counter

import pytest

from data_prep.readers import CorpusSource, read_corpus, read_monolingual
from lmt.errors import DataError, MissingResourceError, UnknownLanguageError
from tests.data_prep.conftest import write_moses, write_moses_zip, zip_with_member


def expected(de, en, corpus, origin_file, src_lang="deu_Latn", tgt_lang="eng_Latn"):
    return [
        {"src_lang": src_lang, "tgt_lang": tgt_lang, "src": s, "tgt": t, "corpus": corpus, "origin": f"{origin_file}:{i}"}
        for i, (s, t) in enumerate(zip(de, en), 1)
    ]


@pytest.mark.parametrize("gz", [False, True])
def test_moses_prefix_exact_records(tmp_path, de_en, gz):
    de, en = de_en
    prefix = write_moses(tmp_path, "bible-uedin", "de", "en", de, en, gz=gz)
    counts = Counter()
    recs = list(read_corpus(CorpusSource(path=str(prefix)), counts))
    suffix = ".gz" if gz else ""
    assert recs == expected(de, en, "bible-uedin", f"bible-uedin.de-en.de{suffix}")
    assert counts == Counter()


def test_moses_side_file_and_orientation(tmp_path, de_en):
    de, en = de_en
    prefix = write_moses(tmp_path, "ep", "de", "en", de, en)
    # Pointing at one side finds the other; src_lang flips the direction.
    recs = list(read_corpus(CorpusSource(path=f"{prefix}.de", src_lang="en")))
    assert recs == expected(en, de, "ep", "ep.de-en.en", "eng_Latn", "deu_Latn")
    # Explicit files with explicit languages and name.
    src = CorpusSource(path=str(tmp_path), src_path="ep.de-en.de", tgt_path="ep.de-en.en", name="mine")
    assert [r["corpus"] for r in read_corpus(src)] == ["mine"] * len(de)
    # path = one side + tgt_path = the other (as in the prep config docs).
    src = CorpusSource(path=f"{prefix}.de", format="moses", tgt_path=f"{prefix}.en")
    assert list(read_corpus(src)) == expected(de, en, "ep", "ep.de-en.de")


def test_moses_zip_opus_layout(tmp_path, de_en):
    de, en = de_en
    z = write_moses_zip(tmp_path / "de-en.txt.zip", "Europarl", "de", "en", de, en)
    recs = list(read_corpus(CorpusSource(path=str(z))))
    assert recs == expected(de, en, "Europarl", "de-en.txt.zip/Europarl.de-en.de")


def test_moses_zip_with_several_corpora_is_ambiguous(tmp_path, de_en):
    de, en = de_en
    z = write_moses_zip(
        tmp_path / "x.zip", "A", "de", "en", de, en, extra={"B.de-en.de": "x\n", "B.de-en.en": "y\n"}
    )
    with pytest.raises(DataError, match=r"several Moses corpora.*A\.de-en.*B\.de-en"):
        list(read_corpus(CorpusSource(path=str(z))))
    recs = list(read_corpus(CorpusSource(path=str(z), src_path="B.de-en.de", tgt_path="B.de-en.en")))
    assert [(r["src"], r["tgt"], r["corpus"], r["origin"]) for r in recs] == [("x", "y", "B", "x.zip/B.de-en.de:1")]


def test_opus_language_codes_normalised(tmp_path):
    prefix = write_moses(tmp_path, "c", "en", "zh_cn", ["Hello there."], ["你好。"])
    (rec,) = read_corpus(CorpusSource(path=str(prefix)))
    assert (rec["src_lang"], rec["tgt_lang"]) == ("eng_Latn", "zho_Hans")
    prefix = write_moses(tmp_path, "c", "nb", "pt_br", ["Hei."], ["Olá."])
    (rec,) = read_corpus(CorpusSource(path=str(prefix)))
    assert (rec["src_lang"], rec["tgt_lang"]) == ("nob_Latn", "por_Latn")


def test_invalid_utf8_and_empty_sides_are_counted_not_fatal(tmp_path):
    src = ["one", b"tw\xff\xfeo", "three", "   ", "five", "six"]
    tgt = ["eins", "zwei", b"\xc3(", "vier", "", "sechs"]
    prefix = write_moses(tmp_path, "c", "en", "de", src, tgt)
    counts = Counter()
    recs = list(read_corpus(CorpusSource(path=str(prefix)), counts))
    assert [(r["src"], r["tgt"], r["origin"]) for r in recs] == [
        ("one", "eins", "c.en-de.en:1"),
        ("six", "sechs", "c.en-de.en:6"),
    ]
    assert counts == Counter({"read:invalid_utf8": 2, "read:empty": 2})


def test_crlf_and_whitespace_stripped(tmp_path):
    (tmp_path / "c.en-de.en").write_bytes(b"  Hello world.\r\n")
    (tmp_path / "c.en-de.de").write_bytes(b"Hallo Welt.  \r\n")
    (rec,) = read_corpus(CorpusSource(path=str(tmp_path / "c.en-de")))
    assert (rec["src"], rec["tgt"]) == ("Hello world.", "Hallo Welt.")


def test_misaligned_files_raise_after_yielding_aligned_pairs(tmp_path):
    prefix = write_moses(tmp_path, "c", "en", "de", ["a", "b", "c"], ["x", "y"])
    got = []
    with pytest.raises(DataError) as err:
        for rec in read_corpus(CorpusSource(path=str(prefix))):
            got.append(rec["src"])
    assert got == ["a", "b"]
    msg = str(err.value)
    assert "c.en-de.de ends after line 2" in msg and "c.en-de.en continues at line 3" in msg


def test_empty_corpus_raises(tmp_path):
    prefix = write_moses(tmp_path, "c", "en", "de", [], [])
    with pytest.raises(DataError, match=r"c\.en-de\.en.*is empty"):
        list(read_corpus(CorpusSource(path=str(prefix))))


def test_missing_and_unknown(tmp_path):
    with pytest.raises(MissingResourceError, match="no Moses files"):
        list(read_corpus(CorpusSource(path=str(tmp_path / "nothing.de-en"))))
    prefix = write_moses(tmp_path, "c", "en", "de", ["a"], ["b"])
    with pytest.raises(UnknownLanguageError, match=r"src_lang.*'xx_Nope'"):
        list(read_corpus(CorpusSource(path=str(prefix), src_lang="xx_Nope")))
    prefix = write_moses(tmp_path, "c", "en", "qqq", ["a"], ["b"])
    with pytest.raises(UnknownLanguageError, match=r"c\.en-qqq\.en.*'qqq'"):
        list(read_corpus(CorpusSource(path=str(prefix))))
    with pytest.raises(DataError, match="is a directory"):
        list(read_corpus(CorpusSource(path=str(tmp_path))))


@pytest.mark.parametrize("member", ["/etc/evil.en-de.en", "../evil.en-de.en", "ok/../../evil.en-de.en", "C:/x.en-de.en"])
def test_unsafe_zip_member_refused(tmp_path, member):
    z = zip_with_member(tmp_path / "bad.zip", member)
    with pytest.raises(DataError, match=r"bad\.zip: unsafe member path") as err:
        list(read_corpus(CorpusSource(path=str(z))))
    assert repr(member) in str(err.value)


def test_monolingual_plain_and_gz(tmp_path):
    lines = b"Kyrgyz sentence one.\n\n\xff broken\nSecond sentence.\n"
    (tmp_path / "news.ky.txt").write_bytes(lines)
    with gzip.open(tmp_path / "news.ky.gz", "wb") as f:
        f.write(lines)
    for name in ("news.ky.txt", "news.ky.gz"):
        counts = Counter()
        recs = list(read_monolingual(tmp_path / name, "ky", "news", counts))
        assert recs == [
            {"lang": "kir_Cyrl", "text": "Kyrgyz sentence one.", "corpus": "news"},
            {"lang": "kir_Cyrl", "text": "Second sentence.", "corpus": "news"},
        ]
        assert counts == Counter({"read:empty": 1, "read:invalid_utf8": 1})
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.txt is empty"):
        list(read_monolingual(tmp_path / "empty.txt", "ky"))
    with pytest.raises(UnknownLanguageError, match=r"news\.ky\.txt"):
        list(read_monolingual(tmp_path / "news.ky.txt", "kyx_Zzzz"))


def test_streaming_memory_is_flat(tmp_path):
    n = 200_000
    with open(tmp_path / "big.en-de.en", "w") as fs, open(tmp_path / "big.en-de.de", "w") as ft:
        for i in range(n):
            fs.write(f"This is English sentence number {i} of the big file.\n")
            ft.write(f"Dies ist der deutsche Satz Nummer {i} der großen Datei.\n")
    src = CorpusSource(path=str(tmp_path / "big.en-de"))
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_corpus(src))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    # ~25 MB of text went through; the reader holds only buffers and one record.
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_corrupt_gzip_is_a_data_error(tmp_path):
    (tmp_path / "c.en-de.en.gz").write_bytes(b"plain text, not gzip\n")
    (tmp_path / "c.en-de.de.gz").write_bytes(b"plain text, not gzip\n")
    with pytest.raises(DataError, match=r"c\.en-de\.en\.gz.*cannot read \(BadGzipFile"):
        list(read_corpus(CorpusSource(path=str(tmp_path / "c.en-de"))))
    whole = gzip.compress(b"line one\n" * 1000)
    (tmp_path / "t.en-de.en.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "t.en-de.de.gz").write_bytes(whole)
    with pytest.raises(DataError, match=r"t\.en-de\.en\.gz.*cannot read \(EOFError"):
        list(read_corpus(CorpusSource(path=str(tmp_path / "t.en-de"))))


def test_only_newline_splits_lines(tmp_path):
    # A lone CR, U+2028 or U+0085 inside a line must not shift the alignment
    # (text-mode / str.splitlines readers would split there).
    (tmp_path / "c.en-de.en").write_bytes("a\rb\nc\u2028d\ne\u0085f\n".encode())
    (tmp_path / "c.en-de.de").write_bytes(b"1\n2\n3\n")
    recs = list(read_corpus(CorpusSource(path=str(tmp_path / "c.en-de"))))
    assert [(r["src"], r["tgt"]) for r in recs] == [("a\rb", "1"), ("c\u2028d", "2"), ("e\u0085f", "3")]


def test_missing_side_names_what_is_there(tmp_path):
    (tmp_path / "c.en-de.en").write_text("a\n")
    with pytest.raises(DataError, match=r"no complete Moses pair.*incomplete: \{'c\.en-de': \['en'\]\}"):
        list(read_corpus(CorpusSource(path=str(tmp_path / "c.en-de"))))
    with pytest.raises(MissingResourceError, match=r"corpus .*: src_path: 'train\.src' does not exist"):
        list(read_corpus(CorpusSource(path=str(tmp_path), src_path="train.src", tgt_path="train.tgt")))
    (tmp_path / "train.src").write_text("a\n")
    with pytest.raises(MissingResourceError, match=r"corpus .*: tgt_path: 'train\.tgt' does not exist"):
        list(read_corpus(CorpusSource(path=str(tmp_path), src_path="train.src", tgt_path="train.tgt")))
    (tmp_path / "train.tgt").write_text("b\n")
    with pytest.raises(DataError, match=r"cannot infer src_lang from 'train\.src'"):
        list(read_corpus(CorpusSource(path=str(tmp_path), src_path="train.src", tgt_path="train.tgt")))
    z = write_moses_zip(tmp_path / "z" / "de-en.txt.zip", "X", "de", "en", ["a"], ["b"])
    with pytest.raises(MissingResourceError, match=r"tgt_path: no member 'X\.de-en\.fr' in the zip archive"):
        list(read_corpus(CorpusSource(path=str(z), src_path="X.de-en.de", tgt_path="X.de-en.fr")))


def test_over_long_line_dropped_with_flat_memory(tmp_path):
    """A 300 MB line without a newline in a small .gz: dropped, counted, never held."""
    src = tmp_path / "c.de-en.de.gz"
    with gzip.open(src, "wb", compresslevel=1) as f:
        f.write("Guten Morgen.\n".encode())
        block = b"a" * (1 << 20)
        for _ in range(300):
            f.write(block)
        f.write(b"\nWie geht's?\n")
    with gzip.open(tmp_path / "c.de-en.en.gz", "wb") as f:
        f.write(b"Good morning.\nlong\nHow are you?\n")
    assert src.stat().st_size < 2_000_000
    counts = Counter()
    tracemalloc.start()
    try:
        recs = list(read_corpus(CorpusSource(path=str(tmp_path / "c.de-en")), counts, max_line_bytes=100_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(r["src"], r["origin"]) for r in recs] == [("Guten Morgen.", "c.de-en.de.gz:1"), ("Wie geht's?", "c.de-en.de.gz:3")]
    assert counts == Counter({"read:line_too_long": 1})
    assert peak < 8_000_000, peak
    # Monolingual files read with the same cap.
    mono_counts = Counter()
    assert [r["text"] for r in read_monolingual(src, "de", counts=mono_counts, max_line_bytes=100_000)] == ["Guten Morgen.", "Wie geht's?"]
    assert mono_counts == Counter({"read:line_too_long": 1})


def test_zip_metadata_members_are_not_corpora(tmp_path, de_en):
    from data_prep.readers import discover

    de, en = de_en
    z = write_moses_zip(
        tmp_path / "de-en.txt.zip", "Toy", "de", "en", de, en,
        extra={"__MACOSX/._Toy.de-en.de": b"\x00\x05\x16\x07", "__MACOSX/._Toy.de-en.en": b"\x00\x05\x16\x07",
               "._Toy.de-en.de": b"\x00\x05", "._Toy.de-en.en": b"\x00\x05"},
    )
    found = discover(tmp_path)
    assert [(s.name, s.src_path, s.tgt_path) for s in found] == [("Toy", "Toy.de-en.de", "Toy.de-en.en")]
    assert len(list(read_corpus(CorpusSource(path=str(z))))) == len(de)
    # Extracted on disk, the metadata folder is skipped too.
    write_moses(tmp_path / "x" / "__MACOSX", "Toy", "de", "en", de, en)
    write_moses(tmp_path / "x", "Toy", "de", "en", de, en)
    assert [s.path for s in discover(tmp_path / "x")] == [str(tmp_path / "x" / "Toy.de-en")]
