"""Sentence embeddings: masked mean of a model's last hidden states.

Works for the causal LM being tuned (its decoder stack, without the vocabulary
projection) and for any Hugging Face encoder (``AutoModel``: XLM-R, BGE, ...)
given by local path or hub id. Texts are sorted by length before batching so
padding stays small; results come back in input order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from lmt.errors import MissingResourceError
from lmt.log import progress


def pick_device(device: Optional[str]) -> str:
    """``device`` or ``cuda`` when available, else ``cpu``."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_encoder(path: str, trust_remote_code: bool = False, device: str = "cpu") -> tuple[Any, Any]:
    """Load an HF encoder and its tokenizer (local path or hub id), in eval mode.

    Raises:
        MissingResourceError: the path does not exist or holds no model.
    """
    from transformers import AutoModel, AutoTokenizer

    looks_local = path.startswith((".", "/", "~")) or Path(path).exists()
    if looks_local and not Path(path).expanduser().exists():
        raise MissingResourceError(f"encoder {path!r} does not exist (give a local HF model directory or a hub id)")
    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        model = AutoModel.from_pretrained(path, trust_remote_code=trust_remote_code)
    except OSError as err:
        raise MissingResourceError(f"cannot load encoder {path!r}: {err}") from None
    return model.to(device).eval(), tok


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int, device: str = "cpu") -> tuple[Any, Any]:
    """Right-pad token id lists into ``(input_ids, attention_mask)`` tensors."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
        mask[r, : len(s)] = 1
    return ids.to(device), mask.to(device)


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Mean of ``hidden`` (B, T, H) over positions where ``mask`` (B, T) is 1."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def embed_texts(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    batch_size: int = 8,
    max_length: int = 512,
    desc: str = "embeddings",
) -> np.ndarray:
    """Mean-pooled last hidden states of ``texts`` as float32 ``(N, H)``.

    ``model`` may be a causal LM (its ``base_model`` is run, skipping the
    vocabulary projection) or an encoder.
    """
    import torch

    base = getattr(model, "base_model", model)
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    enc = tokenizer(list(texts), add_special_tokens=True, truncation=True, max_length=max_length)["input_ids"]
    enc = [ids if ids else [pad_id] for ids in enc]
    order = np.argsort([len(s) for s in enc], kind="stable")
    out = np.zeros((len(texts), base.config.hidden_size), dtype=np.float32)
    starts = range(0, len(order), batch_size)
    with torch.inference_mode():
        for b in progress(starts, desc=desc, total=len(starts), unit="batch"):
            idx = order[b : b + batch_size]
            ids, mask = pad_batch([enc[i] for i in idx], pad_id, str(device))
            hidden = base(input_ids=ids, attention_mask=mask).last_hidden_state
            out[idx] = mean_pool(hidden.float(), mask).cpu().numpy()
    return out
