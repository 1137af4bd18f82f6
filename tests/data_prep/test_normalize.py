"""Text normalisation and the normalised-duplicate key."""

from __future__ import annotations

import pytest

from data_prep.normalize import dedup_key, normalize_text


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("  Hello   world.  ", "Hello world."),
        ("tab\tseparated\twords", "tab separated words"),  # tab kept as a separator, not deleted
        ("bell\x07 and\x00 nul", "bell and nul"),
        ("line\nbreak\r\nhere", "line break here"),
        ("zero\u200bwidth soft\u00adhyphen", "zerowidth softhyphen"),
        ("\ufeffBOM first", "BOM first"),
        ("rtl \u202eoverride\u202c mark\u200f", "rtl override mark"),
        ("e\u0301cole", "\u00e9cole"),  # NFC composes
        ("ideographic\u3000space\u00a0nbsp", "ideographic space nbsp"),
        ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"),  # ZWNJ kept (Persian)
        ("全角ＡＢＣ保持", "全角ＡＢＣ保持"),  # NFC does not fold width (NFKC is for keys only)
        ("\x01\x02", ""),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_is_idempotent():
    for text in ["  A\u0301 b\tc\x07 ", "Ｈｅｌｌｏ\u3000世界", "plain ascii"]:
        once = normalize_text(text)
        assert normalize_text(once) == once


@pytest.mark.parametrize(
    "a,b",
    [
        ("Hello, World!", "hello world"),
        ("It costs 5 dollars.", "It costs 15 dollars!"),  # digits ignored
        ("ＨＥＬＬＯ　ｗｏｒｌｄ。", "hello world"),  # NFKC folds full-width
        ("Straße", "STRASSE"),  # casefold, not lower
        ("你好，世界！", "你好 世界"),
        ("«Guillemets» — dash", "guillemets dash"),
    ],
)
def test_dedup_key_collides_for_normalised_duplicates(a, b):
    assert dedup_key(a) == dedup_key(b)


def test_dedup_key_keeps_distinct_sentences_apart():
    assert dedup_key("The cat sleeps.") != dedup_key("The cat slept.")
    assert dedup_key("Кошка спит.") == "кошкаспит"
    assert dedup_key("12, 34!") == ""


def test_dedup_key_ascii_fast_path_matches_unicode_path():
    import unicodedata

    from data_prep.normalize import _KEY_TABLE

    ascii_text = "".join(map(chr, range(128)))
    slow = unicodedata.normalize("NFKC", ascii_text).casefold().translate(_KEY_TABLE)
    assert dedup_key(ascii_text) == slow == "abcdefghijklmnopqrstuvwxyz" * 2
