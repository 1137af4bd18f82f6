"""Rule filters, the chain, the settings cascade, custom filters, pickling."""

from __future__ import annotations

import math
import pickle

import pytest

from data_prep.filters import Filter, FilterChain, build_chain, get_filter_class, resolve_filters, validate_filters_config
from data_prep.filters.rules import (
    ControlCharsFilter,
    LengthFilter,
    LengthRatioFilter,
    MinLettersFilter,
    NumbersFilter,
    SrcEqualsTgtFilter,
)
from lmt.config.base import validate_config
from lmt.config.filters import FiltersConfig
from lmt.errors import ConfigError


def pair(src, tgt, sl="eng_Latn", tl="deu_Latn", **extra):
    return {"src_lang": sl, "tgt_lang": tl, "src": src, "tgt": tgt, **extra}


def run(filt: Filter, pairs: list[dict]) -> list:
    """Decisions of a filter on pairs, checking decide() agrees with accept()."""
    scores = filt.score(pairs)
    decisions = filt.decide(scores)
    for s, d in zip(scores, decisions):
        verdict = filt.accept(s)
        ok, reason = verdict if isinstance(verdict, tuple) else (verdict, "")
        assert (d is None) == ok and (ok or d == reason)
    return decisions


# --------------------------------------------------------------- rule filters


def test_length_counts_words_or_characters_by_script():
    f = LengthFilter(min_words=2, max_words=5, min_chars=3, max_chars=8)
    pairs = [
        pair("one two three", "eins zwei drei"),
        pair("one", "eins zwei"),
        pair("one two three four five six", "eins zwei"),
        pair("one two", "x", tl="deu_Latn"),
        pair("one two three", "猫在温暖的窗台上睡觉。", tl="zho_Hans"),  # 11 chars > 8
        pair("one two three", "猫睡觉", tl="zho_Hans"),  # 3 chars
        pair("one two three", "猫", tl="zho_Hans"),
    ]
    assert f.score(pairs)[4] == (3, 11, False, True, 13, 11)
    assert run(f, pairs) == [None, "src_too_short", "src_too_long", "tgt_too_short", "tgt_too_long", None, "tgt_too_short"]
    assert run(LengthFilter(unit="chars", max_chars=20), [pair("one two three four", "a")]) == [None]


def test_length_ratio_compares_words_with_characters_for_spaceless_scripts():
    f = LengthRatioFilter()  # paper default: max 3.0
    en_zh = pair("The cat sleeps on the warm windowsill.", "猫在温暖的窗台上睡觉。", tl="zho_Hans")
    pairs = [en_zh, pair("Yes", "Ja, das ist wirklich so"), pair("a b c", "x y z w v u w"), pair("", "x")]
    scores = f.score(pairs)
    assert scores[0] == pytest.approx(11 / 7) and scores[1] == 5.0 and scores[3] == math.inf
    assert run(f, pairs) == [None, "too_high", None, "too_high"]  # 7/3 = 2.33 kept
    assert run(LengthRatioFilter(max_ratio=5.0), pairs[1:2]) == [None]
    # Counting characters on both sides would have dropped the En-Zh pair (38/11).
    assert run(LengthRatioFilter(unit="chars"), [en_zh]) == ["too_high"]


def test_src_equals_tgt_normalised_and_raw():
    pairs = [pair("Hello, world!", "hello world"), pair("Hello world", "Hallo Welt"), pair("OK", "OK")]
    assert run(SrcEqualsTgtFilter(), pairs) == ["identical", None, "identical"]
    assert run(SrcEqualsTgtFilter(normalize=False), pairs) == [None, None, "identical"]


def test_control_chars_flags_non_printing_but_allows_zwnj():
    f = ControlCharsFilter()
    pairs = [
        pair("Ring the bell\x07 now", "Läute jetzt"),
        pair("zero\u200bwidth", "Null"),
        pair("broken \ufffd text", "kaputt"),
        pair("I want", "می\u200cخواهم", tl="pes_Arab"),  # ZWNJ is orthographic in Persian
        pair("plain", "bidi\u200f mark"),
        pair("private \ue000 use", "x"),
        pair("clean text", "sauberer Text"),
    ]
    assert f.score(pairs)[0] == (1, 0)
    assert run(f, pairs) == ["src_control_chars", "src_control_chars", "src_control_chars", None, "tgt_control_chars", "src_control_chars", None]
    assert run(ControlCharsFilter(max_count=1), pairs[:1]) == [None]
    assert run(ControlCharsFilter(allow=""), pairs[3:4]) == ["tgt_control_chars"]


def test_numbers_compared_by_value_across_separators_and_scripts():
    f = NumbersFilter()
    pairs = [
        pair("In 1995 and 2001.", "1995 und 2001."),
        pair("It costs 1,000.5 euros.", "Es kostet 1.000,5 Euro."),
        pair("In 1995.", "Im Jahr 2001."),
        pair("At nine o'clock.", "Um 9 Uhr."),
        pair("3 apples", "٣ تفاحات", tl="arb_Arab"),  # Arabic-Indic digit three
        pair("No numbers here.", "Keine Zahlen."),
        pair("1995 and 2001", "1995"),
        pair("Code 007 and " + "9" * 5000, "Kode 7 und " + "9" * 5000),  # no int() digit limit
    ]
    scores = f.score(pairs)
    assert scores[0] == (1.0, 2, 2) and scores[2] == (0.0, 1, 1) and scores[6] == (0.5, 2, 1)
    assert run(f, pairs) == [None, None, "mismatch", None, None, None, "mismatch", None]
    assert run(NumbersFilter(ignore_one_sided=False), pairs[3:4]) == ["mismatch"]
    assert run(NumbersFilter(min_agreement=0.5), pairs[6:7]) == [None]


def test_min_letters_counts_letters_and_combining_marks():
    f = MinLettersFilter()
    pairs = [
        pair("12345 !!! ???", "Zahlen"),
        pair("Hello", "*** 2020 ***"),
        pair("hello", "नमस्ते दुनिया", tl="hin_Deva"),  # vowel signs are marks: all letters
        pair("...", "..."),
    ]
    scores = f.score(pairs)
    assert scores[2][1] == 1.0 and scores[0][2] == 0
    assert run(f, pairs) == ["src_few_letters", "tgt_few_letters", None, "src_few_letters"]
    assert run(MinLettersFilter(min_share=0.3), [pair("abc 12345", "abc")]) == [None]
    assert run(MinLettersFilter(min_share=0.5), [pair("abc 12345", "abc")]) == ["src_few_letters"]


# ---------------------------------------------------------------------- chain


def rules_cfg(**kwargs) -> FiltersConfig:
    data = {"defaults": {"length_ratio": {"max_ratio": 3.0}, "length": {"max_words": 6}, "src_equals_tgt": {}}}
    data.update(kwargs)
    return validate_config(FiltersConfig, data, "test.yaml")


def test_chain_drops_with_reasons_counts_and_keeps_order():
    chain = build_chain(rules_cfg(order="config"), "eng_Latn", "deu_Latn", "C")
    assert chain.names == ["length_ratio", "length", "src_equals_tgt"]
    pairs = [
        pair("a b", "x y"),
        pair("same text", "Same text!"),
        pair("one two three four five six seven", "eins zwei drei vier fünf sechs sieben"),
        pair("a", "x y z w"),
        pair("c d", "u v"),
    ]
    kept, dropped = chain.apply(pairs)
    assert [p["src"] for p in kept] == ["a b", "c d"]
    assert [(p["src"], p["drop_reason"]) for p in dropped] == [
        ("a", "length_ratio:too_high"),
        ("one two three four five six seven", "length:src_too_long"),
        ("same text", "src_equals_tgt:identical"),
    ]
    assert chain.counts == {"length_ratio:too_high": 1, "length:src_too_long": 1, "src_equals_tgt:identical": 1}
    assert (chain.seen, chain.kept) == (5, 2)
    chain.apply([pair("b", "p q r s")])
    assert chain.counts["length_ratio:too_high"] == 2


def test_chain_runs_cheap_filters_first_and_skips_dropped_pairs():
    calls = []

    class Spy(Filter):
        name = "spy"
        cost = 50.0

        def score(self, pairs):
            calls.append(len(pairs))
            return [0] * len(pairs)

        def accept(self, score):
            return True

    chain = FilterChain([Spy(), LengthRatioFilter()])
    # build_chain sorts by cost; here check the chain honours the given order,
    # then that resolve_filters puts cheap rules before LID by default.
    chain.apply([pair("a", "x y z w"), pair("a b", "x y")])
    assert calls == [2]
    names = [n for n, _, _ in resolve_filters(FiltersConfig(defaults={"lid": {}, "length": {}}), "eng_Latn", "deu_Latn")]
    assert names == ["length", "lid"]
    names = [n for n, _, _ in resolve_filters(FiltersConfig(defaults={"lid": {}, "length": {}}, order="config"), "eng_Latn", "deu_Latn")]
    assert names == ["lid", "length"]


def test_keep_scores_writes_columns():
    chain = build_chain(rules_cfg(), "eng_Latn", "zho_Hans", keep_scores=True)
    kept, _ = chain.apply([pair("The cat sleeps.", "猫睡觉。", tl="zho_Hans")])
    assert kept[0]["length_src"] == 3.0 and kept[0]["length_tgt"] == 4.0
    assert kept[0]["length_ratio"] == pytest.approx(4 / 3) and kept[0]["src_equals_tgt"] == 0.0


# -------------------------------------------------------------------- cascade


CASCADE = {
    "defaults": {"length_ratio": {"max_ratio": 3.0}, "length": {}, "lid": {}},
    "per_language": {"ky": {"length_ratio": {"max_ratio": 4.0}, "lid": {"threshold": 0.9}}},
    "per_pair": {"kir_Cyrl-eng_Latn": {"length_ratio": {"max_ratio": 5.0}, "length": {"enabled": False}}},
    "per_corpus": {
        "Subs": {"length_ratio": {"max_ratio": 6.0}, "numbers": {"min_agreement": 0.5}, "length": True},
        "NoLid": {"lid": False},
    },
}


def params(cfg, sl, tl, corpus=None):
    return {name: p for name, _, p in resolve_filters(cfg, sl, tl, corpus)}


def test_cascade_global_language_pair_corpus():
    cfg = validate_config(FiltersConfig, CASCADE, "test.yaml")
    assert list(cfg.per_language) == ["kir_Cyrl"] and list(cfg.per_pair) == ["eng_Latn-kir_Cyrl"]
    assert params(cfg, "eng_Latn", "deu_Latn")["length_ratio"] == {"max_ratio": 3.0}
    assert params(cfg, "deu_Latn", "kir_Cyrl")["length_ratio"] == {"max_ratio": 4.0}  # language
    en_ky = params(cfg, "eng_Latn", "kir_Cyrl")
    assert en_ky["length_ratio"] == {"max_ratio": 5.0}  # pair beats language
    assert "length" not in en_ky  # disabled at the pair level
    assert params(cfg, "kir_Cyrl", "eng_Latn")["length_ratio"] == {"max_ratio": 5.0}  # either order
    subs = params(cfg, "eng_Latn", "kir_Cyrl", "Subs")
    assert subs["length_ratio"] == {"max_ratio": 6.0}  # corpus beats pair
    assert "length" in subs and subs["numbers"] == {"min_agreement": 0.5}  # re-enabled, added
    assert "lid" not in params(cfg, "eng_Latn", "deu_Latn", "NoLid")


def test_per_language_side_parameters_reach_that_side_only():
    cfg = validate_config(FiltersConfig, CASCADE, "test.yaml")
    assert params(cfg, "eng_Latn", "kir_Cyrl")["lid"] == {"tgt_threshold": 0.9}
    assert params(cfg, "kir_Cyrl", "rus_Cyrl")["lid"] == {"src_threshold": 0.9}
    lid = build_chain(cfg, "eng_Latn", "kir_Cyrl").filters[-1]
    assert lid.side_threshold("kir_Cyrl", "tgt") == 0.9
    assert lid.side_threshold("eng_Latn", "src") == 0.5  # high tier default


def test_unknown_filter_parameter_and_bad_values_are_config_errors():
    with pytest.raises(ConfigError, match=r"filters\.defaults\.lenght: unknown filter 'lenght'; did you mean length"):
        build_chain(FiltersConfig(defaults={"lenght": {}}), "eng_Latn", "deu_Latn")
    bad = FiltersConfig(per_pair={"en-ky": {"lid": {"treshold": 0.5}}})
    with pytest.raises(ConfigError, match=r"per_pair\.eng_Latn-kir_Cyrl\.lid\.treshold: unknown parameter of filter 'lid'"):
        validate_filters_config(bad, prefix="prep.filters")
    with pytest.raises(ConfigError, match=r"prep\.filters\.per_pair\.eng_Latn-kir_Cyrl\.lid\.treshold"):
        build_chain(bad, "kir_Cyrl", "eng_Latn", prefix="prep.filters")
    validate_filters_config(validate_config(FiltersConfig, CASCADE, "t.yaml"))  # the good one passes
    with pytest.raises(ConfigError, match=r"length_ratio: invalid parameters.*max_ratio must be"):
        build_chain(FiltersConfig(defaults={"length_ratio": {"max_ratio": 0.5}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"quality' needs parameter 'model'"):
        build_chain(FiltersConfig(defaults={"quality": {}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"^filters\.per_language\.deu_Latn\.lid\.enabled: expected true or false, got 'no'"):
        build_chain(FiltersConfig(defaults={}, per_language={"de": {"lid": {"enabled": "no"}}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"test\.yaml: per_language: .*unknown language code 'klingon'"):
        validate_config(FiltersConfig, {"per_language": {"klingon": {}}}, "test.yaml")
    with pytest.raises(ConfigError, match=r"both mean the pair eng_Latn-kir_Cyrl"):
        validate_config(FiltersConfig, {"per_pair": {"en-ky": {}, "kir_Cyrl-eng_Latn": {}}}, "test.yaml")
    with pytest.raises(ConfigError, match=r"test\.yaml: order: "):
        validate_config(FiltersConfig, {"order": "random"}, "test.yaml")


# ------------------------------------------------------ custom filter, pickle


class MaxDigits(Filter):
    """A custom filter loaded by dotted path (not registered)."""

    name = "max_digits"

    def __init__(self, max_digits: int = 3):
        self.max_digits = max_digits

    def score(self, pairs):
        return [sum(c.isdigit() for c in p["src"] + p["tgt"]) for p in pairs]

    def accept(self, score):
        return (True, "") if score <= self.max_digits else (False, "too_many_digits")


def test_custom_filter_by_dotted_path():
    for path in (f"{__name__}:MaxDigits", f"{__name__}.MaxDigits"):
        assert get_filter_class(path) is MaxDigits
        cfg = FiltersConfig(defaults={path: {"max_digits": 2}})
        kept, dropped = build_chain(cfg, "eng_Latn", "deu_Latn").apply([pair("a 1", "b 2"), pair("123", "4")])
        assert [p["src"] for p in kept] == ["a 1"] and dropped[0]["drop_reason"] == "max_digits:too_many_digits"
    with pytest.raises(ConfigError, match=r"defaults\.tests\.nope:X: cannot import module 'tests\.nope'"):
        build_chain(FiltersConfig(defaults={"tests.nope:X": {}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"is not a subclass of data_prep\.filters\.Filter"):
        build_chain(FiltersConfig(defaults={f"{__name__}:pair": {}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"\.max_digit: unknown parameter of filter 'max_digits' \(accepts: max_digits\)"):
        build_chain(FiltersConfig(defaults={f"{__name__}:MaxDigits": {"max_digit": 2}}), "eng_Latn", "deu_Latn")


def test_chain_pickles_small_and_decides_the_same():
    chain = build_chain(FiltersConfig(), "eng_Latn", "kir_Cyrl", "C")  # default chain, with LID
    pairs = [
        pair("The football team won the championship last year.", "Футбол командасы өткөн жылы чемпионатты утуп алды.", tl="kir_Cyrl"),
        pair("Hello there", "Hello there", tl="kir_Cyrl"),
        pair("The cat sleeps on the warm windowsill.", "Die Katze schläft auf der warmen Fensterbank.", tl="kir_Cyrl"),
    ]
    expected = chain.apply([dict(p) for p in pairs])
    blob = pickle.dumps(chain)
    assert len(blob) < 5000  # parameters only: no model, no compiled classes
    clone = pickle.loads(blob)
    got = clone.apply([dict(p) for p in pairs])
    assert got == expected
    # German text on the Kirghiz side: caught by the (cheaper) script check before LID.
    assert [p.get("drop_reason") for p in got[1]] == ["src_equals_tgt:identical", "script:tgt_wrong_script"]


def test_characters_beyond_the_bmp_are_classified():
    gothic = "\U00010330\U00010331\U00010332"  # Gothic letters (astral, category Lo)
    emoji = "\U0001F600\U0001F600\U0001F600\U0001F600"  # symbols, not letters
    tag = "\U000E0001"  # LANGUAGE TAG: format character (Cf)
    scores = MinLettersFilter().score([pair(gothic, "abc " + emoji)])
    assert scores[0] == (1.0, 3 / 7, 3, 3)
    assert ControlCharsFilter().score([pair(emoji, "x" + tag)]) == [(0, 1)]


def test_command_line_overrides_reach_every_level(tmp_path):
    from lmt.config.base import load_config

    path = tmp_path / "filters.yaml"
    path.write_text("defaults:\n  length_ratio: {max_ratio: 3.0}\n  lid:\n", encoding="utf-8")
    cfg = load_config(
        FiltersConfig,
        path,
        ["defaults.length_ratio.max_ratio=2.5", "per_language.ky.lid.threshold=0.3", "per_corpus.Subs.lid=false"],
    )
    assert params(cfg, "eng_Latn", "deu_Latn") == {"length_ratio": {"max_ratio": 2.5}, "lid": {}}
    assert params(cfg, "eng_Latn", "kir_Cyrl")["lid"] == {"tgt_threshold": 0.3}
    assert "lid" not in params(cfg, "eng_Latn", "kir_Cyrl", "Subs")
    with pytest.raises(ConfigError, match=r"filters\.yaml: ordr: unknown key"):
        load_config(FiltersConfig, path, ["ordr=cost"])


def test_describe_is_json_ready():
    import json

    cfg = FiltersConfig(defaults={"length_ratio": {"max_ratio": 2.0}, "lid": {"threshold": 0.7}})
    desc = json.loads(json.dumps(build_chain(cfg, "eng_Latn", "deu_Latn").describe()))
    assert [d["name"] for d in desc] == ["length_ratio", "lid"]
    assert desc[0]["params"] == {"max_ratio": 2.0, "unit": "auto"}
    assert desc[1]["params"]["threshold"] == 0.7 and "lid.176.ftz" in desc[1]["params"]["identifier"]
    assert desc[1]["params"]["confusables"]["zsm_Latn"] == ["ind_Latn"]


def test_filter_reference_lists_every_filter_and_parameter():
    from data_prep.filters.__main__ import reference

    text = reference()
    for name in ("length", "length_ratio", "src_equals_tgt", "control_chars", "numbers", "min_letters", "lid", "quality"):
        assert f"## `{name}` (cost" in text
    assert "- `model`: required" in text and "- `max_ratio`: default `3.0`" in text
    assert "per-language rules set threshold for that side only" in text


def test_plain_boolean_accept_and_empty_batches():
    class Odd(Filter):
        name = "odd"

        def score(self, pairs):
            return [len(p["src"]) for p in pairs]

        def accept(self, score):
            return score % 2 == 1  # a bare bool: the reason defaults to "rejected"

    chain = FilterChain([Odd()])
    assert chain.apply([]) == ([], [])
    kept, dropped = chain.apply([pair("abc", "x"), pair("ab", "x")])
    assert [p["src"] for p in kept] == ["abc"] and dropped[0]["drop_reason"] == "odd:rejected"

    class Broken(Odd):
        def score(self, pairs):
            return []

    with pytest.raises(RuntimeError, match=r"filter 'odd' returned 0 scores for 1 pairs"):
        FilterChain([Broken()]).apply([pair("a", "b")])
