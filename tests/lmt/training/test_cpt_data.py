"""CPT mixture planning, informative formatting, packed CPT data."""

from __future__ import annotations

import pytest

from lmt.errors import DataError
from lmt.training.mixing import largest_remainder, plan_mixture, render_pair, sample_indices
from tests.recipes.prepdata import write_prep_output


def test_plan_mixture_one_one_one_without_repeats():
    sizes = {
        "monolingual": {"eng_Latn": 600, "kir_Cyrl": 400},
        "zh_centric": {"kir_Cyrl": 150, "rus_Cyrl": 50},
        "en_centric": {"kir_Cyrl": 300, "deu_Latn": 700},
    }
    plan = plan_mixture(sizes, {"monolingual": 1, "zh_centric": 1, "en_centric": 1})
    # Zh-centric (200) limits a 1:1:1 mixture to 200 per part.
    assert {p: sum(v.values()) for p, v in plan.items()} == {"monolingual": 200, "zh_centric": 200, "en_centric": 200}
    assert plan["en_centric"] == {"kir_Cyrl": 60, "deu_Latn": 140}
    assert plan["zh_centric"] == {"kir_Cyrl": 150, "rus_Cyrl": 50}
    # alpha < 1 flattens the language distribution; weights multiply it
    flat = plan_mixture(sizes, {"monolingual": 0, "zh_centric": 0, "en_centric": 1}, alpha=0.0, total=100)
    assert flat["en_centric"] == {"kir_Cyrl": 50, "deu_Latn": 50}
    w = plan_mixture(sizes, {"monolingual": 0, "zh_centric": 0, "en_centric": 1}, alpha=0.0, total=100, language_weights={"kir_Cyrl": 3})
    assert w["en_centric"] == {"kir_Cyrl": 75, "deu_Latn": 25}
    # a part without data drops out and the others share its weight
    no_mono = plan_mixture({**sizes, "monolingual": {}}, {"monolingual": 1, "zh_centric": 1, "en_centric": 2})
    assert sum(no_mono["en_centric"].values()) == 2 * sum(no_mono["zh_centric"].values())
    with pytest.raises(DataError, match="empty"):
        plan_mixture({"monolingual": {}}, {"monolingual": 1})


def test_largest_remainder_and_sampling():
    assert largest_remainder({"a": 1, "b": 1, "c": 1}, 10) == {"a": 4, "b": 3, "c": 3}
    import numpy as np

    idx = sample_indices(5, 12, np.random.default_rng(0))
    counts = np.bincount(idx, minlength=5)
    assert len(idx) == 12 and counts.min() >= 2 and counts.max() <= 3  # whole copies first


def test_render_pair_both_directions():
    rec = {"src_lang": "eng_Latn", "tgt_lang": "kir_Cyrl", "src": "Hi.", "tgt": "Салам."}
    docs = {render_pair(dict(rec, src=f"Hi {i}."), 1, 0.5).split(" ")[0] for i in range(40)}
    assert docs == {"<en2ky>", "<ky2en>"}
    assert render_pair(rec, 1, 0.0) == "<en2ky> Hi. <ky> Салам."
    assert render_pair(rec, 1, 1.0) == "<ky2en> Салам. <en> Hi."


def test_cpt_data_mixture_and_packing(tmp_path, parallel_text, tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    from lmt.training.data import build_cpt_data

    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    prep = write_prep_output(tmp_path / "prep", parallel_text, repeat=2)
    data = build_cpt_data(
        prep, tok, cache_dir=tmp_path / "cache", seed=1, max_length=128,
        mix={"monolingual": 1, "zh_centric": 1, "en_centric": 1}, num_proc=1,
    )
    s = data.stats
    tokens = s["mixture_tokens"]
    total = sum(tokens.values())
    for part in ("monolingual", "zh_centric", "en_centric"):  # 1:1:1 in tokens, not documents
        assert abs(tokens[part] / total - 1 / 3) < 0.05 / 3, tokens
    docs = {p: sum(v.values()) for p, v in s["mixture"].items()}
    assert docs["monolingual"] > docs["en_centric"]  # a sentence is shorter than a rendered pair: more of them
    assert s["documents"] == sum(docs.values())
    # stream packing: only the last row has padding
    assert s["tokens"] - s["real_tokens"] < 128
    assert s["real_tokens"] == total
    texts = [tok.decode(r) for r in data.dataset["input_ids"]]
    joined = "".join(texts)
    assert "<en2ky>" in joined or "<ky2en>" in joined
    assert "<zh2ky>" in joined or "<ky2zh>" in joined
    assert joined.count("<|im_end|>") == s["documents"]  # every document ends with EOS
    # each pair once: the reverse directions (same pairs as their forward ones) are not read ...
    assert s["available"]["en_centric"]["kir_Cyrl"] == 16 and s["pairs_once"]
    # ... unless downsampling covers CPT (prep.downsample.scope: [sft, cpt]): then every record is a document
    every = build_cpt_data(
        prep, tok, cache_dir=tmp_path / "cache", seed=1, max_length=128,
        mix={"monolingual": 1, "zh_centric": 1, "en_centric": 1}, num_proc=1, pairs_once=False,
    )
    assert every.stats["available"]["en_centric"]["kir_Cyrl"] == 32


def test_token_mixture_plan_converts_budgets_to_documents():
    from lmt.training.mixing import plan_token_mixture

    counts = {"monolingual": {"eng_Latn": 1000}, "zh_centric": {"kir_Cyrl": 300}, "en_centric": {"kir_Cyrl": 500}}
    means = {"monolingual": {"eng_Latn": 10.0}, "zh_centric": {"kir_Cyrl": 40.0}, "en_centric": {"kir_Cyrl": 30.0}}
    docs, expected = plan_token_mixture(counts, means, {"monolingual": 1, "zh_centric": 1, "en_centric": 1})
    # monolingual limits: 1000 x 10 = 10,000 tokens per part, i.e. 250 Zh-centric and 333 En-centric pairs
    assert docs == {"monolingual": {"eng_Latn": 1000}, "zh_centric": {"kir_Cyrl": 250}, "en_centric": {"kir_Cyrl": 333}}
    assert {p: round(sum(v.values())) for p, v in expected.items()} == {"monolingual": 10_000, "zh_centric": 10_000, "en_centric": 9_990}
