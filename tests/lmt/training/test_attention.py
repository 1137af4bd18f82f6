"""Packed-row attention kernels: FlexAttention and varlen give the per-document sdpa results, with gradients."""

from __future__ import annotations

import pytest

from lmt.training.attention import (
    PACKED_FLEX,
    PACKED_SDPA,
    PACKED_VARLEN,
    cu_seqlens,
    document_ids,
    saved_implementation,
    training_implementation,
    use_packed_attention,
)
from lmt.training.packing import collate_packed, pack_row

DOC_LENGTHS = ((11, 30, 7), (25, 40))  # two rows of 70 tokens: 3 documents + padding, 2 documents + padding


def _qwen3_gqa(seed: int = 0):
    """A tiny Qwen3 with grouped-query attention (4 query heads share 2 key/value heads), as the real sizes do."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen3Config

    torch.manual_seed(seed)
    cfg = Qwen3Config(
        vocab_size=600, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=128, attention_dropout=0.0,
    )
    return AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa")


def _packed_batch():
    import torch

    torch.manual_seed(1)
    rows = [
        pack_row([(d, d) for d in (torch.randint(5, 600, (n,)).tolist() for n in lengths)], 70, 0)
        for lengths in DOC_LENGTHS
    ]
    return collate_packed(rows)


def _logits_and_grads(kernel: str) -> tuple:
    model = _qwen3_gqa()
    model.set_attn_implementation(kernel)
    out = model(**_packed_batch(), use_cache=False)
    out.loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    return out.logits.detach(), grads


@pytest.fixture(scope="module")
def per_document_reference():
    from lmt.training.attention import register

    register()
    return _logits_and_grads(PACKED_SDPA)


def _assert_same(reference: tuple, other: tuple) -> None:
    import torch

    torch.testing.assert_close(other[0], reference[0], atol=2e-5, rtol=1e-4)
    assert reference[1].keys() == other[1].keys()
    for name, grad in reference[1].items():
        torch.testing.assert_close(other[1][name], grad, atol=2e-6, rtol=1e-4, msg=lambda m: f"{name}: {m}")


def test_document_ids_and_cumulative_lengths():
    import torch

    pos = torch.tensor([[0, 1, 2, 0, 1], [0, 1, 0, 1, 2]])
    assert document_ids(pos).tolist() == [[0, 0, 0, 1, 1], [0, 0, 1, 1, 1]]
    cu, longest = cu_seqlens(pos)
    assert cu.dtype == torch.int32 and cu.tolist() == [0, 3, 5, 7, 10] and longest == 3
    # A row that does not restart at 0 still starts a document of its own.
    cu, _ = cu_seqlens(torch.tensor([[0, 1, 2], [3, 4, 5]]))
    assert cu.tolist() == [0, 3, 6]


@pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")
def test_flex_kernel_equals_per_document_sdpa_with_gradients(per_document_reference, monkeypatch):
    """FlexAttention with the document block mask: same logits and every parameter's gradient."""
    import torch.nn.attention.flex_attention as flex

    # PyTorch refuses autograd through eager FlexAttention on CPU because it has
    # no compiled CPU backward kernel; the eager path runs its dense reference
    # backward, which is the math checked here (GPUs run the compiled kernel).
    validate = flex._validate_device
    monkeypatch.setattr(flex, "_validate_device", lambda q, k, v: validate(q.detach(), k.detach(), v.detach()))
    _assert_same(per_document_reference, _logits_and_grads(PACKED_FLEX))


@pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")
def test_flex_block_mask_is_built_once_per_forward(monkeypatch):
    import torch

    from lmt.training import attention

    built = []
    real = attention._BLOCK_MASK.build
    monkeypatch.setattr(attention._BLOCK_MASK, "build", lambda pos: built.append(1) or real(pos))
    model = _qwen3_gqa()
    attention.register()
    model.set_attn_implementation(PACKED_FLEX)
    with torch.no_grad():
        model(**_packed_batch(), use_cache=False)
        model(**_packed_batch(), use_cache=False)
    assert len(built) == 2  # two forwards of two layers each


def _reference_varlen(query, key, value, cu_seq_q, cu_seq_k, max_q, max_k, *, scale=None, window_size=(-1, -1), enable_gqa=False):
    """varlen_attn's contract on CPU: causal sdpa on each [cu[i], cu[i+1]) slice of the token stream."""
    import torch
    import torch.nn.functional as F

    assert window_size == (-1, 0), "the packed kernel must ask for causal attention"
    assert torch.equal(cu_seq_q, cu_seq_k) and max_q == int((cu_seq_q[1:] - cu_seq_q[:-1]).max())
    parts = []
    bounds = cu_seq_q.tolist()
    for s, e in zip(bounds[:-1], bounds[1:]):
        q, k, v = (t[s:e].transpose(0, 1).unsqueeze(0) for t in (query, key, value))  # [1, H, n, D]
        parts.append(F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale, enable_gqa=enable_gqa)[0].transpose(0, 1))
    return torch.cat(parts)


def test_varlen_kernel_flattens_the_batch_into_documents(per_document_reference, monkeypatch):
    """The varlen wrapper (token layout, cumulative lengths, GQA, output shape) against a reference varlen_attn."""
    import torch.nn.attention.varlen as varlen

    monkeypatch.setattr(varlen, "varlen_attn", _reference_varlen)
    _assert_same(per_document_reference, _logits_and_grads(PACKED_VARLEN))


def test_selection_auto_and_explicit(monkeypatch):
    import torch

    from lmt.training import attention

    assert training_implementation("auto", "cpu", torch.float32) == PACKED_SDPA
    assert training_implementation("sdpa", "cuda", torch.bfloat16) == PACKED_SDPA
    assert training_implementation("flex", "cpu", torch.float32) == PACKED_FLEX
    assert training_implementation("eager", "cpu", torch.float32) == "eager"
    monkeypatch.setattr(attention, "varlen_available", lambda: True)
    assert training_implementation("auto", "cuda", torch.bfloat16) == PACKED_VARLEN
    assert training_implementation("auto", "cuda", torch.float32) == PACKED_FLEX  # flash kernels are 16-bit only
    monkeypatch.setattr(attention, "varlen_available", lambda: False)
    assert training_implementation("auto", "cuda", torch.bfloat16) == PACKED_FLEX
    with pytest.raises(ValueError, match="varlen needs CUDA"):
        training_implementation("varlen", "cpu", torch.bfloat16)
    with pytest.raises(ValueError, match="unknown attention implementation 'flash'.*valid: auto, sdpa"):
        training_implementation("flash", "cpu", torch.float32)
    monkeypatch.setattr(attention.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match="flash-attn package"):
        training_implementation("flash_attention_2", "cuda", torch.bfloat16)
    assert [saved_implementation(n) for n in ("auto", "flex", "varlen", "sdpa", "eager")] == ["sdpa"] * 4 + ["eager"]


def test_use_packed_attention_on_cpu_and_the_config_default():
    from lmt.config.train import ModelConfig

    model = _qwen3_gqa()
    assert ModelConfig().attn_implementation == "auto"
    assert use_packed_attention(model, ModelConfig().attn_implementation) == "sdpa"
    assert model.config._attn_implementation == PACKED_SDPA
    with pytest.raises(ValueError, match="attn_implementation"):
        ModelConfig(attn_implementation="flash")


def test_auto_dtype_is_bf16_on_capable_cuda_and_fp32_on_cpu(monkeypatch):
    """dtype auto: bf16 weights, DeepSpeed bf16 and the 16-bit varlen kernel on a bf16 GPU; fp32 and sdpa on CPU."""
    import torch

    from lmt.training import attention
    from lmt.training.ds_config import fill_auto, training_dtype

    fill = dict(
        micro_batch_size=1, grad_accum=1, world_size=1, learning_rate=1e-5, betas=(0.9, 0.999), eps=1e-8,
        weight_decay=0.0, gradient_clipping=1.0, hidden_size=64,
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert training_dtype("auto") == "float32"
    assert fill_auto({"bf16": {"enabled": "auto"}}, **fill)["bf16"]["enabled"] is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(attention, "varlen_available", lambda: True)
    assert training_dtype("auto") == "bfloat16" and training_dtype("float32") == "float32"
    assert fill_auto({"bf16": {"enabled": "auto"}}, **fill)["bf16"]["enabled"] is True
    model = _qwen3_gqa().to(getattr(torch, training_dtype("auto")))
    assert use_packed_attention(model, "auto") == "sdpa"  # what the saved model says
    assert model.config._attn_implementation == PACKED_VARLEN
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)  # e.g. V100: fp32, flex
    assert training_dtype("auto") == "float32"
    assert use_packed_attention(_qwen3_gqa(), "auto") == "sdpa" and attention.auto_implementation("cuda", torch.float32) == "flex"
