"""What the GRPO recipe plugs into TRL's ``GRPOTrainer``: the reward adapter and callbacks.

* :class:`TRLReward` turns a :class:`lmt.rewards.TranslationReward` into a
  TRL reward function and logs, per step, what TRL does not: the reward's
  standard deviation *within* groups of rollouts of one prompt (TRL's
  ``reward_std`` is over the whole batch), the share of empty outputs (and of
  runaway and wrong-language ones), and each reward term.
* :class:`CheckpointDone` marks a Trainer checkpoint complete once every rank
  has written its part, so a run killed mid-save resumes from the previous one.
* :class:`FaultInjection`: ``LMT_FAULT_KILL_AFTER_STEP=N`` kills every rank with
  SIGKILL at the end of optimizer step N (before that step's checkpoint), as
  the SFT loop does, for the kill-and-resume test.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any, Optional, Sequence

from lmt.rewards import TranslationReward, clean_hypothesis
from lmt.training.grpo_stage import DONE_MARKER


def _gather(values: list) -> list:
    """Concatenate a list over all ranks, in rank order (the batch order TRL groups by)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(values)
    parts: list = [None] * dist.get_world_size()
    dist.all_gather_object(parts, list(values))
    return [v for part in parts for v in part]


def within_group_std(rewards: Sequence[float], group_size: int) -> float:
    """Mean over groups of the (population) standard deviation of a group's rewards."""
    import numpy as np

    r = np.asarray(rewards, dtype=np.float64)
    if len(r) == 0 or len(r) % group_size:
        return float("nan")
    return float(r.reshape(-1, group_size).std(axis=1).mean())


class TRLReward:
    """A TRL reward function (``prompts, completions, **columns -> list[float]``) over our reward."""

    def __init__(self, reward: TranslationReward, num_generations: int) -> None:
        self.reward = reward
        self.num_generations = num_generations
        self.__name__ = "translation"  # TRL names metrics after the function

    def __call__(
        self,
        prompts: list,
        completions: list,
        *,
        source: list,
        reference: list,
        src_lang: list,
        tgt_lang: list,
        log_metric: Any = None,
        **_: Any,
    ) -> list[float]:
        hyps = [clean_hypothesis(c if isinstance(c, str) else c[-1]["content"]) for c in completions]
        out = self.reward.score(source, hyps, reference, src_lang, tgt_lang)
        if log_metric is not None:
            # Every rank computes the same global figures (the gather is collective).
            everything = _gather(list(zip(out.rewards, out.empty, out.runaway, out.wrong_language)))
            n = max(1, len(everything))
            log_metric("reward_std_within_group", within_group_std([e[0] for e in everything], self.num_generations))
            log_metric("completions/empty_share", sum(e[1] for e in everything) / n)
            log_metric("completions/runaway_share", sum(e[2] for e in everything) / n)
            log_metric("completions/wrong_language_share", sum(e[3] for e in everything) / n)
            for name, values in out.terms.items():
                log_metric(f"reward_terms/{name}", sum(values) / max(1, len(values)))
        return out.rewards


def _trainer_callback_base() -> type:
    from transformers import TrainerCallback

    return TrainerCallback


class CheckpointDone(_trainer_callback_base()):
    """Write ``checkpoint-N/lmt_complete`` after every rank has saved checkpoint N."""

    def __init__(self, checkpoints_dir: "str | Path") -> None:
        self.dir = Path(checkpoints_dir)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        from lmt.io import write_text_atomic
        from lmt.training.distributed import barrier

        barrier()
        ckpt = self.dir / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and ckpt.is_dir():
            write_text_atomic(ckpt / DONE_MARKER, f"{state.global_step}\n")
        barrier()
        return control


class FaultInjection(_trainer_callback_base()):
    """Die like ``kill -9`` after optimizer step ``LMT_FAULT_KILL_AFTER_STEP`` (tests only)."""

    def __init__(self, step: Optional[int] = None) -> None:
        self.step = step if step is not None else int(os.environ.get("LMT_FAULT_KILL_AFTER_STEP", "0") or 0)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self.step and state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)
        return control
