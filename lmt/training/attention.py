"""Attention for packed training rows: per-document sdpa (CPU) and library kernels (GPU).

A packed row holds several documents; ``position_ids`` restart at 0 for each
(see :mod:`lmt.training.packing`) and the model gets no attention mask. Every
implementation here keeps the documents apart from those restarts, and each is
registered with transformers' ``AttentionInterface`` under its own name:

* ``lmt_packed_sdpa`` (config ``sdpa``): cuts each row at the restarts and runs
  causal sdpa per document. The cost is the sum of the documents' squared
  lengths and no mask is materialised, but the cuts are a Python loop that syncs
  with the host per row and per layer: the CPU path.
* ``lmt_packed_flex`` (config ``flex``): FlexAttention with a document-causal
  block mask (``doc[q] == doc[kv] and kv <= q``), built once per forward and
  compiled on GPUs; fully masked blocks are skipped, so the cost also follows
  the documents' lengths.
* ``lmt_packed_varlen`` (config ``varlen``): PyTorch's ``varlen_attn`` (flash
  attention over cumulative sequence lengths): the batch is flattened into one
  token stream cut at the restarts. CUDA with bf16/fp16 only.
* ``flash_attention_2`` (when the ``flash-attn`` package is installed):
  transformers derives the same cumulative lengths from ``position_ids``.

``auto`` (the default of ``train.model.attn_implementation``) picks
:func:`auto_implementation`: on CUDA ``varlen`` when PyTorch has it and the
dtype is 16-bit, else ``flex``; on CPU ``sdpa``. Models see a packed kernel only
inside the training loop (:func:`use_packed_attention`); inputs with a 2-D
attention mask (generation) fall back to plain sdpa, and saved models say
``sdpa`` (:func:`saved_implementation`).
"""

from __future__ import annotations

import importlib.util
import inspect
from typing import Any, Optional

PACKED_SDPA = "lmt_packed_sdpa"
PACKED_FLEX = "lmt_packed_flex"
PACKED_VARLEN = "lmt_packed_varlen"
CHOICES = ("auto", "sdpa", "flex", "varlen", "flash_attention_2", "eager")
"""Values of ``train.model.attn_implementation``."""


def segment_bounds(position_ids_row: Any) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` of the documents of one row (positions restart at each)."""
    import torch

    pos = position_ids_row
    cuts = (torch.nonzero(pos[1:] - pos[:-1] != 1).flatten() + 1).tolist()
    edges = [0, *cuts, int(pos.shape[0])]
    return list(zip(edges[:-1], edges[1:]))


def _document_starts(position_ids: Any) -> Any:
    """``[batch, len]`` booleans: True where a document starts (row start or position restart)."""
    import torch

    starts = torch.ones_like(position_ids, dtype=torch.bool)
    starts[:, 1:] = position_ids[:, 1:] - position_ids[:, :-1] != 1
    return starts


def document_ids(position_ids: Any) -> Any:
    """``[batch, len]`` document index of every token within its row."""
    return _document_starts(position_ids).cumsum(dim=1) - 1


def cu_seqlens(position_ids: Any) -> tuple[Any, int]:
    """Cumulative document lengths over the flattened batch (int32, ``[n_docs + 1]``) and the longest document.

    Every row start is a document start, so no document spans two rows.
    """
    import torch

    begin = torch.nonzero(_document_starts(position_ids).flatten()).flatten()
    end = torch.tensor([position_ids.numel()], device=position_ids.device, dtype=begin.dtype)
    cu = torch.cat([begin, end]).to(torch.int32)
    return cu, int((cu[1:] - cu[:-1]).max().item())


class _PerForward:
    """One value per forward pass, keyed on the ``position_ids`` tensor every layer receives.

    Each decoder layer gets the same ``position_ids`` object, so the mask or the
    sequence lengths are built (and the host synced) once per forward, not once
    per layer; a recomputed layer (gradient checkpointing) sees the same object.
    """

    def __init__(self, build: Any):
        self.build, self.key, self.value = build, None, None

    def __call__(self, position_ids: Any, batch: int) -> Any:
        if self.key is not position_ids:
            rows = position_ids if position_ids.shape[0] == batch else position_ids.expand(batch, -1)
            self.key, self.value = position_ids, self.build(rows)
        return self.value


def _flex_fns(device_type: str) -> tuple[Any, Any]:
    """``flex_attention`` and ``create_block_mask``: compiled on GPUs (their fast path), eager elsewhere."""
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    if device_type != "cuda":
        return flex_attention, create_block_mask
    global _COMPILED_FLEX
    if _COMPILED_FLEX is None:
        import torch

        _COMPILED_FLEX = torch.compile(flex_attention, dynamic=False)
    return _COMPILED_FLEX, lambda *a, **k: create_block_mask(*a, **k, _compile=True)


_COMPILED_FLEX: Any = None


def document_block_mask(position_ids: Any) -> Any:
    """FlexAttention ``BlockMask``: causal inside each document, nothing across documents."""
    doc = document_ids(position_ids)
    batch, length = doc.shape
    _, create_block_mask = _flex_fns(doc.device.type)

    def doc_causal(b: Any, h: Any, q: Any, kv: Any) -> Any:
        return (doc[b, q] == doc[b, kv]) & (kv <= q)

    return create_block_mask(doc_causal, batch, None, length, length, device=doc.device)


_BLOCK_MASK = _PerForward(document_block_mask)
_CU_SEQLENS = _PerForward(cu_seqlens)


def _packed_inputs(query: Any, key: Any, attention_mask: Any, kwargs: dict) -> Optional[Any]:
    """The ``position_ids`` when the call is a packed training forward, else None."""
    position_ids = kwargs.get("position_ids")
    q_len, kv_len = query.shape[2], key.shape[2]
    if attention_mask is not None or position_ids is None or q_len != kv_len or q_len <= 1:
        return None
    return position_ids


def _sdpa_fallback(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, dropout: float, scaling: Any, is_causal: Any, **kwargs: Any):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs)


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
    """``lmt_packed_sdpa``: causal sdpa per document (``AttentionInterface`` signature; see module docs)."""
    import torch
    import torch.nn.functional as F

    position_ids = _packed_inputs(query, key, attention_mask, kwargs)
    if position_ids is None:
        return _sdpa_fallback(module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs)
    gqa = {"enable_gqa": True} if key.shape[1] != query.shape[1] else {}
    if position_ids.shape[0] != query.shape[0]:
        position_ids = position_ids.expand(query.shape[0], -1)
    rows = []
    for b in range(query.shape[0]):
        parts = [
            F.scaled_dot_product_attention(
                query[b : b + 1, :, s:e], key[b : b + 1, :, s:e], value[b : b + 1, :, s:e],
                dropout_p=dropout, scale=scaling, is_causal=True, **gqa,
            )
            for s, e in segment_bounds(position_ids[b])
        ]
        rows.append(torch.cat(parts, dim=2) if len(parts) > 1 else parts[0])
    out = torch.cat(rows, dim=0) if len(rows) > 1 else rows[0]
    return out.transpose(1, 2).contiguous(), None


def packed_flex_forward(
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
    """``lmt_packed_flex``: FlexAttention with the document-causal block mask (see module docs)."""
    position_ids = _packed_inputs(query, key, attention_mask, kwargs)
    if position_ids is None:
        return _sdpa_fallback(module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs)
    if dropout:
        raise ValueError("lmt_packed_flex has no attention dropout; set the model's attention_dropout to 0")
    flex_attention, _ = _flex_fns(query.device.type)
    out = flex_attention(
        query, key, value, block_mask=_BLOCK_MASK(position_ids, query.shape[0]), scale=scaling, enable_gqa=key.shape[1] != query.shape[1]
    )
    return out.transpose(1, 2).contiguous(), None


def varlen_available() -> bool:
    """Whether this PyTorch has ``torch.nn.attention.varlen.varlen_attn``."""
    return importlib.util.find_spec("torch.nn.attention.varlen") is not None


def _varlen_call(query: Any, key: Any, value: Any, cu: Any, max_len: int, scaling: Optional[float]) -> Any:
    """``varlen_attn`` causal over ``[tokens, heads, dim]``, across the signatures PyTorch releases have had."""
    from torch.nn.attention.varlen import varlen_attn

    params = inspect.signature(varlen_attn).parameters
    extra: dict = {"is_causal": True} if "is_causal" in params else {"window_size": (-1, 0)}
    if key.shape[1] != query.shape[1]:
        if "enable_gqa" in params:
            extra["enable_gqa"] = True
        else:
            rep = query.shape[1] // key.shape[1]
            key, value = key.repeat_interleave(rep, dim=1), value.repeat_interleave(rep, dim=1)
    if "scale" in params:
        extra["scale"] = scaling
    return varlen_attn(query, key, value, cu, cu, max_len, max_len, **extra)


def packed_varlen_forward(
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
    """``lmt_packed_varlen``: ``varlen_attn`` over the flattened batch (see module docs)."""
    position_ids = _packed_inputs(query, key, attention_mask, kwargs)
    if position_ids is None:
        return _sdpa_fallback(module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs)
    if dropout:
        raise ValueError("lmt_packed_varlen has no attention dropout; set the model's attention_dropout to 0")
    batch, heads, length, dim = query.shape
    cu, max_len = _CU_SEQLENS(position_ids, batch)

    def tokens(t: Any) -> Any:  # [B, H, L, D] -> [B*L, H, D]
        return t.transpose(1, 2).reshape(batch * length, t.shape[1], dim)

    out = _varlen_call(tokens(query), tokens(key), tokens(value), cu, max_len, scaling)
    return out.reshape(batch, length, heads, dim), None


_KERNELS = {PACKED_SDPA: packed_sdpa_forward, PACKED_FLEX: packed_flex_forward, PACKED_VARLEN: packed_varlen_forward}
_TRAINING = {"sdpa": PACKED_SDPA, "flex": PACKED_FLEX, "varlen": PACKED_VARLEN}


def register() -> str:
    """Register the ``lmt_packed_*`` kernels with transformers (idempotent); returns ``lmt_packed_sdpa``."""
    from transformers import AttentionInterface

    for name, fn in _KERNELS.items():
        AttentionInterface.register(name, fn)
    return PACKED_SDPA


def auto_implementation(device_type: str, dtype: Any) -> str:
    """The configured name ``auto`` stands for on this device and dtype (see module docs)."""
    import torch

    if device_type != "cuda":
        return "sdpa"
    if varlen_available() and dtype in (torch.bfloat16, torch.float16):
        return "varlen"
    return "flex"


def training_implementation(configured: str, device_type: str, dtype: Any) -> str:
    """The attention name a model trains packed rows with, for a ``train.model.attn_implementation`` value.

    Raises:
        ValueError: an unknown name, or ``varlen``/``flash_attention_2`` where
            they cannot run (no CUDA, no ``flash-attn`` package).
    """
    name = auto_implementation(device_type, dtype) if configured == "auto" else configured
    if name not in CHOICES:
        raise ValueError(f"unknown attention implementation {configured!r}; valid: {', '.join(CHOICES)}")
    if name == "varlen" and (device_type != "cuda" or not varlen_available()):
        raise ValueError("attn_implementation varlen needs CUDA and a PyTorch with torch.nn.attention.varlen; use auto")
    if name == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        raise ValueError("attn_implementation flash_attention_2 needs the flash-attn package (pip install flash-attn); use auto")
    return _TRAINING.get(name, name)


def saved_implementation(configured: str) -> str:
    """The attention a saved or generating model uses: ``sdpa`` unless an installed HF kernel was chosen."""
    return configured if configured in ("flash_attention_2", "eager") else "sdpa"


def use_packed_attention(model: Any, implementation: str) -> str:
    """Switch ``model`` to the packed-row kernel for ``implementation``; returns the name to save with.

    ``implementation`` is the configured one (``train.model.attn_implementation``,
    see :data:`CHOICES`); the device is CUDA when PyTorch sees one (DeepSpeed
    moves the model there), and the dtype is the model's.
    """
    import torch

    register()
    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    model.set_attn_implementation(training_implementation(implementation, device_type, model.dtype))
    return saved_implementation(implementation)
