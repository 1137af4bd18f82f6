"""Packing examples into fixed-length sequences that keep documents apart.

A packed row holds several documents back to back; ``seq_lens`` records the
length of each segment (the last segment may be padding). The model gets
``position_ids`` that restart at 0 for every segment and no 2-D attention mask:
transformers (>= 4.53) then derives a block-diagonal causal mask from the
position restarts (``masking_utils.find_packed_sequence_indices``) for sdpa and
eager attention, and flash-attention-2 uses the same restarts as varlen
boundaries. So a token never attends to another document. The first token of
every segment gets label ``-100``: otherwise the last token of a document would
be trained to predict the first token of the next one.

Two strategies:

* :func:`pack_sft` -- best-fit decreasing bin packing of whole examples (an SFT
  example is never split: its prompt must stay with its response).
* :func:`pack_stream` -- CPT: documents are concatenated and cut every
  ``max_length`` tokens; a cut document continues in the next row with fresh
  positions. Only the very last row is padded.
"""

from __future__ import annotations

import bisect
from typing import Iterable, Iterator, Sequence

import numpy as np

from lmt.training.tokens import IGNORE_INDEX


def pack_sft(lengths: Sequence[int], max_length: int, seed: int = 0) -> list[list[int]]:
    """Group example indices into bins of at most ``max_length`` tokens.

    Best-fit decreasing: examples sorted by length (ties broken by a seeded
    shuffle, so equal-length examples of one direction do not cluster); each goes
    into the fullest bin it fits. Examples longer than ``max_length`` must have
    been removed before.

    Returns:
        Bins (lists of example indices), in creation order.
    """
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(lengths) and lengths.max() > max_length:
        raise ValueError(f"an example has {int(lengths.max())} tokens > max_length {max_length}")
    order = rng.permutation(len(lengths))
    order = order[np.argsort(-lengths[order], kind="stable")]
    bins: list[list[int]] = []
    # Sorted (remaining capacity, bin id) pairs; bisect finds the tightest fit.
    free: list[tuple[int, int]] = []
    for idx in order.tolist():
        n = int(lengths[idx])
        if n <= 0:
            continue
        pos = bisect.bisect_left(free, (n, -1))
        if pos < len(free):
            cap, b = free.pop(pos)
            bins[b].append(idx)
            cap -= n
        else:
            b = len(bins)
            bins.append([idx])
            cap = max_length - n
        if cap > 0:
            bisect.insort(free, (cap, b))
    return bins


def pack_row(examples: Iterable[tuple[list[int], list[int]]], max_length: int, pad_id: int) -> dict:
    """Concatenate ``(input_ids, labels)`` examples into one padded row.

    Returns:
        ``{"input_ids", "labels", "seq_lens", "n_loss_tokens", "n_real_tokens"}``.
    """
    ids: list[int] = []
    labels: list[int] = []
    seq_lens: list[int] = []
    for x, y in examples:
        ids.extend(x)
        labels.append(IGNORE_INDEX)  # no prediction across the boundary
        labels.extend(y[1:])
        seq_lens.append(len(x))
    real = len(ids)
    if real > max_length:
        raise ValueError(f"packed row has {real} tokens > max_length {max_length}")
    if real < max_length:
        pad = max_length - real
        ids.extend([pad_id] * pad)
        labels.extend([IGNORE_INDEX] * pad)
        seq_lens.append(pad)
    n_loss = sum(1 for v in labels if v != IGNORE_INDEX)
    return {"input_ids": ids, "labels": labels, "seq_lens": seq_lens, "n_loss_tokens": n_loss, "n_real_tokens": real}


def pack_stream(docs: Iterable[tuple[list[int], list[int]]], max_length: int, pad_id: int) -> Iterator[dict]:
    """CPT packing: concatenate documents and cut every ``max_length`` tokens.

    Yields rows like :func:`pack_row`; a document cut at a row end continues at
    position 0 of the next row (its first token there has no loss).
    """
    buf: list[tuple[list[int], list[int]]] = []
    used = 0
    for x, y in docs:
        while x:
            room = max_length - used
            take_x, take_y = x[:room], y[:room]
            buf.append((take_x, take_y))
            used += len(take_x)
            x, y = x[room:], y[room:]
            if used == max_length:
                yield pack_row(buf, max_length, pad_id)
                buf, used = [], 0
    if buf:
        yield pack_row(buf, max_length, pad_id)


def position_ids_from_lens(seq_lens: Sequence[int]) -> list[int]:
    """Positions restarting at 0 for each segment: ``[3, 2] -> [0, 1, 2, 0, 1]``."""
    out: list[int] = []
    for n in seq_lens:
        out.extend(range(n))
    return out


def collate_packed(rows: list[dict], loss_positions: bool = False):
    """Stack packed rows into model inputs: ``input_ids``, ``labels``, ``position_ids``.

    No ``attention_mask`` on purpose: with one, transformers would ignore the
    position restarts and let documents attend to each other.

    Args:
        rows: packed rows (:func:`pack_row`).
        loss_positions: also return ``logits_to_keep`` (the positions whose next
            token has a label, over the batch) and ``shift_labels`` (those
            targets). Passing both to a Hugging Face causal LM computes the
            vocabulary projection only where there is loss: in SFT most tokens
            are prompt, and the projection (hidden x vocabulary, 151k for
            Qwen3) is a large share of the compute and of the activation memory.
    """
    import torch

    batch = {
        "input_ids": torch.tensor([r["input_ids"] for r in rows], dtype=torch.long),
        "labels": torch.tensor([r["labels"] for r in rows], dtype=torch.long),
        "position_ids": torch.tensor([position_ids_from_lens(r["seq_lens"]) for r in rows], dtype=torch.long),
    }
    if loss_positions:
        shifted = batch["labels"][:, 1:]  # position t predicts token t + 1
        keep = torch.nonzero((shifted != IGNORE_INDEX).any(dim=0)).flatten()
        if keep.numel() == 0:  # keep the graph connected; the target is ignored
            keep = torch.zeros(1, dtype=torch.long)
        batch["logits_to_keep"] = keep
        batch["shift_labels"] = shifted[:, keep]
    return batch


def padding_fraction(rows: Iterable[dict], max_length: int) -> float:
    """Share of pad tokens over all rows."""
    total = real = 0
    for r in rows:
        total += max_length
        real += r["n_real_tokens"]
    return 1.0 - real / total if total else 0.0
