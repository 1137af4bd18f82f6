"""Chunked cross-entropy at loss positions: the loss and every gradient equal the one-shot computation."""

from __future__ import annotations

import pytest

from lmt.training.loss import chunked_cross_entropy, packed_loss_sum
from lmt.training.packing import collate_packed, pack_row


def test_chunks_give_the_unchunked_loss_and_gradients():
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    head = torch.nn.Linear(16, 50, bias=False)
    hidden = torch.randn(3, 9, 16, requires_grad=True)
    labels = torch.randint(0, 50, (3, 9))
    labels[0, :4] = -100
    labels[2, 7:] = -100
    full = F.cross_entropy(head(hidden).reshape(-1, 50), labels.reshape(-1), ignore_index=-100, reduction="sum")
    full.backward()
    want = (full.detach(), hidden.grad.clone(), head.weight.grad.clone())
    for max_logits in (3 * 50 * 2, 3 * 50 * 4, 1):  # 2 and 4 positions per chunk (the last one shorter), 1
        hidden.grad = head.weight.grad = None
        loss = chunked_cross_entropy(hidden, labels, head, 50, max_logits=max_logits)
        loss.backward()
        torch.testing.assert_close(loss.detach(), want[0])
        torch.testing.assert_close(hidden.grad, want[1])
        torch.testing.assert_close(head.weight.grad, want[2])


def test_chunk_logits_are_freed_after_forward():
    """Only the chunk inputs are saved for backward: no [positions, vocab] tensor stays alive."""
    import torch

    head = torch.nn.Linear(4, 1000, bias=False)
    hidden = torch.randn(2, 40, 4, requires_grad=True)
    labels = torch.randint(0, 1000, (2, 40))
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.numel()) or t, lambda t: t):
        chunked_cross_entropy(hidden, labels, head, 1000, max_logits=2 * 1000 * 5)
    assert saved and max(saved) < 2 * 5 * 1000  # smaller than one chunk's logits


@pytest.mark.parametrize("max_logits", [1 << 26, 2 * 600 * 3])
def test_packed_loss_equals_the_logits_path(tiny_model_dir, max_logits):
    """Same summed loss and parameter gradients as logits_to_keep + cross-entropy on the full logits of the kept positions."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM

    torch.manual_seed(2)
    p1, r1, p2, r2, p3, r3 = (torch.randint(5, 600, (n,)).tolist() for n in (12, 5, 9, 4, 6, 8))
    rows = [
        pack_row([(p1 + r1, [-100] * 12 + r1), (p2 + r2, [-100] * 9 + r2)], 40, 0),
        pack_row([(p3 + r3, [-100] * 6 + r3)], 40, 0),
    ]
    batch = collate_packed(rows, loss_positions=True)
    results = []
    for chunked in (False, True):
        model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
        if chunked:
            loss = packed_loss_sum(model, batch, max_logits=max_logits)
        else:
            logits = model(
                input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                logits_to_keep=batch["logits_to_keep"], use_cache=False,
            ).logits
            loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), batch["shift_labels"].reshape(-1), ignore_index=-100, reduction="sum")
        loss.backward()
        results.append((loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    torch.testing.assert_close(results[1][0], results[0][0])
    for name, grad in results[0][1].items():
        torch.testing.assert_close(results[1][1][name], grad, atol=1e-6, rtol=1e-4, msg=lambda m: f"{name}: {m}")
