"""Packing: bins, rows, positions, labels, and documents kept apart in the model."""

from __future__ import annotations

import numpy as np
import pytest

from lmt.training.packing import collate_packed, pack_row, pack_sft, pack_stream, position_ids_from_lens


def test_pack_sft_fits_and_uses_every_example_once():
    rng = np.random.default_rng(0)
    lengths = rng.integers(20, 200, size=500).tolist()
    bins = pack_sft(lengths, 512, seed=1)
    flat = sorted(i for b in bins for i in b)
    assert flat == list(range(500))
    assert all(sum(lengths[i] for i in b) <= 512 for b in bins)
    used = sum(lengths) / (len(bins) * 512)
    assert used > 0.98  # best-fit decreasing leaves under 2% padding here
    assert pack_sft(lengths, 512, seed=1) == bins  # deterministic


def test_pack_sft_rejects_overlong():
    with pytest.raises(ValueError, match="max_length"):
        pack_sft([10, 600], 512)


def test_pack_row_labels_positions_padding():
    row = pack_row([([1, 2, 3], [-100, 2, 3]), ([4, 5], [4, 5])], max_length=8, pad_id=0)
    assert row["input_ids"] == [1, 2, 3, 4, 5, 0, 0, 0]
    # first token of every segment has no label: no prediction across documents
    assert row["labels"] == [-100, 2, 3, -100, 5, -100, -100, -100]
    assert row["seq_lens"] == [3, 2, 3]
    assert row["n_loss_tokens"] == 3 and row["n_real_tokens"] == 5
    assert position_ids_from_lens(row["seq_lens"]) == [0, 1, 2, 0, 1, 0, 1, 2]


def test_pack_stream_cuts_documents_and_pads_only_the_end():
    docs = [(list(range(10, 16)), list(range(10, 16))), (list(range(20, 25)), list(range(20, 25)))]
    rows = list(pack_stream(docs, max_length=4, pad_id=0))
    assert [r["input_ids"] for r in rows] == [[10, 11, 12, 13], [14, 15, 20, 21], [22, 23, 24, 0]]
    assert rows[1]["seq_lens"] == [2, 2]
    assert rows[2]["seq_lens"] == [3, 1]
    assert sum(r["n_real_tokens"] for r in rows) == 11


def test_packed_documents_do_not_attend_to_each_other(tiny_model_dir):
    """Logits of a document are the same packed after another one as alone."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="sdpa").eval()
    torch.manual_seed(0)
    vocab = model.config.vocab_size
    a = torch.randint(5, vocab, (7,)).tolist()
    b = torch.randint(5, vocab, (9,)).tolist()
    batch = collate_packed([pack_row([(a, a), (b, b)], max_length=20, pad_id=0)])
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone_a = model(input_ids=torch.tensor([a]), use_cache=False).logits[0]
        alone_b = model(input_ids=torch.tensor([b]), use_cache=False).logits[0]
        # Control: without position restarts, b would see a and its logits change.
        unpacked = model(input_ids=batch["input_ids"], use_cache=False).logits[0]
    torch.testing.assert_close(packed[:7], alone_a, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(packed[7:16], alone_b, atol=1e-5, rtol=1e-4)
    assert (unpacked[7:16] - alone_b).abs().max() > 1e-3


def test_per_document_kernel_matches_masked_sdpa(tiny_model_dir):
    """lmt_packed_sdpa gives the same logits and gradients as sdpa's block mask, batch of 2 rows."""
    import torch
    from transformers import AutoModelForCausalLM

    from lmt.training.attention import PACKED_SDPA, segment_bounds, use_packed_attention

    torch.manual_seed(1)
    docs = [torch.randint(5, 600, (n,)).tolist() for n in (11, 30, 7, 25, 40)]
    rows = [pack_row([(d, d) for d in docs[:3]], 70, 0), pack_row([(d, d) for d in docs[3:]], 70, 0)]
    batch = collate_packed(rows)
    assert segment_bounds(batch["position_ids"][0]) == [(0, 11), (11, 41), (41, 48), (48, 70)]
    results = []
    for impl in ("sdpa", PACKED_SDPA):
        model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="sdpa")
        if impl == PACKED_SDPA:
            assert use_packed_attention(model, "sdpa") == "sdpa"
            assert model.config._attn_implementation == PACKED_SDPA
        out = model(**batch, use_cache=False)
        out.loss.backward()
        results.append((out.logits.detach(), model.model.embed_tokens.weight.grad.clone()))
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(results[0][1], results[1][1], atol=1e-6, rtol=1e-4)


def test_loss_positions_give_the_same_loss_and_gradients(tiny_model_dir):
    """Logits only at positions with a target: same summed loss and gradients as full logits."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM

    torch.manual_seed(2)
    p1, r1, p2, r2 = (torch.randint(5, 600, (n,)).tolist() for n in (12, 5, 9, 4))
    rows = [pack_row([(p1 + r1, [-100] * 12 + r1), (p2 + r2, [-100] * 9 + r2)], 40, 0)]
    full = collate_packed(rows)
    part = collate_packed(rows, loss_positions=True)
    assert part["logits_to_keep"].tolist() == list(range(11, 16)) + list(range(25, 29))
    grads = []
    for batch, sel in ((full, False), (part, True)):
        model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
        if sel:
            logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], logits_to_keep=batch["logits_to_keep"], use_cache=False).logits
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch["shift_labels"].reshape(-1), ignore_index=-100, reduction="sum")
            assert logits.shape[1] == 9
        else:
            logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), batch["labels"][:, 1:].reshape(-1), ignore_index=-100, reduction="sum")
        loss.backward()
        grads.append((loss.detach(), model.model.embed_tokens.weight.grad.clone()))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1], atol=1e-6, rtol=1e-4)
