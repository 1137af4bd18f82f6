"""PMP decisions: shares, auxiliary language rules, determinism."""

from __future__ import annotations

from lmt.aux_map import AuxMap
from lmt.training.pmp import PMP, STP, choose_prompt, render_sft_example
from lmt.prompts import get_template


def _records(src, tgt, aux_lang, n):
    return [
        {"src_lang": src, "tgt_lang": tgt, "src": f"s{i}", "tgt": f"t{i}", "aux_lang": aux_lang, "aux": f"a{i}"}
        for i in range(n)
    ]


def test_shares_follow_config_per_direction_kind():
    amap = AuxMap.load()
    fwd = [choose_prompt(r, amap, 7, 0.5, 0.2)[0] for r in _records("eng_Latn", "kir_Cyrl", "rus_Cyrl", 4000)]
    rev = [choose_prompt(r, amap, 7, 0.5, 0.2)[0] for r in _records("kir_Cyrl", "eng_Latn", "rus_Cyrl", 4000)]
    assert abs(fwd.count(PMP) / 4000 - 0.5) < 0.03
    assert abs(rev.count(PMP) / 4000 - 0.2) < 0.03
    # deterministic: same seed, same decisions; another seed, other decisions
    again = [choose_prompt(r, amap, 7, 0.5, 0.2)[0] for r in _records("eng_Latn", "kir_Cyrl", "rus_Cyrl", 4000)]
    other = [choose_prompt(r, amap, 8, 0.5, 0.2)[0] for r in _records("eng_Latn", "kir_Cyrl", "rus_Cyrl", 4000)]
    assert fwd == again and fwd != other


def test_plain_prompt_without_aux_and_never_src_or_tgt():
    amap = AuxMap.load()
    rec = _records("eng_Latn", "kir_Cyrl", "rus_Cyrl", 1)[0]
    assert choose_prompt(rec, amap, 0, 1.0, 1.0)[:3] == (PMP, "rus_Cyrl", "a0")
    assert choose_prompt(dict(rec, aux=None, aux_lang=None), amap, 0, 1.0, 1.0)[0::3] == (STP, "no_aux_sentence")
    # Arabic has no entry in the paper's map: plain prompt whatever the record says
    ar = dict(rec, tgt_lang="arb_Arab")
    assert choose_prompt(ar, amap, 0, 1.0, 1.0)[0::3] == (STP, "no_aux_language")
    # an auxiliary in the target language (or any other than the map's) is not used
    bad = dict(rec, aux_lang="kir_Cyrl")
    assert choose_prompt(bad, amap, 0, 1.0, 1.0)[0::3] == (STP, "aux_language_mismatch")
    # Zh<->X: English
    zh = {"src_lang": "zho_Hans", "tgt_lang": "kir_Cyrl", "src": "s", "tgt": "t", "aux_lang": "eng_Latn", "aux": "e"}
    assert choose_prompt(zh, amap, 0, 1.0, 1.0)[:3] == (PMP, "eng_Latn", "e")
    assert choose_prompt(zh, amap, 0, 1.0, 1.0, enabled=False)[0] == STP


def test_render_pmp_puts_aux_before_target(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    rec = {"src_lang": "eng_Latn", "tgt_lang": "kir_Cyrl", "src": "Hello.", "tgt": "Салам."}
    prompt, full = render_sft_example(rec, get_template("pmp"), tok, False, "rus_Cyrl", "Привет.")
    assert prompt == "Translate this from English to Russian and Kirghiz:\nEnglish: Hello.\nRussian: Привет.\nKirghiz:"
    assert full == prompt + " Салам.<|im_end|>"
