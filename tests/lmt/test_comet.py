"""lmt.comet + lmt.testing.comet: tiny offline COMET checkpoints load and score."""

from __future__ import annotations

import math
import shutil

import pytest

from lmt.comet import comet_predict, load_comet, requires_reference, resolve_checkpoint
from lmt.errors import DataError, MissingResourceError
from lmt.testing.comet import build_tiny_comet

SAMPLES = [
    {"src": "The cat sleeps on the warm windowsill.", "mt": "Die Katze schläft.", "ref": "Die Katze schläft auf der warmen Fensterbank."},
    {"src": "猫在温暖的窗台上睡觉。", "mt": "The cat sleeps.", "ref": "The cat sleeps on the warm windowsill."},
    {"src": "Мы встретимся на вокзале завтра утром.", "mt": "#", "ref": "We will meet at the station tomorrow morning."},
]


@pytest.fixture(scope="module")
def tiny_comets(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("comet")
    return {kind: build_tiny_comet(root / kind, kind) for kind in ("regression", "unified")}


def test_regression_checkpoint_layout_and_scores(tiny_comets):
    ckpt = tiny_comets["regression"]
    root = resolve_checkpoint(ckpt).parents[1]
    assert (root / "hparams.yaml").is_file() and (root / "encoder" / "config.json").is_file()
    # The directory and the .ckpt file both load; scores are deterministic.
    model_dir = load_comet(str(root))
    model_file = load_comet(ckpt)
    assert requires_reference(model_dir)
    a = comet_predict(model_dir, SAMPLES, batch_size=2)
    b = comet_predict(model_file, list(reversed(SAMPLES)), batch_size=3)
    assert len(a) == 3 and all(isinstance(x, float) and math.isfinite(x) for x in a)
    # Input order is kept even though comet sorts by length internally.
    assert a == pytest.approx(list(reversed(b)), abs=1e-5)
    assert len({round(x, 6) for x in a}) > 1, "per-segment scores, not one system score"


def test_reference_free_unified_model(tiny_comets):
    model = load_comet(tiny_comets["unified"])
    assert not requires_reference(model)
    scores = comet_predict(model, [{"src": s["src"], "mt": s["mt"]} for s in SAMPLES])
    assert len(scores) == 3 and all(0.0 <= x <= 1.0 for x in scores)  # sigmoid head
    assert comet_predict(model, []) == []


def test_reference_missing_for_reference_based_model(tiny_comets):
    model = load_comet(tiny_comets["regression"])
    with pytest.raises(DataError, match=r"sample 1: missing text for \['ref'\]"):
        comet_predict(model, [SAMPLES[0], {"src": "a", "mt": "b"}])


def test_missing_models_say_how_to_provide_one(tmp_path, tiny_comets):
    with pytest.raises(MissingResourceError, match="does not exist.*wmt22-comet-da"):
        load_comet(str(tmp_path / "nope"))
    with pytest.raises(MissingResourceError, match="has no checkpoints/model.ckpt"):
        load_comet(str(tmp_path))
    broken = tmp_path / "broken"
    shutil.copytree(resolve_checkpoint(tiny_comets["regression"]).parents[1], broken)
    (broken / "hparams.yaml").unlink()
    with pytest.raises(MissingResourceError, match="has no hparams.yaml"):
        load_comet(str(broken))


def test_missing_encoder_files_are_a_clear_error(tmp_path, tiny_comets, monkeypatch):
    moved = tmp_path / "moved"
    shutil.copytree(resolve_checkpoint(tiny_comets["regression"]).parents[1], moved)
    shutil.rmtree(moved / "encoder")  # hparams still point at the original encoder dir
    model = load_comet(str(moved))  # the original encoder dir still exists
    assert model is not None
    with pytest.raises(MissingResourceError, match="cannot load its encoder tokenizer/config"):
        load_comet(str(moved), encoder=str(tmp_path / "no_encoder_here"))
    # A relocated encoder is found through the explicit override.
    relocated = tmp_path / "enc"
    shutil.copytree(resolve_checkpoint(tiny_comets["regression"]).parents[1] / "encoder", relocated)
    scores = comet_predict(load_comet(str(moved), encoder=str(relocated)), SAMPLES[:1])
    assert len(scores) == 1


def test_hub_id_offline_without_cache_is_missing_resource(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(MissingResourceError, match="Unbabel/not-a-real-comet"):
        load_comet("Unbabel/not-a-real-comet")


def test_tiny_comet_tokenizer_keeps_its_full_vocabulary(tiny_comets):
    """The SentencePiece vocabulary survives conversion (transformers 5 once built 5 tokens from it)."""
    import sentencepiece as spm
    from transformers import XLMRobertaTokenizerFast

    enc_dir = resolve_checkpoint(tiny_comets["regression"]).parents[1] / "encoder"
    sp = spm.SentencePieceProcessor(model_file=str(enc_dir / "sentencepiece.bpe.model"))
    tok = XLMRobertaTokenizerFast.from_pretrained(enc_dir)
    # fairseq layout: <s> <pad> </s> <unk>, the spm pieces from id 3 shifted by one, <mask> last.
    assert [sp.id_to_piece(i) for i in range(3)] == ["<unk>", "<s>", "</s>"]
    assert len(tok) == 4 + (sp.get_piece_size() - 3) + 1 > 100
    text = SAMPLES[0]["src"]
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.unk_token_id not in ids
    assert ids == [i + 1 for i in sp.encode(text)]  # the same pieces as SentencePiece itself


def test_unified_model_joins_segments_like_xlmr(tiny_comets):
    """``<s> a </s></s> b </s>``: the layout XLM-R tokenizers built before transformers 5."""
    model = load_comet(tiny_comets["unified"])
    tok = model.encoder.tokenizer
    cls, sep = tok.cls_token_id, tok.sep_token_id
    assert (cls, sep) == (0, 2) and model.encoder.size_separator == 2
    assert tok.build_inputs_with_special_tokens([10, 11]) == [0, 10, 11, 2]
    assert tok.build_inputs_with_special_tokens([10, 11], [12]) == [0, 10, 11, 2, 2, 12, 2]


def test_encoder_forward_reads_the_hf_outputs_by_name(tiny_comets):
    """The compat forward returns exactly the fields of the HF encoder called with return_dict=True."""
    import torch

    model = load_comet(tiny_comets["regression"])
    enc = model.encoder
    batch = enc.tokenizer([s["src"] for s in SAMPLES], padding=True, return_tensors="pt")
    with torch.no_grad():
        got = enc(batch["input_ids"], batch["attention_mask"])
        ref = enc.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True, return_dict=True)
    assert torch.equal(got["wordemb"], ref.last_hidden_state)
    assert torch.equal(got["sentemb"], ref.last_hidden_state[:, 0, :])  # XLM-R: first token, no pooler
    assert len(got["all_layers"]) == len(ref.hidden_states) == 3  # embeddings + 2 layers
    assert all(torch.equal(a, b) for a, b in zip(got["all_layers"], ref.hidden_states))
    assert torch.equal(got["attention_mask"], batch["attention_mask"])


@pytest.mark.parametrize("kind", ["regression", "unified"])
def test_scores_are_finite_and_deterministic_across_loads(tiny_comets, kind):
    samples = SAMPLES if kind == "regression" else [{"src": s["src"], "mt": s["mt"]} for s in SAMPLES]
    first = comet_predict(load_comet(tiny_comets[kind]), samples, batch_size=2)
    again = comet_predict(load_comet(tiny_comets[kind]), samples, batch_size=2)
    assert all(math.isfinite(x) for x in first) and first == again
    assert len(set(first)) == len(first), "every segment gets its own score"
