"""discover / resolve_sources: OPUS download folders to CorpusSource lists."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from data_prep.readers import CorpusSource, discover, read_corpus, resolve_sources
from lmt.errors import DataError, MissingResourceError, UnknownLanguageError
from tests.data_prep.conftest import write_moses, write_moses_zip, write_tmx, write_xces, zip_with_member
from tests.data_prep.test_readers_xces import DOCS, GROUPS


@pytest.fixture
def opus_dir(tmp_path, de_en) -> Path:
    """A download folder holding every OPUS format."""
    de, en = de_en
    raw = tmp_path / "raw"
    write_moses(raw, "bible-uedin", "de", "en", de, en, gz=True)
    (raw / "bible-uedin.de-en.ids").write_text("ids\n")
    (raw / "README.txt").write_text("read me\n")
    write_moses_zip(raw / "moses" / "en-zh_cn.txt.zip", "TED2020", "en", "zh_cn", ["Hello."], ["你好。"])
    write_tmx(raw / "OpenSubtitles.de-en.tmx", [{"de": d, "en": e} for d, e in zip(de, en)], gz=True)
    write_xces(raw / "Toy" / "v1" / "xml", "de", "en", DOCS, GROUPS, zipped=True)
    return raw


def test_discover_every_format(opus_dir):
    found = discover(opus_dir)
    summary = [(Path(s.path).name, s.format, s.src_lang, s.tgt_lang, s.name) for s in found]
    assert summary == [
        ("OpenSubtitles.de-en.tmx.gz", "tmx", "deu_Latn", "eng_Latn", "OpenSubtitles"),
        ("de-en.xml.gz", "xces", None, None, "Toy"),  # languages per link group, from the documents
        ("bible-uedin.de-en", "moses", "deu_Latn", "eng_Latn", "bible-uedin"),
        ("en-zh_cn.txt.zip", "moses", "eng_Latn", "zho_Hans", "TED2020"),
    ]
    xces = found[1]
    assert [Path(d).name for d in xces.doc_roots()] == ["de.zip", "en.zip", "xml"]
    moses = found[2]
    assert Path(moses.src_path).name == "bible-uedin.de-en.de.gz"
    assert Path(moses.tgt_path).name == "bible-uedin.de-en.en.gz"
    # Every discovered source reads back.
    counts = Counter()
    sizes = [sum(1 for _ in read_corpus(s, counts)) for s in found]
    assert sizes == [8, 4, 8, 1]
    assert counts == Counter({"read:unaligned": 2})


def test_discover_single_files(opus_dir):
    (tmx,) = discover(opus_dir / "OpenSubtitles.de-en.tmx.gz")
    assert (tmx.format, tmx.name) == ("tmx", "OpenSubtitles")
    (side,) = discover(opus_dir / "bible-uedin.de-en.de.gz")
    assert side.format == "moses" and side.name == "bible-uedin"
    (z,) = discover(opus_dir / "moses" / "en-zh_cn.txt.zip")
    assert (z.src_path, z.tgt_path) == ("TED2020.en-zh_cn.en", "TED2020.en-zh_cn.zh_cn")


def test_resolve_sources_expands_dirs_with_overrides(opus_dir):
    cfg = [
        CorpusSource(path=str(opus_dir / "moses"), name="ted", src_lang="zh"),
        CorpusSource(path=str(opus_dir / "OpenSubtitles.de-en.tmx.gz")),
    ]
    out = resolve_sources(cfg)
    assert [(s.name, s.src_lang, s.tgt_lang) for s in out] == [("ted", "zho_Hans", "eng_Latn"), (None, None, None)]
    (rec,) = read_corpus(out[0])
    assert (rec["src"], rec["tgt"], rec["corpus"]) == ("你好。", "Hello.", "ted")


def test_discover_errors(tmp_path):
    with pytest.raises(MissingResourceError, match="nowhere does not exist"):
        discover(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="no OPUS corpus found"):
        discover(tmp_path / "empty")
    write_moses(tmp_path / "unk", "c", "en", "xqz", ["a"], ["b"])
    with pytest.raises(UnknownLanguageError, match=r"c\.en-xqz\.en.*'xqz'"):
        discover(tmp_path / "unk")
    zip_with_member(tmp_path / "bad" / "de-en.txt.zip", "../c.de-en.de")
    with pytest.raises(DataError, match=r"de-en\.txt\.zip: unsafe member path '\.\./c\.de-en\.de'"):
        discover(tmp_path / "bad")


def test_corpus_source_config_errors(tmp_path):
    from lmt.config import validate_config
    from lmt.errors import ConfigError

    with pytest.raises(ConfigError, match=r"corpora\.yaml: srcpath: unknown key"):
        validate_config(CorpusSource, {"path": "x", "srcpath": "y"}, "corpora.yaml")
    with pytest.raises(ConfigError, match="src_path/tgt_path are for Moses corpora, not format 'tmx'"):
        validate_config(CorpusSource, {"path": "x.tmx", "format": "tmx", "src_path": "a"}, "c.yaml")
    with pytest.raises(ConfigError, match="docs is for XCES corpora"):
        validate_config(CorpusSource, {"path": "x", "format": "moses", "docs": "d"}, "c.yaml")
    assert CorpusSource(path="a.xml", docs=["d.zip", "e.zip"]).doc_roots() == ["d.zip", "e.zip"]
