"""FLORES loading: the layouts people have, line-count checks, clear errors."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from eval.flores import FloresSet
from lmt.errors import DataError, MissingResourceError

EN = ["one", "two", "three"]
ZH = ["一", "二", "三"]


def test_original_release_layout_with_and_without_top_dir(tmp_path):
    for root in (tmp_path / "a" / "flores200_dataset", tmp_path / "b"):
        (root / "devtest").mkdir(parents=True)
        (root / "devtest" / "eng_Latn.devtest").write_text("\n".join(EN) + "\n", encoding="utf-8")
        (root / "devtest" / "zho_Hans.devtest").write_text("\n".join(ZH) + "\n", encoding="utf-8")
        (root / "dev").mkdir()
        (root / "dev" / "eng_Latn.dev").write_text("dev only\n", encoding="utf-8")
    for top in ("a", "b"):
        fs = FloresSet.discover(tmp_path / top, "devtest")
        assert fs.languages == ["eng_Latn", "zho_Hans"]
        assert fs.sentences("zh") == ZH and fs.sentences("en") == EN
        assert fs.check(["en", "zh"]) == 3
        assert FloresSet.discover(tmp_path / top, "dev").sentences("eng_Latn") == ["dev only"]


def test_flores_plus_text_and_parquet_layouts(tmp_path):
    text = tmp_path / "floresp-v2.0-rc.3" / "devtest"
    text.mkdir(parents=True)
    (text / "devtest.cmn_Hans").write_text("\n".join(ZH) + "\n", encoding="utf-8")  # FLORES+ relabel of zho_Hans
    (text / "devtest.fil_Latn").write_text("a\nb\nc\n", encoding="utf-8")  # relabel of tgl_Latn
    fs = FloresSet.discover(tmp_path, "devtest")
    assert fs.sentences("zho_Hans") == ZH and fs.sentences("tl") == ["a", "b", "c"]

    pqdir = tmp_path / "hf" / "devtest"
    pqdir.mkdir(parents=True)
    # Rows out of order: the loader sorts by id.
    pq.write_table(pa.table({"id": [2, 0, 1], "text": ["three", "one", "two"]}), pqdir / "eng_Latn.parquet")
    assert FloresSet.discover(tmp_path / "hf", "devtest").sentences("en") == EN


def test_lmt_style_extra_set_and_priority(tmp_path):
    lmt = tmp_path / "flores_lmt"
    lmt.mkdir()
    (lmt / "flores.devtest.en").write_text("\n".join(EN) + "\n", encoding="utf-8")
    (lmt / "flores.devtest.mvf").write_text("ᠨᠢᠭᠡ\nᠬᠣᠶᠠᠷ\nᠭᠤᠷᠪᠠ\n", encoding="utf-8")
    (lmt / "flores.devtest.mn_cn").write_text("old name\n", encoding="utf-8")
    main = tmp_path / "main" / "devtest"
    main.mkdir(parents=True)
    (main / "eng_Latn.devtest").write_text("ONE\nTWO\nTHREE\n", encoding="utf-8")
    fs = FloresSet.discover([tmp_path / "main", lmt], "devtest")
    assert fs.sentences("mvf")[0] == "ᠨᠢᠭᠡ"
    assert fs.sentences("en") == ["ONE", "TWO", "THREE"]  # the first root wins
    assert fs.path("en").name == "eng_Latn.devtest"


def test_line_count_mismatch_names_the_file(tmp_path):
    d = tmp_path / "devtest"
    d.mkdir()
    (d / "eng_Latn.devtest").write_text("\n".join(EN) + "\n", encoding="utf-8")
    (d / "zho_Hans.devtest").write_text("\n".join(EN) + "\n", encoding="utf-8")
    (d / "kir_Cyrl.devtest").write_text("only one\n", encoding="utf-8")
    fs = FloresSet.discover(tmp_path, "devtest")
    with pytest.raises(DataError, match=r"kir_Cyrl\.devtest has 1 lines while the others have 3"):
        fs.check(["en", "zh", "ky"])


def test_missing_language_directory_and_bad_bytes(tmp_path):
    d = tmp_path / "devtest"
    d.mkdir()
    (d / "eng_Latn.devtest").write_text("x\n", encoding="utf-8")
    fs = FloresSet.discover(tmp_path, "devtest")
    with pytest.raises(MissingResourceError, match=r"no file for kir_Cyrl: expected .*devtest/kir_Cyrl\.devtest.*flores200"):
        fs.check(["en", "ky"])
    with pytest.raises(MissingResourceError, match=r"lacks 2 language\(s\).*deu_Latn, kir_Cyrl"):
        fs.check(["en", "ky", "de"])
    with pytest.raises(MissingResourceError, match="does not exist.*eval.flores_dir"):
        FloresSet.discover(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MissingResourceError, match="has no 'devtest' files"):
        FloresSet.discover(empty)
    (d / "deu_Latn.devtest").write_bytes(b"gut\n\xff\xfe bad\n")
    with pytest.raises(DataError, match=r"deu_Latn\.devtest:2: invalid UTF-8"):
        FloresSet.discover(tmp_path).sentences("de")
