"""How many steps a stage trains, and the learning rate at each of them.

Steps follow the paper's definition: ``epochs`` passes over the data at the
stage's global batch (SFT: examples per step; CPT: sequences of ``max_length``
tokens per step), rounded to the nearest step (every step takes a full global
batch; the data stream wraps into the next epoch's permutation when needed). ``max_steps``, when set, wins; when ``epochs`` is set too and
the two disagree by more than 5%, the plan says so at start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

DISAGREE = 0.05


@dataclass(frozen=True)
class Steps:
    """The step count of a run and how it was decided.

    Attributes:
        total: optimizer steps.
        warmup: warm-up steps (``round(warmup_ratio * total)``).
        epochs: passes over the data those steps make.
        from_epochs: the steps ``epochs`` alone would give.
        configured_epochs: the configured ``epochs``.
        warning: set when ``max_steps`` and ``epochs`` disagree by more than 5%.
    """

    total: int
    warmup: int
    epochs: float
    from_epochs: int
    configured_epochs: float = 1.0
    warning: Optional[str] = None


def plan_steps(
    steps_per_epoch: float, epochs: float, max_steps: Optional[int], warmup_ratio: float, epochs_given: bool = True
) -> Steps:
    """Steps of a stage (see module docs).

    Args:
        steps_per_epoch: data units / units per step (fractional).
        epochs: configured passes over the data.
        max_steps: configured steps, or None.
        warmup_ratio: share of the steps spent warming up.
        epochs_given: whether ``epochs`` was set explicitly (else only ``max_steps`` counts, silently).
    """
    # Rounded, not rounded up: 1 epoch of 63,542 examples at 1,024 is 62 steps (0.999 epochs), not 63 (1.015).
    from_epochs = max(1, int(math.floor(epochs * steps_per_epoch + 0.5)))
    total = max_steps or from_epochs
    warning = None
    if max_steps and epochs_given and abs(max_steps - from_epochs) > DISAGREE * from_epochs:
        warning = (
            f"max_steps={max_steps} and epochs={epochs:g} disagree: {epochs:g} epoch(s) of this data are "
            f"{from_epochs} steps, {max_steps} steps are {max_steps / steps_per_epoch:.2f} epochs; training "
            f"{max_steps} steps (drop max_steps to train by epochs)"
        )
    return Steps(
        total=total, warmup=int(round(warmup_ratio * total)), epochs=total / steps_per_epoch, from_epochs=from_epochs,
        configured_epochs=epochs, warning=warning
    )


def lr_lambda(total_steps: int, warmup_steps: int, kind: str, min_ratio: float):
    """Learning-rate multiplier per step: linear warm-up, then cosine/linear/constant."""

    def fn(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        if kind == "constant":
            return 1.0
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        if kind == "cosine":
            return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        return min_ratio + (1 - min_ratio) * (1 - progress)

    return fn
