"""TMX reader: plain/gz, language codes, inline markup, counts, hostile and malformed XML."""

from __future__ import annotations

import gzip
import tracemalloc
from collections import Counter

import pytest

from data_prep.readers import CorpusSource, read_corpus
from lmt.errors import DataError, UnknownLanguageError
from tests.data_prep.conftest import tmx_bytes, write_tmx


@pytest.mark.parametrize("gz", [False, True])
def test_tmx_exact_records(tmp_path, de_en, gz):
    de, en = de_en
    path = write_tmx(tmp_path / "OpenSubtitles.de-en.tmx", [{"de": d, "en": e} for d, e in zip(de, en)], gz=gz)
    counts = Counter()
    recs = list(read_corpus(CorpusSource(path=str(path)), counts))
    assert recs == [
        {
            "src_lang": "deu_Latn",
            "tgt_lang": "eng_Latn",
            "src": d,
            "tgt": e,
            "corpus": "OpenSubtitles",
            "origin": f"{path.name}#tu{i}",
        }
        for i, (d, e) in enumerate(zip(de, en), 1)
    ]
    assert counts == Counter()


def test_tmx_lang_codes_order_and_orientation(tmp_path):
    # Units list zh_CN first; OPUS pair in the name is en-zh_cn; TMX 1.1 `lang=`.
    units = [{"zh_CN": "你好。", "en": "Hello."}, {"en": "Thanks.", "zh_CN": "谢谢。"}]
    path = write_tmx(tmp_path / "c.en-zh_cn.tmx", units, lang_attr="lang")
    recs = list(read_corpus(CorpusSource(path=str(path))))
    assert [(r["src_lang"], r["tgt_lang"], r["src"], r["tgt"]) for r in recs] == [
        ("eng_Latn", "zho_Hans", "Hello.", "你好。"),
        ("eng_Latn", "zho_Hans", "Thanks.", "谢谢。"),
    ]
    recs = list(read_corpus(CorpusSource(path=str(path), src_lang="zh")))
    assert [(r["src_lang"], r["src"]) for r in recs] == [("zho_Hans", "你好。"), ("zho_Hans", "谢谢。")]
    # No pair in the name: the first unit's variant order decides.
    path = write_tmx(tmp_path / "unnamed.tmx", units)
    recs = list(read_corpus(CorpusSource(path=str(path))))
    assert [(r["src_lang"], r["tgt_lang"], r["corpus"]) for r in recs] == [("zho_Hans", "eng_Latn", "unnamed")] * 2


def test_tmx_inline_markup_flattened(tmp_path):
    units = [
        {
            "en": 'Press <bpt i="1">&lt;b&gt;</bpt>Save<ept i="1">&lt;/b&gt;</ept> now<ph x="2">&lt;br/&gt;</ph>.',
            "de": 'Drücke <hi type="b">Speichern</hi> <sub>jetzt</sub>.',
        }
    ]
    path = write_tmx(tmp_path / "c.en-de.tmx", units, escape_text=False)
    (rec,) = read_corpus(CorpusSource(path=str(path)))
    assert (rec["src"], rec["tgt"]) == ("Press Save now.", "Drücke Speichern jetzt.")


def test_tmx_counts_unaligned_empty_invalid(tmp_path):
    units = [
        {"en": "Kept one.", "de": "Behalten eins."},
        {"en": "No German here."},
        {"en": "  ", "de": "Leer."},
        {"en": "Broken \udcff", "de": "Kaputt."},  # placeholder replaced below by invalid bytes
        {"en": "Kept two.", "de": "Behalten zwei.", "fr": "Gardé deux."},
    ]
    data = tmx_bytes([{k: v.replace("\udcff", "@@") for k, v in u.items()} for u in units])
    (tmp_path / "c.en-de.tmx").write_bytes(data.replace(b"@@", b"\xff\xfe"))
    counts = Counter()
    recs = list(read_corpus(CorpusSource(path=str(tmp_path / "c.en-de.tmx")), counts))
    assert [(r["src"], r["tgt"], r["origin"]) for r in recs] == [
        ("Kept one.", "Behalten eins.", "c.en-de.tmx#tu1"),
        ("Kept two.", "Behalten zwei.", "c.en-de.tmx#tu5"),
    ]
    assert counts == Counter({"read:unaligned": 1, "read:empty": 1, "read:invalid_utf8": 1})


def test_tmx_doctype_without_entities_is_accepted(tmp_path):
    data = tmx_bytes([{"en": "A.", "de": "B."}], doctype='<!DOCTYPE tmx SYSTEM "tmx14.dtd">\n')
    (tmp_path / "c.en-de.tmx").write_bytes(data)
    assert [r["src"] for r in read_corpus(CorpusSource(path=str(tmp_path / "c.en-de.tmx")))] == ["A."]


BILLION_LAUGHS = (
    '<!DOCTYPE tmx [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
)


@pytest.mark.parametrize(
    "doctype,line",
    [
        (BILLION_LAUGHS, 3),
        ('<!DOCTYPE tmx [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n', 3),
        ('<!DOCTYPE tmx [\n<!ENTITY % p "x">\n]>\n', 3),
    ],
)
def test_tmx_entity_declarations_refused(tmp_path, doctype, line):
    data = tmx_bytes([{"en": "&lol9;", "de": "B."}], doctype=doctype)
    (tmp_path / "evil.en-de.tmx").write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=rf"evil\.en-de\.tmx:{line}: XML (parameter )?entity declaration"):
            list(read_corpus(CorpusSource(path=str(tmp_path / "evil.en-de.tmx"))))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20  # nothing was expanded


def test_tmx_malformed_names_file_and_line(tmp_path):
    data = tmx_bytes([{"en": "A.", "de": "B."}]).replace(b"</tu>", b"</tuv>", 1)
    with gzip.open(tmp_path / "c.en-de.tmx.gz", "wb") as f:
        f.write(data)
    with pytest.raises(DataError, match=r"c\.en-de\.tmx\.gz:5: malformed XML: mismatched tag"):
        list(read_corpus(CorpusSource(path=str(tmp_path / "c.en-de.tmx.gz"))))


def test_tmx_empty_and_unknown_lang(tmp_path):
    (tmp_path / "e.en-de.tmx").write_bytes(b"")
    with pytest.raises(DataError, match=r"e\.en-de\.tmx is empty"):
        list(read_corpus(CorpusSource(path=str(tmp_path / "e.en-de.tmx"))))
    write_tmx(tmp_path / "n.en-de.tmx", [])
    with pytest.raises(DataError, match=r"n\.en-de\.tmx is empty \(no <tu>"):
        list(read_corpus(CorpusSource(path=str(tmp_path / "n.en-de.tmx"))))
    write_tmx(tmp_path / "u.tmx", [{"en": "A.", "qx": "B."}])
    with pytest.raises(UnknownLanguageError, match=r"u\.tmx:5: unknown xml:lang 'qx'"):
        list(read_corpus(CorpusSource(path=str(tmp_path / "u.tmx"))))


def test_tmx_utf16_declared_encoding(tmp_path):
    data = tmx_bytes([{"en": "Hello.", "ru": "Привет."}]).decode("utf-8").replace('encoding="utf-8"', 'encoding="UTF-16"')
    (tmp_path / "c.en-ru.tmx").write_bytes(data.encode("utf-16"))
    (rec,) = read_corpus(CorpusSource(path=str(tmp_path / "c.en-ru.tmx")))
    assert (rec["src_lang"], rec["tgt_lang"], rec["src"], rec["tgt"]) == ("eng_Latn", "rus_Cyrl", "Hello.", "Привет.")


def _tmx_peak(path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        n = sum(1 for _ in read_corpus(CorpusSource(path=str(path))))
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_tmx_streaming_memory_is_flat(tmp_path):
    def units(k):
        return [{"en": f"English sentence number {i} in a long file.", "de": f"Deutscher Satz Nummer {i}."} for i in range(k)]

    small = write_tmx(tmp_path / "small.en-de.tmx", units(2_000))
    big = write_tmx(tmp_path / "big.en-de.tmx", units(16_000))
    assert big.stat().st_size > 1.5 * 2**20
    (n_small, peak_small), (n_big, peak_big) = _tmx_peak(small), _tmx_peak(big)
    assert (n_small, n_big) == (2_000, 16_000)
    # 8x the input, same working set (one 64 KiB chunk of units at a time).
    assert peak_big < 1.3 * peak_small + 256 * 2**10, (peak_small, peak_big)
    assert peak_big < 2 * 2**20, f"peak {peak_big / 2**20:.1f} MiB"


def test_tmx_region_tags_fall_back_to_language_not_script(tmp_path):
    path = write_tmx(tmp_path / "tool.tmx", [{"de-DE": "Hallo.", "fr-CA": "Bonjour."}])
    (rec,) = read_corpus(CorpusSource(path=str(path)))
    assert (rec["src_lang"], rec["tgt_lang"]) == ("deu_Latn", "fra_Latn")
    path = write_tmx(tmp_path / "script.tmx", [{"en": "Hi.", "sr-Latn": "Zdravo."}])
    # A script subtag is never dropped: Serbian in Latin script is not Serbian in Cyrillic.
    with pytest.raises(UnknownLanguageError, match=r"script\.tmx:5: unknown xml:lang 'sr-Latn'"):
        list(read_corpus(CorpusSource(path=str(path))))


def test_over_long_segment_dropped_with_flat_memory(tmp_path):
    """A 50 MB <seg> in a small .tmx.gz: the unit is dropped and counted, the text never held."""
    path = tmp_path / "c.de-en.tmx.gz"
    head, tail = tmx_bytes([{"de": "Hallo.", "en": "Hello."}, {"de": "@@", "en": "Long."}, {"de": "Tschüss.", "en": "Bye."}]).split(b"@@")
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(head)
        for _ in range(50):
            f.write(b"a" * (1 << 20))
        f.write(tail)
    assert path.stat().st_size < 500_000
    counts = Counter()
    tracemalloc.start()
    try:
        recs = list(read_corpus(CorpusSource(path=str(path)), counts, max_line_bytes=100_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r["src"] for r in recs] == ["Hallo.", "Tschüss."]
    assert counts == Counter({"read:line_too_long": 1})
    assert peak < 8_000_000, peak
