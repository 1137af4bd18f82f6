"""The pieces of a training step on ``deepspeed.initialize``; the recipes write the loop itself.

Why our own loop rather than the Hugging Face Trainer: packed rows need
``position_ids`` and no attention mask (see :mod:`lmt.training.packing`), the
loss must be averaged over the *loss tokens of the whole step* (packed rows hold
very different numbers of response tokens, so a per-row or per-micro-batch mean
would weight examples unevenly), an SFT step is a number of examples rather
than of rows, and resuming must replay exactly the same data. Each of these is
a few lines in a loop we own and an override of Trainer internals otherwise.
DeepSpeed still does everything it is good at: ZeRO 1/2/3 and offload, mixed
precision, gradient accumulation and clipping, checkpoints (model, optimizer,
scheduler), and the TensorBoard/W&B/CSV monitors.

A step in a recipe::

    for rows in batches.micro_batches(step, rank):        # grad_accum micro-batches
        loss_sum = summed_loss(engine, rows)
        engine.backward(loss_sum * world * grad_accum / step_loss_tokens)
        engine.step()                                      # optimizer step on the last one

DeepSpeed divides the gradient by ``world x grad_accum``; the factor undoes
that, so the update is the gradient of (sum of token losses) / (loss tokens of
the step) exactly.

Fault injection: ``LMT_FAULT_KILL_AFTER_STEP=N`` makes every rank kill itself
with SIGKILL right after optimizer step ``N`` (:func:`kill_if_asked`; the
kill-and-resume test uses it to die at a known point between checkpoints).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Optional

from lmt.errors import ConfigError
from lmt.log import print0
from lmt.training.ds_config import fill_auto, load_ds_config, training_dtype
from lmt.training.loss import packed_loss_sum
from lmt.training.packing import collate_packed
from lmt.training.schedule import Steps, lr_lambda


def build_ds_config(
    stage: Any, ds_config_path: "str | Path", *, world: int, grad_accum: int, hidden_size: int, dtype: str = "auto",
    monitors: "dict | None" = None,
) -> dict:
    """The DeepSpeed config of a stage: the JSON with every ``"auto"`` filled from ``stage``.

    ``train_batch_size`` counts packed rows (``micro x grad_accum x ranks``);
    the stage's global batch (examples or sequences) is the data order's business.
    """
    return fill_auto(
        load_ds_config(ds_config_path),
        micro_batch_size=stage.micro_batch_size,
        grad_accum=grad_accum,
        world_size=world,
        learning_rate=stage.learning_rate,
        betas=tuple(stage.adam_betas),
        eps=stage.adam_eps,
        weight_decay=stage.weight_decay,
        gradient_clipping=stage.gradient_clipping,
        hidden_size=hidden_size,
        dtype=dtype,
        monitors=monitors,
    )


def load_training_model(model_cfg: Any, stage: Any, init_from: str, ds_config_path: "str | Path", world: int, grad_accum: int) -> tuple[Any, Any]:
    """``(model, zero3_context)``: the model to train, and what must stay alive until ``deepspeed.initialize``.

    Under ZeRO-3 the context is transformers' ``HfDeepSpeedConfig``: with it
    alive the weights load straight into ``deepspeed.zero.Init`` partitions, so
    no rank ever holds the whole model (an 8B model in bf16 is 16 GB per rank
    otherwise). Otherwise it is None.
    """
    from lmt.modeling import load_model

    zero3 = None
    if load_ds_config(ds_config_path).get("zero_optimization", {}).get("stage") == 3:
        from transformers import AutoConfig
        from transformers.integrations import HfDeepSpeedConfig

        hidden = getattr(AutoConfig.from_pretrained(init_from, trust_remote_code=model_cfg.trust_remote_code), "hidden_size", 1024)
        zero3 = HfDeepSpeedConfig(
            build_ds_config(stage, ds_config_path, world=world, grad_accum=grad_accum, hidden_size=int(hidden), dtype=model_cfg.dtype)
        )
    model = load_model(init_from, trust_remote_code=model_cfg.trust_remote_code, dtype=training_dtype(model_cfg.dtype))
    # The training kernel (auto/flex/varlen/packed sdpa) is set by deepspeed_engine.
    return model, zero3


def _param_groups(model: Any, weight_decay: float) -> list[dict]:
    # As in HF/Megatron: no weight decay on biases and norm weights.
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def metric_monitors(out_dir: Path, run_name: str, report_to: "list[str]", wandb_project: str) -> dict:
    """DeepSpeed monitor sections for ``train.report_to`` (TensorBoard, CSV, W&B)."""
    mons: dict[str, dict] = {}
    if "tensorboard" in report_to:
        mons["tensorboard"] = {"enabled": True, "output_path": str(out_dir / "tensorboard"), "job_name": run_name}
    if "csv" in report_to:
        mons["csv_monitor"] = {"enabled": True, "output_path": str(out_dir / "metrics"), "job_name": run_name}
    if "wandb" in report_to:
        mons["wandb"] = {"enabled": True, "project": wandb_project, "group": run_name}
    return mons


def deepspeed_engine(
    model: Any, stage: Any, ds_config_path: "str | Path", steps: Steps, *, world: int, grad_accum: int, dtype: str,
    monitors: dict, attn_implementation: str,
) -> Any:
    """``deepspeed.initialize`` with the stage's optimizer values and our warm-up + decay schedule."""
    import deepspeed
    import torch

    from lmt.training.attention import use_packed_attention

    ds_cfg = build_ds_config(
        stage, ds_config_path, world=world, grad_accum=grad_accum, hidden_size=int(getattr(model.config, "hidden_size", 1024)),
        dtype=dtype, monitors=monitors,
    )
    if "scheduler" in ds_cfg:
        raise ConfigError(f"{ds_config_path}: remove the 'scheduler' section: the schedule comes from the stage config")
    if stage.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    model.config.use_cache = False
    use_packed_attention(model, attn_implementation)
    sched = lr_lambda(steps.total, steps.warmup, stage.lr_scheduler, stage.min_lr_ratio)
    engine, _, _, _ = deepspeed.initialize(
        model=model,
        model_parameters=_param_groups(model, stage.weight_decay),
        config=ds_cfg,
        lr_scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, sched),
    )
    return engine


def summed_loss(engine: Any, rows: "list[dict]") -> Any:
    """Forward packed ``rows``; the *sum* of the cross-entropy over their loss tokens.

    Logits are computed only at positions whose next token has a label
    (``logits_to_keep``, see :func:`lmt.training.packing.collate_packed`).
    """
    batch = {k: v.to(engine.device) for k, v in collate_packed(rows, loss_positions=True).items()}
    # Vocabulary projection + cross-entropy in chunks (lmt.training.loss): the
    # [loss tokens x vocab] logits of Qwen3's 151k vocabulary never exist at once.
    return packed_loss_sum(engine, batch)


class StepLog:
    """Loss per token, learning rate and throughput every ``every`` steps: printed, monitored, kept.

    The loss is the sum over every rank's loss tokens since the last entry,
    divided by their number (all-reduced), so it does not depend on the number
    of ranks.
    """

    def __init__(self, engine: Any, every: int, total_steps: int, history: Optional[list] = None) -> None:
        self.engine, self.every, self.total = engine, every, total_steps
        self.history: list[dict] = list(history or [])
        self._reset()

    def _reset(self) -> None:
        self.t0, self.loss_sum, self.loss_tokens, self.tokens = time.time(), 0.0, 0, 0

    def add(self, step_done: int, loss_sum: float, loss_tokens: int, tokens: int, lr: float) -> None:
        """Account one optimizer step (``loss_sum``: this rank's; token counts: the whole step's)."""
        import torch
        import torch.distributed as dist

        self.loss_sum += loss_sum
        self.loss_tokens += loss_tokens
        self.tokens += tokens
        if step_done % self.every and step_done != self.total:
            return
        t = torch.tensor([self.loss_sum], dtype=torch.float64)
        dist.all_reduce(t)
        entry = {
            "step": step_done,
            "loss": float(t.item()) / max(1, self.loss_tokens),
            "lr": lr,
            "tokens_per_s": self.tokens / max(1e-9, time.time() - self.t0),
        }
        self.history.append(entry)
        if dist.get_rank() == 0:
            if self.engine.monitor.enabled:
                self.engine.monitor.write_events(
                    [(f"Train/{k}", entry[k], step_done) for k in ("loss", "lr", "tokens_per_s")]
                )
            print0(f"[lmt] step {step_done}/{self.total} loss {entry['loss']:.4f} lr {lr:.3g} {entry['tokens_per_s']:.0f} tok/s")
        self._reset()


def kill_if_asked(step_done: int) -> None:
    """Fault injection (see module docs): die like ``kill -9`` after step ``LMT_FAULT_KILL_AFTER_STEP``."""
    if int(os.environ.get("LMT_FAULT_KILL_AFTER_STEP", "0") or 0) == step_done:
        os.kill(os.getpid(), signal.SIGKILL)
