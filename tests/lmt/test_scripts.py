"""Writing-system shares of a text (letters and words in an ISO 15924 script)."""

from __future__ import annotations

from lmt.scripts import script_share, script_word_share

MONGOLIAN = "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ ᠪᠢᠴᠢᠭ"


def test_script_share_counts_letters_and_marks():
    assert script_share(MONGOLIAN, "Mong") == 1.0
    assert script_share("猫在睡觉。", "Hans") == 1.0 and script_share("ねこ 猫", "Jpan") == 1.0
    assert script_share("नमस्ते", "Deva") == 1.0  # vowel signs and virama are Devanagari marks
    assert script_share("cafe\u0301 Москва", "Latn") == 4 / 10  # the combining accent is neutral
    assert script_share("...", "Latn") == 0.0 and script_share("abc", "Zzzz") is None


def test_script_word_share_counts_words_and_spaceless_characters():
    # Five Han characters and one Latin word (a name in brackets): mostly Chinese.
    assert script_word_share("塔马基大道 (Tamaki)", "Hans") == 5 / 6
    assert script_share("塔马基大道 (Tamaki)", "Hans") == 5 / 11
    assert script_word_share("Privet, drug.", "Cyrl") == 0.0 and script_word_share("12", "Latn") == 0.0
    assert script_word_share("abc", "Zzzz") is None
