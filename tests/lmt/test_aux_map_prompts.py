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


# Every LMT-60 language name exactly as the released inference code spells it
# (NiuTrans/LMT src/utils.py, en_lan_dict): the released checkpoints were
# trained with these names.
RELEASED_NAMES = {
    "arb_Arab": "Arabic", "eng_Latn": "English", "spa_Latn": "Spanish", "deu_Latn": "German",
    "fra_Latn": "French", "ita_Latn": "Italian", "jpn_Jpan": "Japanese", "nld_Latn": "Dutch",
    "pol_Latn": "Polish", "por_Latn": "Portuguese", "rus_Cyrl": "Russian", "tur_Latn": "Turkish",
    "zho_Hans": "Chinese", "bul_Cyrl": "Bulgarian", "ben_Beng": "Bengali", "ces_Latn": "Czech",
    "dan_Latn": "Danish", "ell_Grek": "Modern Greek", "pes_Arab": "Persian", "fin_Latn": "Finnish",
    "hin_Deva": "Hindi", "hun_Latn": "Hungarian", "ind_Latn": "Indonesian", "kor_Hang": "Korean",
    "nob_Latn": "Norwegian Bokmål", "ron_Latn": "Romanian", "slk_Latn": "Slovak", "swe_Latn": "Swedish",
    "tha_Thai": "Thai", "ukr_Cyrl": "Ukrainian", "vie_Latn": "Vietnamese", "amh_Ethi": "Amharic",
    "azj_Latn": "Azerbaijani", "bod_Tibt": "Tibetan", "heb_Hebr": "Modern Hebrew", "hrv_Latn": "Croatian",
    "hye_Armn": "Armenian", "isl_Latn": "Icelandic", "jav_Latn": "Javanese", "kat_Geor": "Georgian",
    "kaz_Cyrl": "Kazakh", "khm_Khmr": "Central Khmer", "kir_Cyrl": "Kirghiz", "lao_Laoo": "Lao",
    "mvf_Mong": "Inner Mongolian", "mar_Deva": "Marathi", "zsm_Latn": "Malay", "mya_Mymr": "Burmese",
    "npi_Deva": "Nepali", "pbt_Arab": "Pashto", "sin_Sinh": "Sinhala", "swh_Latn": "Swahili",
    "tam_Taml": "Tamil", "tel_Telu": "Telugu", "tgk_Cyrl": "Tajik", "tgl_Latn": "Tagalog",
    "uig_Arab": "Uighur", "urd_Arab": "Urdu", "uzn_Latn": "Uzbek", "yue_Hant": "Yue Chinese",
}  # fmt: skip


def test_language_names_are_the_released_models():
    from lmt.languages import language_name, lmt_languages

    assert len(RELEASED_NAMES) == 60
    assert set(RELEASED_NAMES) == {lang.code for lang in lmt_languages()}
    assert {code: language_name(code) for code in RELEASED_NAMES} == RELEASED_NAMES
    assert get_template("released").render("he", "en", "שלום") == (
        "Translate the following text from Modern Hebrew into English:\nModern Hebrew: שלום\nEnglish:"
    )
