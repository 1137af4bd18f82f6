"""The ``lid`` filter on the real lid.176 model: the tier policy, confusables,
unlabelable languages, FLORES-labelled models (GlotLID/OpenLID style)."""

from __future__ import annotations

import pytest

from data_prep.filters import build_chain
from data_prep.filters.lid import LidFilter
from lmt.config.filters import FiltersConfig
from lmt.errors import ConfigError, MissingResourceError


def pair(src, tgt, sl="eng_Latn", tl="deu_Latn"):
    return {"src_lang": sl, "tgt_lang": tl, "src": src, "tgt": tgt}


def decide(filt: LidFilter, pairs: list[dict]) -> list:
    scores = filt.score(pairs)
    out = filt.decide(scores)
    assert out == [None if filt.accept(s)[0] else filt.accept(s)[1] for s in scores]
    return out


def test_paper_policy_high_needs_prob_low_needs_top1(parallel_text):
    f = LidFilter()
    ky = parallel_text["kir_Cyrl"][5]  # top-1 ky, prob 0.34
    pairs = [
        pair("Yes, sure.", "Ja, sicher doch, mein Freund."),  # en top-1, prob 0.47 < 0.5
        pair("The river flooded the village after heavy rain.", "Guten Tag"),  # de top-1, prob 0.39
        pair(parallel_text["eng_Latn"][5], ky, tl="kir_Cyrl"),  # low tier: top-1 is enough
        pair(parallel_text["eng_Latn"][5], parallel_text["deu_Latn"][5]),
    ]
    scores = f.score(pairs)
    assert scores[2].tgt_label == "ky" and scores[2].tgt_prob < 0.5
    assert scores[0].src_label == "en" and 0.4 < scores[0].src_prob < 0.5
    assert decide(f, pairs) == ["src_low_prob", "tgt_low_prob", None, None]
    # Thresholds re-tune on the stored scores (no re-scoring).
    f.threshold = 0.3
    assert f.decide(scores) == [None, None, None, None]
    f.threshold, f.tgt_threshold = None, 0.5
    assert f.decide(scores) == ["src_low_prob", "tgt_low_prob", "tgt_low_prob", None]
    f2 = LidFilter(tier_thresholds={"high": 0.4})
    assert f2.decide(scores) == [None, "tgt_low_prob", None, None]


def test_wrong_language_on_either_side(parallel_text):
    f = LidFilter()
    en, de, fr, ru = (parallel_text[c][1] for c in ("eng_Latn", "deu_Latn", "fra_Latn", "rus_Cyrl"))
    pairs = [pair(en, fr), pair(de, de), pair(en, de, tl="rus_Cyrl"), pair(ru, en, sl="rus_Cyrl", tl="eng_Latn")]
    assert decide(f, pairs) == ["tgt_wrong_lang", "src_wrong_lang", "tgt_wrong_lang", None]


def test_malay_accepts_indonesian_label_by_default():
    malay = "Saya suka makan nasi goreng di rumah."  # lid.176: id 0.44, ms 0.23
    p = [pair("I like eating fried rice at home.", malay, tl="zsm_Latn")]
    f = LidFilter()
    assert f.score(p)[0].tgt_label == "id"
    assert decide(f, p) == [None]
    assert decide(LidFilter(confusables={"ms": []}), p) == ["tgt_wrong_lang"]
    # Confusables are one-way: Indonesian does not accept Malay by default.
    assert "ms" not in LidFilter().accepted_labels("ind_Latn")
    assert LidFilter(confusables={"id": ["ms"]}).accepted_labels("ind_Latn") == {"id", "ms"}


def test_cantonese_accepts_the_chinese_label_of_lid176():
    # FLORES-style written Cantonese is formal and comes out as zh (97% of
    # FLORES yue_Hant devtest); colloquial Cantonese gets lid.176's yue label.
    formal = "他補充說：我們現在有四個月大的老鼠，牠們以前患有糖尿病。"
    colloquial = "佢哋喺度講緊嘢，我唔知佢哋講乜。"
    en = "They are talking there, I do not know what they say."
    p = [pair(en, formal, tl="yue_Hant"), pair(en, colloquial, tl="yue_Hant")]
    f = LidFilter()
    assert [s.tgt_label for s in f.score(p)] == ["zh", "yue"]
    assert decide(f, p) == [None, None]
    assert decide(LidFilter(confusables={"yue_Hant": []}), p) == ["tgt_wrong_lang", None]
    assert not f.label_matches("yue_Hant", "ja")


def test_unlabelable_language_is_skipped_and_counted():
    mongolian = "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ ᠪᠢᠴᠢᠭ"
    pairs = [pair("The Mongolian script is written vertically.", mongolian, tl="mvf_Mong"), pair("We will meet at the station tomorrow morning.", mongolian, tl="mvf_Mong")]
    chain = build_chain(FiltersConfig(defaults={"lid": {}}), "eng_Latn", "mvf_Mong")
    kept, dropped = chain.apply([dict(p) for p in pairs])
    assert len(kept) == 2 and not dropped
    assert chain.notes == {"lid:tgt_unlabelable_skipped:mvf_Mong": 2}
    cfg = FiltersConfig(defaults={"lid": {"unlabelable": "drop"}})
    chain = build_chain(cfg, "eng_Latn", "mvf_Mong")
    kept, dropped = chain.apply([dict(p) for p in pairs])
    assert [d["drop_reason"] for d in dropped] == ["lid:tgt_unlabelable"] * 2


def test_unlabelable_language_checked_by_script():
    mongolian = "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ ᠪᠢᠴᠢᠭ"
    cfg = FiltersConfig(defaults={"lid": {"unlabelable": "script"}})
    chain = build_chain(cfg, "eng_Latn", "mvf_Mong", keep_scores=True)
    en = "We will meet at the station tomorrow morning."
    kept, dropped = chain.apply([pair(en, mongolian, tl="mvf_Mong"), pair(en, en, tl="mvf_Mong")])
    assert len(kept) == 1 and kept[0]["lid_tgt_prob"] == 1.0
    assert [d["drop_reason"] for d in dropped] == ["lid:tgt_wrong_script"]
    assert chain.notes == {"lid:tgt_unlabelable_script_checked:mvf_Mong": 2}


def test_missing_model_errors(tmp_path):
    with pytest.raises(MissingResourceError, match=r"nope\.bin does not exist: give the lid filter.s model_path as a fastText model file"):
        build_chain(FiltersConfig(defaults={"lid": {"model_path": str(tmp_path / "nope.bin")}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"lid: invalid parameters.*extra_labels\.xx: unknown language code 'klingon'"):
        build_chain(FiltersConfig(defaults={"lid": {"extra_labels": {"xx": ["klingon"]}}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"lid: invalid parameters.*unlabelable must be skip, drop or script"):
        build_chain(FiltersConfig(defaults={"lid": {"unlabelable": "keep"}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"lid: invalid parameters.*max_chars must be a number in \[1, inf\], got 0"):
        build_chain(FiltersConfig(defaults={"lid": {"max_chars": 0}}), "eng_Latn", "deu_Latn")


def test_flores_labelled_model_by_path(flores_lid_model):
    cfg = FiltersConfig(defaults={"lid": {"model_path": flores_lid_model, "extra_labels": {"cmn_Hani": ["zh"]}}})
    chain = build_chain(cfg, "eng_Latn", "deu_Latn")
    kept, dropped = chain.apply([pair("hello world", "hallo welt"), pair("hello world", "hello"), pair("hallo", "welt")])
    assert [p["src"] for p in kept] == ["hello world"]
    assert [d["drop_reason"] for d in dropped] == ["lid:tgt_wrong_lang", "lid:src_wrong_lang"]
    zh = build_chain(cfg, "eng_Latn", "zho_Hans").apply([pair("hello", "你好", tl="zho_Hans")])
    assert len(zh[0]) == 1
    ky = build_chain(cfg, "eng_Latn", "kir_Cyrl")
    ky.apply([pair("hello", "салам", tl="kir_Cyrl")])
    assert ky.notes == {"lid:tgt_unlabelable_skipped:kir_Cyrl": 1}


def test_monolingual_pseudo_pairs_are_identified_once(monkeypatch, parallel_text):
    f = LidFilter()
    seen = []
    real = f.identifier.top1
    monkeypatch.setattr(f.identifier, "top1", lambda texts: seen.extend(texts) or real(texts))
    text = parallel_text["rus_Cyrl"][2]
    mono = {"src_lang": "rus_Cyrl", "tgt_lang": "rus_Cyrl", "src": text, "tgt": text}
    hello = "".join(["Hello", " my friend"])  # an equal string that is not the same object
    scores = f.score([mono, pair("Hello my friend", hello, tl="eng_Latn")])
    assert seen == [text, "Hello my friend", "Hello my friend"]  # equal but distinct: twice
    assert scores[0].tgt_label == scores[0].src_label == "ru" and scores[0].tgt_prob == scores[0].src_prob
