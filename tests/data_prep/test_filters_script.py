"""The script filter (writing system, Chinese variety, Cantonese) and re-deciding from stored scores."""

from __future__ import annotations

import math

import pytest

from data_prep.filters import LengthFilter, ScriptFilter, build_chain
from data_prep.filters.chinese import cantonese_count, simplified_count, traditional_count
from lmt.config.filters import FiltersConfig
from lmt.errors import DataError

# Real sentences of the three varieties (Mandarin in both scripts, written Cantonese).
SIMPLIFIED = "我们在这里讨论头发的问题，著名的作家也来了。"
TRADITIONAL = "我們在這裡討論頭髮的問題，著名的作家也來了。"
CANTONESE = "佢哋喺度食紧饭，你去咗边度呀？"  # Cantonese in Simplified characters
CANTONESE_HANT = "佢哋喺度食緊飯，你去咗邊度呀？"


def pair(src, tgt, sl="eng_Latn", tl="zho_Hans"):
    return {"src_lang": sl, "tgt_lang": tl, "src": src, "tgt": tgt, "corpus": "c"}


def test_chinese_variety_counts():
    assert traditional_count(SIMPLIFIED) == 0  # 著名 is a phrase: not taken for Traditional
    assert traditional_count(TRADITIONAL) == 10
    assert simplified_count(TRADITIONAL) == 0
    assert simplified_count("這裏是台灣，我裡面") == 0  # regional Traditional variants are not Simplified
    assert simplified_count(SIMPLIFIED) == 10
    assert cantonese_count(CANTONESE) == 4 and cantonese_count(SIMPLIFIED) == 0


def run(f, pairs):
    return f.decide(f.score(pairs))


def test_script_share_for_every_language():
    f = ScriptFilter()
    pairs = [
        pair("Hello there, friend.", "Привет, друг.", tl="rus_Cyrl"),
        pair("Hello there, friend.", "Privet, drug.", tl="rus_Cyrl"),  # transliterated: Latin in a Cyrl side
        pair("Привет, друг.", "Привет, друг.", sl="eng_Latn", tl="rus_Cyrl"),
        pair("Γεια σου.", "Hello.", sl="ell_Grek", tl="eng_Latn"),
        pair("12345", "12345", tl="rus_Cyrl"),  # no letters: not the script filter's business
        pair("Thank you.", "ขอบคุณมาก", tl="tha_Thai"),
    ]
    assert run(f, pairs) == [None, "tgt_wrong_script", "src_wrong_script", None, None, None]
    assert math.isnan(f.score(pairs[4:5])[0].src_share)
    # The share is configurable, per side through per-language rules.
    mixed = pair("Hello there.", "Привет, это iPhone и MacBook Pro.", tl="rus_Cyrl")
    assert run(ScriptFilter(min_share=0.8), [mixed]) == ["tgt_wrong_script"]
    chain = build_chain(FiltersConfig(defaults={"script": {"min_share": 0.8}}, per_language={"rus_Cyrl": {"script": {"min_share": 0.3}}}), "eng_Latn", "rus_Cyrl")
    assert chain.apply([dict(mixed)])[0]


def test_traditional_and_cantonese_on_a_simplified_side_dropped_by_default():
    f = ScriptFilter()
    pairs = [pair("We discuss hair.", SIMPLIFIED), pair("We discuss hair.", TRADITIONAL), pair("They are eating.", CANTONESE)]
    assert run(f, pairs) == [None, "tgt_traditional", "tgt_cantonese"]
    # zho_Hant: Traditional is right, Simplified-only text is kept by default (policy keep) but Cantonese drops.
    hant = [pair("x y", TRADITIONAL, tl="zho_Hant"), pair("x y", SIMPLIFIED, tl="zho_Hant"), pair("x y", CANTONESE, tl="zho_Hant")]
    assert run(f, hant) == [None, None, "tgt_cantonese"]
    assert run(ScriptFilter(variety={"zho_Hant": "drop"}), hant[1:2]) == ["tgt_simplified"]
    # Cantonese is right on a yue_Hant side.
    assert run(f, [pair("They are eating.", CANTONESE_HANT, tl="yue_Hant")]) == [None]
    with pytest.raises(ValueError, match="variety.zho_Hans: expected one of drop, convert, keep"):
        ScriptFilter(variety={"zho_Hans": "maybe"})


def test_convert_policy_rewrites_kept_pairs_and_counts_it():
    cfg = FiltersConfig(
        defaults={"length": {}, "script": {}},
        per_language={"zho_Hans": {"script": {"variety": {"zho_Hans": "convert"}}}},
    )
    chain = build_chain(cfg, "eng_Latn", "zho_Hans")
    recs = [pair("We discuss hair.", TRADITIONAL), pair("We discuss hair.", SIMPLIFIED), pair("x", CANTONESE)]
    kept, dropped = chain.apply(recs)
    assert [r["tgt"] for r in kept] == [SIMPLIFIED, SIMPLIFIED]
    assert [r["drop_reason"] for r in dropped] == ["script:tgt_cantonese"]
    assert chain.notes == {"script:tgt_converted": 1}
    # The same with every score kept: the same decisions and conversions.
    chain = build_chain(cfg, "eng_Latn", "zho_Hans", keep_scores=True)
    recs = [pair("We discuss hair.", TRADITIONAL), pair("We discuss hair.", SIMPLIFIED), pair("x", CANTONESE)]
    kept, dropped = chain.apply(recs)
    assert [r["tgt"] for r in kept] == [SIMPLIFIED, SIMPLIFIED] and chain.notes == {"script:tgt_converted": 1}
    assert kept[0]["script_tgt_other"] == 10.0


def test_length_caps_characters_in_every_script():
    word = "a" * 3000  # one "word" in Latin script
    assert run(LengthFilter(), [pair(word, "x", tl="deu_Latn"), pair("x", word, tl="deu_Latn")]) == ["src_too_long", "tgt_too_long"]
    assert run(LengthFilter(char_limit=5000), [pair(word, "x", tl="deu_Latn")]) == [None]


def test_redecide_from_stored_columns_equals_scoring_again():
    """Score once with keep_scores, then re-decide with other thresholds from the
    stored columns alone: the same result as scoring again with those thresholds."""
    pairs = [
        pair("The cat sleeps on the warm windowsill.", "Die Katze schläft auf der warmen Fensterbank.", tl="deu_Latn"),
        pair("Yes", "Ja, das ist wirklich so und nicht anders", tl="deu_Latn"),
        pair("one two three four five six seven", "eins zwei drei", tl="deu_Latn"),
        pair("Numbers 12 and 7", "Zahlen 12 und 8", tl="deu_Latn"),
        pair("Hello.", "Привет.", tl="deu_Latn"),
        pair("The meeting is at noon.", "The meeting is at noon.", tl="deu_Latn"),
    ]
    rules = {"length": {}, "length_ratio": {}, "src_equals_tgt": {}, "numbers": {}, "min_letters": {}, "script": {}, "lid": {}}
    chain = build_chain(FiltersConfig(defaults=rules), "eng_Latn", "deu_Latn", keep_scores=True)
    stored = [dict(p) for p in pairs]
    chain.apply(stored)
    stored = [{k: v for k, v in r.items() if k != "drop_reason"} for r in stored]
    assert "lid_tgt_label" in stored[0] and stored[0]["lid_tgt_label"] == "de"
    strict = {**rules, "length_ratio": {"max_ratio": 1.5}, "lid": {"threshold": 0.99}, "numbers": {"ignore_one_sided": False}}
    again = build_chain(FiltersConfig(defaults=strict), "eng_Latn", "deu_Latn")
    fresh = again.apply([dict(p) for p in pairs])
    redecided = build_chain(FiltersConfig(defaults=strict), "eng_Latn", "deu_Latn").redecide([dict(r) for r in stored])
    assert [r["src"] for r in redecided[0]] == [r["src"] for r in fresh[0]]
    assert sorted(r["drop_reason"] for r in redecided[1]) == sorted(r["drop_reason"] for r in fresh[1])
    assert len(fresh[0]) < 6 - 2  # the stricter thresholds dropped more than the defaults
    # A filter whose scores were not stored cannot be re-decided.
    extra = build_chain(FiltersConfig(defaults={**strict, "control_chars": {}}), "eng_Latn", "deu_Latn")
    with pytest.raises(DataError, match="no column 'control_chars_src' of filter 'control_chars'"):
        extra.redecide([dict(r) for r in stored])
