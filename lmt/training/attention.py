"""Per-document attention for packed rows: ``lmt_packed_sdpa``.

transformers already keeps packed documents apart under ``sdpa``: given
``position_ids`` and no attention mask it builds a block-diagonal causal mask
(see :mod:`lmt.training.packing`). But that mask is ``L x L`` per row and sdpa
then computes every score of the row, also the masked cross-document ones, so a
packed row of 1024 tokens pays attention as if it were one 1024-token document.
``lmt_packed_sdpa`` cuts the row at the position restarts and runs causal sdpa
per document instead: the cost is the sum of the documents' squared lengths,
the same as unpacked training, and no mask is materialised. (On GPUs
``flash_attention_2`` does the same from the same ``position_ids``.)

It is meant for packed *training* inputs only: models see it through
:func:`use_packed_attention` inside the training loop; inputs that carry a 2-D
attention mask fall back to plain sdpa, and saved models say ``sdpa``.
"""

from __future__ import annotations

from typing import Any, Optional

PACKED_SDPA = "lmt_packed_sdpa"


def segment_bounds(position_ids_row: Any) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` of the documents of one row (positions restart at each)."""
    import torch

    pos = position_ids_row
    cuts = (torch.nonzero(pos[1:] - pos[:-1] != 1).flatten() + 1).tolist()
    edges = [0, *cuts, int(pos.shape[0])]
    return list(zip(edges[:-1], edges[1:]))


def packed_sdpa_forward(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Optional[Any],
    dropout: float = 0.0,
    scaling: Optional[float] = None,
    is_causal: Optional[bool] = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """Attention function with the transformers ``AttentionInterface`` signature (see module docs)."""
    import torch
    import torch.nn.functional as F
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    position_ids = kwargs.get("position_ids")
    q_len, kv_len = query.shape[2], key.shape[2]
    if attention_mask is not None or position_ids is None or q_len != kv_len or q_len <= 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs)
    batch, heads = query.shape[0], query.shape[1]
    gqa = {"enable_gqa": True} if key.shape[1] != heads else {}
    if position_ids.shape[0] != batch:
        position_ids = position_ids.expand(batch, -1)
    rows = []
    for b in range(batch):
        parts = [
            F.scaled_dot_product_attention(
                query[b : b + 1, :, s:e], key[b : b + 1, :, s:e], value[b : b + 1, :, s:e],
                dropout_p=dropout, scale=scaling, is_causal=True, **gqa,
            )
            for s, e in segment_bounds(position_ids[b])
        ]
        rows.append(torch.cat(parts, dim=2) if len(parts) > 1 else parts[0])
    out = torch.cat(rows, dim=0) if batch > 1 else rows[0]
    return out.transpose(1, 2).contiguous(), None


def register() -> str:
    """Register ``lmt_packed_sdpa`` with transformers (idempotent); returns its name."""
    from transformers import AttentionInterface

    AttentionInterface.register(PACKED_SDPA, packed_sdpa_forward)
    return PACKED_SDPA


def use_packed_attention(model: Any, implementation: str) -> str:
    """Switch ``model`` to per-document attention when it runs sdpa; returns the implementation to restore.

    ``implementation`` is the configured one (``train.model.attn_implementation``):
    ``sdpa`` becomes ``lmt_packed_sdpa`` for training; others (eager,
    flash_attention_2) are kept as they are.
    """
    if implementation == "sdpa":
        model.set_attn_implementation(register())
    else:
        model.set_attn_implementation(implementation)
    return implementation
