import pytest

from lmt.errors import UnknownLanguageError
from lmt.languages import (
    CHINESE,
    ENGLISH,
    Direction,
    get_language,
    lmt_directions,
    lmt_languages,
    normalize_code,
    parse_directions,
    register_language,
)


def test_sixty_languages_by_tier():
    assert len(lmt_languages()) == 60
    assert [len(lmt_languages(t)) for t in ("high", "medium", "low")] == [13, 18, 29]


def test_234_directions_and_groups():
    dirs = lmt_directions()
    assert len(dirs) == 234 and len(set(dirs)) == 234
    groups = {g: sum(d.group == g for d in dirs) for g in ("en2x", "x2en", "zh2x", "x2zh")}
    assert groups == {"en2x": 59, "x2en": 59, "zh2x": 58, "x2zh": 58}
    assert Direction(ENGLISH, CHINESE) in dirs and Direction(CHINESE, ENGLISH) in dirs


@pytest.mark.parametrize(
    "alias,code",
    [("en", "eng_Latn"), ("zh_cn", "zho_Hans"), ("zh", "zho_Hans"), ("pt_br", "por_Latn"), ("nb", "nob_Latn"),
     ("no", "nob_Latn"), ("ky", "kir_Cyrl"), ("kir", "kir_Cyrl"), ("mvf", "mvf_Mong"), ("zh_TW", "zho_Hant"),
     ("ms", "zsm_Latn"), ("fa", "pes_Arab"), ("afr_Latn", "afr_Latn"), ("af", "afr_Latn")],
)
def test_aliases_resolve(alias, code):
    assert normalize_code(alias) == code


def test_names_for_prompts():
    assert get_language("ky").name == "Kirghiz"
    assert get_language("el").name == "Modern Greek"
    assert get_language("nb").name == "Norwegian Bokmål"
    assert get_language("km").name == "Central Khmer"
    assert get_language("yue").name == "Yue Chinese"
    assert get_language("ms").name == "Malay"


def test_unknown_code_names_closest():
    with pytest.raises(UnknownLanguageError) as err:
        normalize_code("kir_Cyr")
    assert "kir_Cyrl" in str(err.value)


def test_parse_directions_specs():
    assert len(parse_directions("x2zh")) == 58
    assert parse_directions(["en-ky", "zh_cn-de"]) == [Direction("eng_Latn", "kir_Cyrl"), Direction("zho_Hans", "deu_Latn")]
    assert parse_directions("en2ky") == [Direction("eng_Latn", "kir_Cyrl")]
    low = parse_directions("low")
    assert len(low) == 29 * 4 and all(d.tier == "low" for d in low)


def test_register_language():
    lang = register_language("xyz_Latn", "Xyzish", aliases=["xyz-x"])
    assert normalize_code("xyz-x") == "xyz_Latn" and lang.name == "Xyzish"
    with pytest.raises(UnknownLanguageError):
        register_language("bad", "Bad")


@pytest.mark.parametrize("alias,code", [("min", "min_Latn"), ("sq", "als_Latn"), ("lv", "lvs_Latn"), ("yi", "ydd_Hebr"),
                                        ("mn", "khk_Cyrl"), ("et", "est_Latn")])
def test_opus_codes_of_other_flores_languages(alias, code):
    assert normalize_code(alias) == code
