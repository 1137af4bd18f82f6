"""What each rank trains on at each optimizer step: a pure function of (seed, step).

Both stages read an endless stream made of one seeded permutation of their
units per epoch (``numpy`` generator seeded with ``[seed, epoch]``); optimizer
step ``s`` takes units ``[s*B, (s+1)*B)`` of that stream. A run resumed after
step ``s`` therefore sees exactly what the uninterrupted run would have seen,
with any number of ranks.

* :class:`RowBatches` (CPT): the units are packed rows of ``max_length``
  tokens, and ``B`` is the global batch in sequences, so a step is a token
  budget (paper: 1536 x 2048 tokens).
* :class:`ExampleBatches` (SFT): the units are *examples*, and ``B`` is the
  global batch in examples (paper: 1024). The step's examples are packed into
  as many rows as they need (best-fit decreasing, seeded by the step), and
  the rows are dealt to ranks and micro-batches. The number of micro-steps per
  optimizer step is fixed for the run (the most any step needs); a rank with
  nothing left in a micro-step runs a two-token dummy row with no loss, so
  collectives stay in step.

In both, the loss of a step is the sum over its loss tokens divided by the
number of loss tokens of the whole step (every rank, every micro-batch):
:meth:`loss_tokens` gives that number before the step runs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lmt.errors import DataError
from lmt.training.packing import pack_row, pack_sft
from lmt.training.tokens import IGNORE_INDEX


class EpochStream:
    """Unit ``i`` of the endless stream of seeded per-epoch permutations of ``n`` units."""

    def __init__(self, n: int, seed: int) -> None:
        if n <= 0:
            raise DataError("no training data: nothing to put in a batch")
        self.n, self.seed = n, seed
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return self._perms[epoch]

    def take(self, start: int, count: int) -> np.ndarray:
        """Units at stream positions ``[start, start + count)``."""
        pos = np.arange(start, start + count)
        out = np.empty_like(pos)
        for epoch in np.unique(pos // self.n):
            sel = pos // self.n == epoch
            out[sel] = self._perm(int(epoch))[pos[sel] % self.n]
        return out


def example_token_counts(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """Tokens and loss tokens per tokenised example, from the Arrow buffers (no Python loop over tokens).

    A packed example's first token never has loss (see :func:`lmt.training.packing.pack_row`).
    """
    if getattr(dataset, "_indices", None) is not None:
        dataset = dataset.flatten_indices()
    col = dataset.data.column("labels").combine_chunks()
    offsets, labels = np.asarray(col.offsets, dtype=np.int64), np.asarray(col.values)
    lengths = np.diff(offsets)
    has_loss = (labels != IGNORE_INDEX).astype(np.int64)
    cum = np.concatenate([[0], np.cumsum(has_loss)])
    n_loss = cum[offsets[1:]] - cum[offsets[:-1]]
    first = offsets[:-1][lengths > 0]
    n_loss[lengths > 0] -= has_loss[first]
    return lengths, n_loss


def dummy_row(pad_id: int) -> dict:
    """Two pad tokens without loss: what a rank runs when a micro-step has nothing for it."""
    return {"input_ids": [pad_id, pad_id], "labels": [IGNORE_INDEX, IGNORE_INDEX], "seq_lens": [2], "n_loss_tokens": 0, "n_real_tokens": 0}


def _deal(rows: list, micro: int, world: int, grad_accum: int, rank: int) -> list[list]:
    """Rank ``rank``'s share of a step's rows: ``grad_accum`` micro-batches of up to ``micro`` rows."""
    out = []
    for m in range(grad_accum):
        start = (m * world + rank) * micro
        out.append(rows[start : start + micro])
    return out


class RowBatches:
    """CPT: ``global_rows`` packed rows per step (see module docs).

    Args:
        dataset: packed rows (``input_ids``, ``labels``, ``seq_lens``, ``n_loss_tokens``, ``n_real_tokens``).
        micro_batch: rows per rank per micro-step.
        world: ranks.
        global_rows: rows per optimizer step; rounded down to a multiple of ``micro_batch x world``.
        seed: data-order seed.
    """

    unit = "sequences"

    def __init__(self, dataset: Any, micro_batch: int, world: int, global_rows: int, seed: int, pad_id: int = 0) -> None:
        self.dataset, self.micro, self.world = dataset, micro_batch, world
        self.grad_accum = max(1, global_rows // (micro_batch * world))
        self.per_step = micro_batch * world * self.grad_accum
        self.stream = EpochStream(len(dataset), seed)
        self.n_units = len(dataset)
        self.pad_id = pad_id
        self._n_loss = np.asarray(dataset["n_loss_tokens"], dtype=np.int64)
        self._n_real = np.asarray(dataset["n_real_tokens"], dtype=np.int64)

    @property
    def steps_per_epoch(self) -> float:
        """Optimizer steps for one pass over the rows (fractional)."""
        return self.n_units / self.per_step

    def step_units(self, step: int) -> np.ndarray:
        """Row ids of optimizer step ``step`` (every rank, every micro-batch)."""
        return self.stream.take(step * self.per_step, self.per_step)

    def loss_tokens(self, step: int) -> int:
        """Loss tokens of the whole step."""
        return int(self._n_loss[self.step_units(step)].sum())

    def real_tokens(self, step: int) -> int:
        """Non-pad tokens of the whole step."""
        return int(self._n_real[self.step_units(step)].sum())

    def micro_batches(self, step: int, rank: int) -> list[list[dict]]:
        """``grad_accum`` lists of packed rows for ``rank`` at ``step``."""
        ids = [int(i) for i in self.step_units(step)]
        return [[self.dataset[i] for i in chunk] or [dummy_row(self.pad_id)] for chunk in _deal(ids, self.micro, self.world, self.grad_accum, rank)]

    def resume_key(self) -> dict:
        """What a checkpoint must agree on to be resumed with this order."""
        return {"unit": self.unit, "per_step": self.per_step}


class ExampleBatches:
    """SFT: ``examples_per_step`` examples per step, packed per step (see module docs).

    Args:
        dataset: tokenised examples (``input_ids``, ``labels``).
        micro_batch: packed rows per rank per micro-step.
        world: ranks.
        examples_per_step: the global batch in examples.
        max_length: packed row length.
        seed: data-order and packing seed.
        total_steps: steps of the run (the micro-steps per step are sized for the fullest of them).
        pad_id: padding token.
    """

    unit = "examples"

    def __init__(
        self, dataset: Any, micro_batch: int, world: int, examples_per_step: int, max_length: int, seed: int,
        total_steps: int, pad_id: int,
    ) -> None:
        self.dataset, self.micro, self.world = dataset, micro_batch, world
        self.per_step, self.max_length, self.seed, self.pad_id = examples_per_step, max_length, seed, pad_id
        self.n_units = len(dataset)
        self.stream = EpochStream(self.n_units, seed)
        self.lengths, self._n_loss = example_token_counts(dataset)
        self.rows_per_step = [len(self.step_bins(s)) for s in range(total_steps)]
        self.grad_accum = max(1, math.ceil(max(self.rows_per_step, default=1) / (micro_batch * world)))

    @property
    def steps_per_epoch(self) -> float:
        """Optimizer steps for one pass over the examples (fractional)."""
        return self.n_units / self.per_step

    def step_units(self, step: int) -> np.ndarray:
        """Example ids of optimizer step ``step``."""
        return self.stream.take(step * self.per_step, self.per_step)

    def step_bins(self, step: int) -> list[list[int]]:
        """The step's examples grouped into packed rows (example ids per row)."""
        ids = self.step_units(step)
        bins = pack_sft(self.lengths[ids], self.max_length, seed=[self.seed, step])
        return [[int(ids[i]) for i in b] for b in bins]

    def loss_tokens(self, step: int) -> int:
        """Loss tokens of the whole step (a packed example's first token has none)."""
        return int(self._n_loss[self.step_units(step)].sum())

    def real_tokens(self, step: int) -> int:
        """Tokens of the step's examples."""
        return int(self.lengths[self.step_units(step)].sum())

    def micro_batches(self, step: int, rank: int) -> list[list[dict]]:
        """``grad_accum`` lists of packed rows for ``rank`` at ``step``."""
        out = []
        for chunk in _deal(self.step_bins(step), self.micro, self.world, self.grad_accum, rank):
            rows = [pack_row(((self.dataset[i]["input_ids"], self.dataset[i]["labels"]) for i in b), self.max_length, self.pad_id) for b in chunk]
            out.append(rows or [dummy_row(self.pad_id)])
        return out

    def resume_key(self) -> dict:
        """What a checkpoint must agree on to be resumed with this order."""
        return {"unit": self.unit, "per_step": self.per_step, "max_length": self.max_length}
