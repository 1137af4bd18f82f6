"""SFT data: loss masks, PMP auxiliary sentences, packing stats, cache."""

from __future__ import annotations

import pytest

from lmt.aux_map import AuxMap
from lmt.errors import DataError
from lmt.training.tokens import IGNORE_INDEX
from tests.recipes.prepdata import write_prep_output


@pytest.fixture(scope="module")
def tok(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_tokenizer_dir)


@pytest.fixture(scope="module")
def prep_dir(tmp_path_factory, parallel_text):
    return write_prep_output(tmp_path_factory.mktemp("prep"), parallel_text, repeat=2)


def _build(prep_dir, tok, cache, **kw):
    from lmt.training.data import build_sft_data

    args = dict(cache_dir=cache, aux_map=AuxMap.load(), seed=3, max_length=256, num_proc=1)
    args.update(kw)
    return build_sft_data(prep_dir, tok, **args)


def test_loss_mask_is_exactly_the_response_and_pmp_has_right_aux(prep_dir, tok, tmp_path, parallel_text):
    data = _build(prep_dir, tok, tmp_path)
    assert data.stats["records"] == 8 * 8 * 2 and data.stats["examples"] == 128
    seen = {"pmp": 0, "stp": 0}
    assert len(data.dataset) == 128  # one tokenised example per record; steps pack them
    for row in data.dataset:
        for ids, labels in [(row["input_ids"], row["labels"])]:
            n_prompt = next(i for i, y in enumerate(labels) if y != IGNORE_INDEX)
            assert all(y != IGNORE_INDEX for y in labels[n_prompt:])
            assert labels[n_prompt:] == ids[n_prompt:]
            prompt, response = tok.decode(ids[:n_prompt]), tok.decode(ids[n_prompt:])
            assert prompt.startswith("<|im_start|>user\nTranslate this from ")
            assert prompt.endswith(":<|im_end|>\n<|im_start|>assistant\n")
            assert response.endswith("<|im_end|>\n")
            tgt_text = response[: -len("<|im_end|>\n")]
            lines = prompt.split("\n")
            header, src_line = lines[1], lines[2]
            src_name, src_text = src_line.split(": ", 1)
            base = src_text.split(" (")[0]
            lang = {"English": "eng_Latn", "Chinese": "zho_Hans", "Kirghiz": "kir_Cyrl", "Russian": "rus_Cyrl"}[src_name]
            i = parallel_text[lang].index(base)
            if " and " in header:  # PMP: the aux line is the aligned sentence in the map's language
                seen["pmp"] += 1
                aux_name, aux_text = lines[3].split(": ", 1)
                if "Chinese" == src_name or "Chinese" in header.split(" to ")[1]:
                    assert aux_name == "English"
                    assert aux_text.split(" (")[0] == parallel_text["eng_Latn"][i]
                else:
                    assert aux_name == "Russian"
                    assert aux_text.split(" (")[0] == parallel_text["rus_Cyrl"][i]
                assert aux_name not in (src_name, header.split(" and ")[-1].rstrip(":"))
            else:
                seen["stp"] += 1
                assert len(lines) == 6  # user turn, header, source, target name, assistant turn, ""
            # the response is the aligned target sentence
            assert tgt_text.split(" (")[0] in {s for sents in parallel_text.values() for s in sents}
    assert seen["pmp"] == data.stats["prompts"]["pmp"] > 0
    assert seen["stp"] == data.stats["prompts"]["stp"]
    # eng->deu / eng->fra / eng->zho have no auxiliary sentence in this data
    assert data.stats["prompt_reasons"]["no_aux_sentence"] + data.stats["prompt_reasons"]["no_aux_language"] == 48
    by_dir = data.stats["prompt_reasons_by_direction"]
    assert set(by_dir["eng_Latn-deu_Latn"]) == {"no_aux_sentence"} and sum(by_dir["eng_Latn-deu_Latn"].values()) == 16
    assert data.stats["tokens"] == sum(len(x) for x in data.dataset["input_ids"])
    assert data.stats["loss_tokens"] == sum(sum(1 for y in lab[1:] if y != IGNORE_INDEX) for lab in data.dataset["labels"])


def test_rerun_reads_the_cache_and_config_changes_rebuild(prep_dir, tok, tmp_path, monkeypatch):
    first = _build(prep_dir, tok, tmp_path)
    assert not first.from_cache

    def boom(*a, **k):
        raise AssertionError("tokenised again")

    monkeypatch.setattr("lmt.training.data.sft_token_batch", boom)
    again = _build(prep_dir, tok, tmp_path)
    assert again.from_cache and again.key == first.key
    assert again.dataset["input_ids"] == first.dataset["input_ids"]
    monkeypatch.undo()
    other = _build(prep_dir, tok, tmp_path, pmp={"enabled": True, "forward_share": 1.0, "reverse_share": 1.0})
    assert other.key != first.key and not other.from_cache
    assert other.stats["prompts"]["pmp"] > first.stats["prompts"]["pmp"]


def test_too_long_examples_are_dropped_and_counted(prep_dir, tok, tmp_path):
    full = _build(prep_dir, tok, tmp_path)
    mean = full.stats["tokens"] // full.stats["examples"]  # some examples are longer than the mean
    data = _build(prep_dir, tok, tmp_path, max_length=mean)
    assert 0 < data.stats["dropped_too_long"] < 128
    assert data.stats["examples"] + data.stats["dropped_too_long"] == 128
    assert all(len(r) <= mean for r in data.dataset["input_ids"]) and len(data.dataset) == data.stats["examples"]


def test_empty_prep_output_is_an_error(tmp_path, tok):
    (tmp_path / "prep" / "parallel").mkdir(parents=True)
    with pytest.raises(DataError, match="no Parquet shards"):
        _build(tmp_path / "prep", tok, tmp_path / "cache")


def test_nothing_fits_is_an_error(prep_dir, tok, tmp_path):
    with pytest.raises(DataError, match="longer than max_length=16"):
        _build(prep_dir, tok, tmp_path, max_length=16)


def test_released_template_has_no_pmp(prep_dir, tok, tmp_path):
    data = _build(prep_dir, tok, tmp_path, template="released")
    assert data.stats["prompts"] == {"stp": 128}
    first = tok.decode(data.dataset[0]["input_ids"])
    assert "Translate the following text from " in first and " into " in first


def test_other_ranks_wait_for_the_build(prep_dir, tok, tmp_path, monkeypatch):
    import threading

    monkeypatch.setattr("lmt.training.data.WAIT_POLL_S", 0.05)
    result = {}
    waiter = threading.Thread(target=lambda: result.update(d=_build(prep_dir, tok, tmp_path, build_here=False)))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive() and not result  # nothing built yet: still waiting
    built = _build(prep_dir, tok, tmp_path)
    waiter.join(30)
    assert result["d"].from_cache and result["d"].key == built.key
