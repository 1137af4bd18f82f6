import pytest

from lmt.aux_map import AuxMap
from lmt.errors import ConfigError
from lmt.prompts import build_training_text, format_cpt_pair, get_template


def test_default_aux_map_paper_table():
    m = AuxMap.load()
    assert m.aux_language("en", "ky") == "rus_Cyrl"
    assert m.aux_language("ky", "en") == "rus_Cyrl"
    assert m.aux_language("en", "es") == "por_Latn"
    assert m.aux_language("zh", "ky") == "eng_Latn"
    assert m.aux_language("ky", "zh") == "eng_Latn"
    assert m.aux_language("en", "ja") is None  # partial map: plain prompt
    assert m.aux_language("en", "zh") is None
    assert len(m.en_centred) == 36


def test_aux_map_rejects_self_and_unknown(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("en_centred:\n  kir_Cyrl: kir_Cyrl\n")
    with pytest.raises(ConfigError, match="own auxiliary"):
        AuxMap.load(bad)
    bad.write_text("en_centred:\n  kir_Cyrl: xx_Bogus\n")
    with pytest.raises(ConfigError, match="en_centred.kir_Cyrl"):
        AuxMap.load(bad)
    bad.write_text("en_centered: {}\n")
    with pytest.raises(ConfigError, match="unknown key"):
        AuxMap.load(bad)


def test_templates_exact_text():
    assert get_template("released").render("en", "zh", "Hello.") == (
        "Translate the following text from English into Chinese:\nEnglish: Hello.\nChinese:"
    )
    assert get_template("stp").render("en", "ky", "Hi") == "Translate this from English to Kirghiz:\nEnglish: Hi\nKirghiz:"
    assert get_template("pmp").render("en", "ky", "Hi", aux_lang="ru", aux="Привет") == (
        "Translate this from English to Russian and Kirghiz:\nEnglish: Hi\nRussian: Привет\nKirghiz:"
    )
    with pytest.raises(ConfigError):
        get_template("nope")


def test_cpt_informative_format():
    assert format_cpt_pair("en", "ky", "Fellow wrestlers.", "Балбандар.") == "<en2ky> Fellow wrestlers. <ky> Балбандар."


def test_training_text_prefix(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    prompt, full = build_training_text(tok, "Translate this", "Перевод")
    assert full.startswith(prompt) and full[len(prompt):].startswith("Перевод")
