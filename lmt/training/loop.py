"""The training loop shared by the CPT and SFT recipes, on ``deepspeed.initialize``.

Why our own loop rather than the Hugging Face Trainer: packed rows need
``position_ids`` and no attention mask (see :mod:`lmt.training.packing`), the
loss must be averaged over the *loss tokens of the whole global batch* (packed
rows hold very different numbers of response tokens, so a per-row or
per-micro-batch mean would weight examples unevenly), and resuming must replay
exactly the same rows. Each of these is a few lines here and an override of
Trainer internals there. DeepSpeed still does everything it is good at: ZeRO
1/2/3 and offload, mixed precision, gradient accumulation and clipping,
checkpoints (model, optimizer, scheduler), and the TensorBoard/W&B/CSV monitors.

Data order: optimizer step ``s`` consumes rows ``[s*G, (s+1)*G)`` of an endless
stream made of one seeded permutation of the packed rows per epoch
(``G = micro_batch * world * grad_accum``); rank ``r`` takes micro-batch slices
of that window. The order is a pure function of (seed, step), so a run resumed
from the checkpoint after step ``s`` sees exactly the rows the uninterrupted
run would have seen.

Fault injection: ``LMT_FAULT_KILL_AFTER_STEP=N`` makes every rank kill itself
with SIGKILL right after optimizer step ``N`` (the kill-and-resume test uses it
to die at a known point between checkpoints).
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np

from lmt.errors import ConfigError, DataError
from lmt.io import read_json, write_json_atomic, write_text_atomic
from lmt.log import get_logger, print0, progress
from lmt.training.attention import use_packed_attention
from lmt.training.ds_config import fill_auto, load_ds_config
from lmt.training.loss import packed_loss_sum
from lmt.training.packing import collate_packed

log = get_logger("lmt.training.loop")

CHECKPOINTS = "checkpoints"
FINAL = "final"
LATEST = "latest"


class DataOrder:
    """Which packed rows each rank reads at each step (see module docs)."""

    def __init__(self, n_rows: int, micro_batch: int, world: int, grad_accum: int, seed: int):
        if n_rows <= 0:
            raise DataError("no packed training rows")
        self.n, self.micro, self.world, self.ga, self.seed = n_rows, micro_batch, world, grad_accum, seed
        self.rows_per_step = micro_batch * world * grad_accum
        self._perms: dict[int, np.ndarray] = {}

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps for one pass over the rows (last step wraps into the next epoch)."""
        return max(1, math.ceil(self.n / self.rows_per_step))

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return self._perms[epoch]

    def step_rows(self, step: int) -> np.ndarray:
        """All rows of optimizer step ``step`` (every rank, every micro-batch)."""
        pos = np.arange(step * self.rows_per_step, (step + 1) * self.rows_per_step)
        out = np.empty_like(pos)
        for epoch in np.unique(pos // self.n):
            sel = pos // self.n == epoch
            out[sel] = self._perm(int(epoch))[pos[sel] % self.n]
        return out

    def micro_rows(self, step_rows: np.ndarray, micro_step: int, rank: int) -> np.ndarray:
        """Rows of one rank's micro-batch inside a step."""
        start = (micro_step * self.world + rank) * self.micro
        return step_rows[start : start + self.micro]


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


def _param_groups(model: Any, weight_decay: float) -> list[dict]:
    # As in HF/Megatron: no weight decay on biases and norm weights.
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _monitors(out_dir: Path, run_name: str, report_to: list[str], wandb_project: str) -> dict:
    mons: dict[str, dict] = {}
    if "tensorboard" in report_to:
        mons["tensorboard"] = {"enabled": True, "output_path": str(out_dir / "tensorboard"), "job_name": run_name}
    if "csv" in report_to:
        mons["csv_monitor"] = {"enabled": True, "output_path": str(out_dir / "metrics"), "job_name": run_name}
    if "wandb" in report_to:
        mons["wandb"] = {"enabled": True, "project": wandb_project, "group": run_name}
    return mons


def grad_accum(stage: Any, world: int) -> int:
    """Micro-steps per optimizer step so that micro x ranks x accumulation ~ global batch."""
    return max(1, stage.global_batch_size // (stage.micro_batch_size * world))


def build_ds_config(
    stage: Any, ds_config_path: "str | Path", *, world: int, hidden_size: int, dtype: str = "auto",
    monitors: "dict | None" = None,
) -> dict:
    """The DeepSpeed config of a stage: the JSON with every ``"auto"`` filled from ``stage``."""
    return fill_auto(
        load_ds_config(ds_config_path),
        micro_batch_size=stage.micro_batch_size,
        grad_accum=grad_accum(stage, world),
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


def zero3_load_context(stage: Any, ds_config_path: "str | Path", model_dir: str, world: int, dtype: str = "auto", trust_remote_code: bool = False) -> Any:
    """Under ZeRO-3, an object to keep alive while loading the model, else None.

    transformers sees it (``HfDeepSpeedConfig``) and loads the weights straight
    into ``deepspeed.zero.Init`` partitions, so no rank ever holds the whole
    model (an 8B model in bf16 is 16 GB per rank otherwise).
    """
    ds = load_ds_config(ds_config_path)
    if ds.get("zero_optimization", {}).get("stage") != 3:
        return None
    from transformers import AutoConfig
    from transformers.integrations import HfDeepSpeedConfig

    hidden = getattr(AutoConfig.from_pretrained(model_dir, trust_remote_code=trust_remote_code), "hidden_size", 1024)
    return HfDeepSpeedConfig(build_ds_config(stage, ds_config_path, world=world, hidden_size=int(hidden), dtype=dtype))


def save_hf_model(engine: Any, tokenizer: Any, out: Path, attn_implementation: str = "sdpa") -> None:
    """Save the engine's model as a Hugging Face directory (safetensors, tokenizer, chat template).

    Every rank must call it (ZeRO-3 gathers the partitioned weights); rank 0
    writes into a temp dir that replaces ``out`` in one rename.
    """
    import torch.distributed as dist

    state = engine._zero3_consolidated_16bit_state_dict() if engine.zero_optimization_stage() == 3 else None
    if dist.get_rank() == 0:
        tmp = out.with_name(f".{out.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        module = engine.module
        module.config.use_cache = True
        module.set_attn_implementation(attn_implementation)  # not the training-only packed kernel
        module.save_pretrained(tmp, state_dict=state, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        old = out.with_name(f".{out.name}.old")
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    dist.barrier()


def _rotate(ckpt_dir: Path, keep: int) -> None:
    tags = sorted(p for p in ckpt_dir.glob("step*") if p.is_dir())
    for p in tags[:-keep]:
        shutil.rmtree(p, ignore_errors=True)


def run_training(
    *,
    model: Any,
    tokenizer: Any,
    data: Any,
    stage: Any,
    ds_config_path: "str | Path",
    out_dir: "str | Path",
    seed: int,
    run_name: str,
    report_to: "list[str]" = ("tensorboard",),
    wandb_project: str = "lmt",
    dtype: str = "auto",
    config_key: str = "",
    attn_implementation: str = "auto",
) -> dict:
    """Train ``model`` on packed ``data`` under DeepSpeed; save checkpoints and ``out_dir/final``.

    Args:
        model: a Hugging Face causal LM (weights loaded on every rank).
        tokenizer: saved with the final model.
        data: :class:`lmt.training.data.PackedData`.
        stage: :class:`lmt.config.train.StageConfig` (batch sizes, optimizer,
            schedule, checkpoint cadence, resume).
        ds_config_path: DeepSpeed JSON (``"auto"`` values filled from ``stage``).
        out_dir: stage output directory (``checkpoints/``, ``final/``,
            ``tensorboard/``, ``train_state.json``).
        seed: data order seed.
        run_name: job name for the metric monitors.
        config_key: fingerprint of the stage config, stored so `lmt train` can skip a finished stage.
        attn_implementation: configured attention (``auto``, ``sdpa``, ``flex``,
            ...): packed rows train with the matching kernel of
            :mod:`lmt.training.attention`; the final model is saved with ``sdpa``.

    Returns:
        Summary dict (steps, losses, tokens, throughput), also written to
        ``out_dir/train_state.json``.

    Raises:
        DataError: the checkpoint to resume was trained on different data.
    """
    import deepspeed
    import torch
    import torch.distributed as dist

    out_dir = Path(out_dir)
    rank, world = dist.get_rank(), dist.get_world_size()
    ga = grad_accum(stage, world)
    if stage.micro_batch_size * world * ga != stage.global_batch_size:
        print0(
            f"[lmt] global_batch_size {stage.global_batch_size} is not a multiple of micro_batch_size x ranks "
            f"({stage.micro_batch_size} x {world}); using {stage.micro_batch_size * world * ga}"
        )
    order = DataOrder(len(data.dataset), stage.micro_batch_size, world, ga, seed)
    total_steps = stage.max_steps or max(1, math.ceil(stage.epochs * order.steps_per_epoch))
    warmup = int(round(stage.warmup_ratio * total_steps))
    n_loss = np.asarray(data.dataset["n_loss_tokens"], dtype=np.int64)
    n_real = np.asarray(data.dataset["n_real_tokens"], dtype=np.int64)

    ds_cfg = build_ds_config(
        stage, ds_config_path, world=world, hidden_size=int(getattr(model.config, "hidden_size", 1024)), dtype=dtype,
        monitors=_monitors(out_dir, run_name, list(report_to), wandb_project),
    )
    if "scheduler" in ds_cfg:
        raise ConfigError(f"{ds_config_path}: remove the 'scheduler' section: the schedule comes from the stage config")
    if stage.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    model.config.use_cache = False
    saved_attn = use_packed_attention(model, attn_implementation)
    sched = lr_lambda(total_steps, warmup, stage.lr_scheduler, stage.min_lr_ratio)
    engine, _, _, _ = deepspeed.initialize(
        model=model,
        model_parameters=_param_groups(model, stage.weight_decay),
        config=ds_cfg,
        lr_scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, sched),
    )
    device = engine.device

    ckpt_dir = out_dir / CHECKPOINTS
    start = 0
    if stage.resume and (ckpt_dir / LATEST).is_file():
        tag = (ckpt_dir / LATEST).read_text().strip()
        load_path, client = engine.load_checkpoint(str(ckpt_dir), tag=tag)
        if load_path is None:
            raise DataError(f"{ckpt_dir / tag}: checkpoint could not be loaded; delete it or set resume=false")
        if client.get("data_key") != data.key or client.get("rows_per_step") != order.rows_per_step:
            raise DataError(
                f"{ckpt_dir / tag}: this checkpoint was trained on other data or batch settings "
                f"(data key {client.get('data_key')} vs {data.key}); use a new output_dir or resume=false"
            )
        start = int(client["step"])
        print0(f"[lmt] resumed from {ckpt_dir / tag} at step {start}/{total_steps}")

    def save_checkpoint(step_done: int) -> None:
        tag = f"step{step_done:07d}"
        engine.save_checkpoint(
            str(ckpt_dir), tag=tag, save_latest=False,
            client_state={"step": step_done, "data_key": data.key, "rows_per_step": order.rows_per_step},
        )
        # DeepSpeed's own 'latest' is written by rank 0 before the other ranks
        # finish; ours is written after a barrier, atomically.
        dist.barrier()
        if rank == 0:
            write_text_atomic(ckpt_dir / LATEST, tag)
            _rotate(ckpt_dir, stage.save_total_limit)
        dist.barrier()

    fault_step = int(os.environ.get("LMT_FAULT_KILL_AFTER_STEP", "0") or 0)
    history: list[dict] = []
    state_file = out_dir / "train_state.json"
    if start and state_file.is_file():
        history = [h for h in read_json(state_file).get("history", []) if h["step"] <= start]
    engine.train()
    t_log, tokens_log, loss_acc, tok_acc = time.time(), 0, 0.0, 0
    bar = progress(total=total_steps, initial=start, desc=f"{run_name} steps", unit="step")
    for step in range(start, total_steps):
        bar.update(1)
        rows = order.step_rows(step)
        step_tokens = int(n_loss[rows].sum())
        if step_tokens == 0:
            raise DataError(f"step {step}: no loss tokens in the global batch")
        scale = world * ga / step_tokens
        lr = engine.get_lr()[0]  # the rate this step uses (the scheduler moves on in engine.step)
        local_loss = torch.zeros((), dtype=torch.float64)
        for micro in range(ga):
            idx = order.micro_rows(rows, micro, rank)
            batch = collate_packed([data.dataset[int(i)] for i in idx], loss_positions=True)
            batch = {k: v.to(device) for k, v in batch.items()}
            # Logits only where a target exists, a chunk at a time (lmt.training.loss).
            loss_sum = packed_loss_sum(engine, batch)
            engine.backward(loss_sum * scale)
            engine.step()
            local_loss += loss_sum.detach().double().cpu()
        loss_acc += float(local_loss)
        tok_acc += step_tokens
        tokens_log += int(n_real[rows].sum())
        done = step + 1
        if done % stage.logging_steps == 0 or done == total_steps:
            t = torch.tensor([loss_acc], dtype=torch.float64)
            dist.all_reduce(t)
            loss = float(t.item()) / tok_acc
            dt = max(1e-9, time.time() - t_log)
            entry = {"step": done, "loss": loss, "lr": lr, "tokens_per_s": tokens_log / dt}
            history.append(entry)
            if rank == 0:
                if engine.monitor.enabled:
                    engine.monitor.write_events(
                        [("Train/loss", loss, done), ("Train/lr", lr, done), ("Train/tokens_per_s", entry["tokens_per_s"], done)]
                    )
                print0(f"[lmt] step {done}/{total_steps} loss {loss:.4f} lr {lr:.3g} {entry['tokens_per_s']:.0f} tok/s")
            t_log, tokens_log, loss_acc, tok_acc = time.time(), 0, 0.0, 0
        if done % stage.save_steps == 0 or done == total_steps:
            save_checkpoint(done)
            if rank == 0:
                write_json_atomic(state_file, {"step": done, "total_steps": total_steps, "data_key": data.key, "history": history})
        if fault_step == done:
            # Fault injection for the kill-and-resume test: die like `kill -9`
            # would (no cleanup, no final save) on every rank.
            os.kill(os.getpid(), signal.SIGKILL)
    bar.close()
    final = out_dir / FINAL
    save_hf_model(engine, tokenizer, final, saved_attn)
    summary = {
        "step": total_steps,
        "total_steps": total_steps,
        "data_key": data.key,
        "world_size": world,
        "grad_accum": ga,
        "rows_per_step": order.rows_per_step,
        "final_model": str(final),
        "history": history,
        "data": data.stats,
        "complete": True,
        "config": config_key,
    }
    if rank == 0:
        write_json_atomic(state_file, summary)
    dist.barrier()
    return summary
