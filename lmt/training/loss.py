"""Cross-entropy at the loss positions of packed rows, in chunks of positions.

:func:`lmt.training.packing.collate_packed` (``loss_positions=True``) gives the
positions whose next token has a label (``logits_to_keep``) and those targets
(``shift_labels``). Projecting only those positions onto the vocabulary already
skips the prompt tokens, but for Qwen3 (151,936 entries) the float32 logits of
the loss positions of 8 rows of 1024 tokens are still several GB, more than the
rest of the step's activations. :func:`packed_loss_sum` therefore takes the
final hidden states from the model (no logits) and computes projection + loss
a chunk of positions at a time under activation checkpointing: the backward
pass recomputes each chunk's logits, so at most one chunk of logits exists at
any time, at the price of one extra projection of the loss positions.
"""

from __future__ import annotations

from typing import Any

from lmt.training.tokens import IGNORE_INDEX

MAX_LOGITS = 1 << 26
"""Logit elements (rows x positions x vocabulary) per chunk: 256 MB in float32."""


def _ce_sum(head: Any, hidden: Any, labels: Any) -> Any:
    import torch.nn.functional as F

    logits = head(hidden).float()
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum")


def chunked_cross_entropy(hidden: Any, labels: Any, head: Any, vocab_size: int, max_logits: int = MAX_LOGITS) -> Any:
    """Summed cross-entropy of ``head(hidden)`` against ``labels``, ``max_logits`` logits at a time.

    Args:
        hidden: ``[batch, positions, hidden]`` final hidden states at the loss positions.
        labels: ``[batch, positions]`` targets (``-100``: ignored).
        head: the output projection (a module, so ZeRO-3 gathers its weight on each call).
        vocab_size: the projection's output size.
        max_logits: logit elements per chunk; when everything fits in one chunk
            nothing is recomputed.

    Returns:
        A scalar float32 tensor (sum, not mean).
    """
    from torch.utils.checkpoint import checkpoint

    batch, positions = labels.shape
    per_chunk = max(1, max_logits // max(1, batch * vocab_size))
    if per_chunk >= positions:
        return _ce_sum(head, hidden, labels)
    total = None
    for start in range(0, positions, per_chunk):
        end = start + per_chunk
        part = checkpoint(_ce_sum, head, hidden[:, start:end], labels[:, start:end], use_reentrant=False)
        total = part if total is None else total + part
    return total


def packed_loss_sum(model: Any, batch: dict, max_logits: int = MAX_LOGITS) -> Any:
    """Summed next-token loss of a packed batch at its loss positions, in chunks (see module docs).

    Args:
        model: a Hugging Face causal LM, or a DeepSpeed engine wrapping one.
        batch: :func:`~lmt.training.packing.collate_packed` output with
            ``loss_positions=True``, on the model's device.
        max_logits: logit elements per chunk.
    """
    keep = batch["logits_to_keep"]
    out = model(
        input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False,
        logits_to_keep=keep[:0], output_hidden_states=True,  # no logits: only the final (normed) hidden states
    )
    hidden = out.hidden_states[-1].index_select(1, keep)
    head = getattr(model, "module", model).get_output_embeddings()
    return chunked_cross_entropy(hidden, batch["shift_labels"], head, out.logits.size(-1), max_logits)
