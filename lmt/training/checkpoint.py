"""Checkpoints, resume and the final model of a training stage.

A stage's output directory holds::

    checkpoints/step0000200/   DeepSpeed checkpoint (model, optimizer, scheduler, client state)
    checkpoints/latest         tag of the newest complete checkpoint (written after every rank saved)
    train_state.json           what the newest checkpoint (or final/) holds: step, plan, history
    final/                     Hugging Face model, only once the run finished

Resume rules (``train.<stage>.resume``, on by default):

* a checkpoint trained on other data or another batch definition is refused;
* a changed step count continues: more steps train on from the checkpoint (the
  learning-rate schedule is stretched to the new total); fewer steps than the
  checkpoint already has are refused with a message naming ``--overwrite``;
* while a run trains on, ``final/`` is removed first, so ``train_state.json``
  and the weights never disagree: ``final/`` exists only with a complete state
  that describes it.

``lmt train STAGE CONFIG --overwrite`` (and ``lmt run|demo --overwrite``) clears
the directory first (:func:`clear_stage`) and the stage starts over.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Optional

from lmt.training.attention import saved_implementation
from lmt.errors import ConfigError, DataError
from lmt.io import read_json, write_json_atomic, write_text_atomic
from lmt.log import print0

CHECKPOINTS = "checkpoints"
FINAL = "final"
LATEST = "latest"
STATE = "train_state.json"


def latest_step(out_dir: "str | Path") -> int:
    """Optimizer steps of the newest complete checkpoint in a stage directory (0: none)."""
    latest = Path(out_dir) / CHECKPOINTS / LATEST
    if not latest.is_file():
        return 0
    tag = latest.read_text().strip()
    return int(tag[len("step"):]) if tag.startswith("step") and tag[len("step"):].isdigit() else 0


def check_resumable(out_dir: "str | Path", total_steps: int, stage: str) -> int:
    """The step a run of ``total_steps`` resumes from; refuses when the checkpoint is past it.

    Raises:
        ConfigError: the newest checkpoint has more steps than the run asks for.
    """
    done = latest_step(out_dir)
    if done > total_steps:
        raise ConfigError(
            f"{out_dir}: the {stage} checkpoint has trained {done} steps, more than the {total_steps} this config asks "
            f"for; a finished model cannot be untrained. Start the stage over with `lmt train {stage} CONFIG --overwrite` "
            f"(or `lmt run|demo ... --overwrite`), or use another train.{stage}.output_dir"
        )
    return done


def clear_stage(out_dir: "str | Path") -> bool:
    """Remove a stage's checkpoints, state and final model (``--overwrite``); True when there was something."""
    out = Path(out_dir)
    if not out.exists():
        return False
    trash = out.with_name(f".{out.name}.overwritten")
    shutil.rmtree(trash, ignore_errors=True)
    os.rename(out, trash)  # one rename: a killed clear leaves either the old stage or none
    shutil.rmtree(trash, ignore_errors=True)
    return True


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
        # Not the training-only packed kernel: `auto`/`flex`/`varlen` save as sdpa.
        module.set_attn_implementation(saved_implementation(attn_implementation))
        module.save_pretrained(tmp, state_dict=state, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        old = out.with_name(f".{out.name}.old")
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    dist.barrier()


class Checkpoints:
    """Save and resume one stage's run (see module docs).

    Args:
        out_dir: the stage's output directory.
        save_steps: checkpoint every N steps (and at the end).
        keep: checkpoints kept (older ones are deleted).
        data_key: cache key of the training data.
        order_key: what the data order must agree on (``batches.resume_key()``).
        config_key: fingerprint of the stage config (lets ``lmt train`` skip a finished stage).
    """

    def __init__(self, out_dir: "str | Path", save_steps: int, keep: int, data_key: str, order_key: dict, config_key: str) -> None:
        self.out = Path(out_dir)
        self.dir = self.out / CHECKPOINTS
        self.save_steps, self.keep = save_steps, keep
        self.client = {"data_key": data_key, "order": order_key}
        self.config_key = config_key

    def resume(self, engine: Any, total_steps: int, stage: str, load: bool = True) -> tuple[int, list[dict]]:
        """Load the newest checkpoint into ``engine``; ``(start_step, history)`` (``(0, [])`` when none).

        With ``load=False`` (``resume: false``) the run starts at step 0 whatever is there.

        Raises:
            ConfigError: the checkpoint is past ``total_steps``.
            DataError: it was trained on other data or batches, or does not load.
        """
        import torch.distributed as dist

        start, history = 0, []
        if load and latest_step(self.out):
            check_resumable(self.out, total_steps, stage)
            tag = (self.dir / LATEST).read_text().strip()
            load_path, client = engine.load_checkpoint(str(self.dir), tag=tag)
            if load_path is None:
                raise DataError(f"{self.dir / tag}: checkpoint could not be loaded; delete it or start over with --overwrite")
            theirs = {k: client.get(k) for k in self.client}
            if theirs != self.client:
                raise DataError(
                    f"{self.dir / tag}: this checkpoint was trained on other data or batches ({theirs} vs {self.client}); "
                    "start over with --overwrite, or use a new output_dir"
                )
            start = int(client["step"])
            state = self.out / STATE
            if state.is_file():
                history = [h for h in read_json(state).get("history", []) if h["step"] <= start]
            print0(f"[lmt] resumed from {self.dir / tag} at step {start}/{total_steps}")
        if start < total_steps:
            # Training on: the old final model would disagree with the state from the next checkpoint on.
            # Every rank takes the barrier (the condition is the same on all); only rank 0 looks at the
            # directory, since another rank could otherwise see it after rank 0 removed it and skip the barrier.
            if dist.get_rank() == 0 and (self.out / FINAL).exists():
                shutil.rmtree(self.out / FINAL)
                print0(f"[lmt] {self.out / FINAL} removed: training on from step {start} to {total_steps}")
            dist.barrier()
        return start, history

    def due(self, step_done: int, total_steps: int) -> bool:
        """Whether to checkpoint after ``step_done``."""
        return step_done % self.save_steps == 0 or step_done == total_steps

    def save(self, engine: Any, step_done: int, state: dict) -> None:
        """A DeepSpeed checkpoint after ``step_done`` steps; then ``latest`` and ``train_state.json``."""
        import torch.distributed as dist

        tag = f"step{step_done:07d}"
        engine.save_checkpoint(str(self.dir), tag=tag, save_latest=False, client_state={"step": step_done, **self.client})
        # DeepSpeed's own 'latest' is written by rank 0 before the other ranks
        # finish; ours is written after a barrier, atomically.
        dist.barrier()
        if dist.get_rank() == 0:
            write_text_atomic(self.dir / LATEST, tag)
            for old in sorted(p for p in self.dir.glob("step*") if p.is_dir())[: -self.keep]:
                shutil.rmtree(old, ignore_errors=True)
            write_json_atomic(self.out / STATE, {**state, "step": step_done, "complete": False, "config": self.config_key})
        dist.barrier()

    def save_final(self, engine: Any, tokenizer: Any, state: dict, attn_implementation: str) -> Path:
        """The Hugging Face model in ``final/``, then a complete ``train_state.json`` describing it."""
        import torch.distributed as dist

        final = self.out / FINAL
        save_hf_model(engine, tokenizer, final, attn_implementation)
        if dist.get_rank() == 0:
            write_json_atomic(self.out / STATE, {**state, "final_model": str(final), "complete": True, "config": self.config_key})
        dist.barrier()
        return final


def finished(out_dir: "str | Path", config_key: str) -> bool:
    """Whether a stage directory holds a final model made with this exact config."""
    out = Path(out_dir)
    state = out / STATE
    if not (state.is_file() and (out / FINAL / "config.json").is_file()):
        return False
    done: Optional[dict] = read_json(state)
    return bool(done.get("complete")) and done.get("config") == config_key
