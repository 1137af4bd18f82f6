"""GRPO learns under the real `deepspeed` launcher on 2 CPU ranks, and resumes after SIGKILL.

A toy translation task (English -> German and French, 16 prompts) from the
tiny random Qwen3 model with the chrF reward: the mean reward must rise by a
clear margin over 24 steps (fixed seed). The run is killed with SIGKILL after
step 10 (last checkpoint: step 8) and the same command resumes it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lmt.cli import main as lmt
from tests.recipes.prepdata import write_prep_output

pytestmark = pytest.mark.slow

STEPS, SAVE, KILL = 24, 8, 10


def test_grpo_reward_rises_and_resumes_after_kill(tmp_path, parallel_text, tiny_model_dir, capfd):
    from safetensors.torch import load_file

    write_prep_output(tmp_path / "run" / "data" / "prep", parallel_text, directions=[("eng_Latn", "deu_Latn"), ("eng_Latn", "fra_Latn")], mono=False)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        f"# lmt train grpo {cfg}\nname: grpo-toy\nrun_dir: {tmp_path / 'run'}\nseed: 0\n"
        "train:\n  launcher: {num_gpus: 2}\n  sft: {}\n  grpo:\n    enabled: true\n"
        f"    init_from: {tiny_model_dir}\n    reward: {{terms: {{chrf: 1.0}}}}\n    learning_rate: 5.0e-3\n"
        f"    max_steps: {STEPS}\n    save_steps: {SAVE}\n    global_batch_size: 32\n    micro_batch_size: 16\n"
        "    max_length: 128\n    max_completion_length: 20\n    num_proc: 1\n"
    )
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(Path(__file__).resolve().parents[2] / ".cache" / "torch_extensions"))
    out = tmp_path / "run" / "checkpoints" / "grpo"
    # 1. killed with SIGKILL after step 10 (checkpoint at step 8)
    os.environ["LMT_FAULT_KILL_AFTER_STEP"] = str(KILL)
    try:
        assert lmt(["train", "grpo", str(cfg)]) == 2
    finally:
        del os.environ["LMT_FAULT_KILL_AFTER_STEP"]
    assert not (out / "final").exists()
    assert (out / "checkpoints" / f"checkpoint-{SAVE}" / "lmt_complete").is_file()
    # 2. the same command resumes from step 8 and finishes
    assert lmt(["train", "grpo", str(cfg)]) == 0
    log = capfd.readouterr()
    assert f"resumed from {out / 'checkpoints' / f'checkpoint-{SAVE}'}" in log.out + log.err
    state = json.loads((out / "train_state.json").read_text())
    assert state["complete"] and state["world_size"] == 2 and state["step"] == STEPS
    history = state["history"]
    assert [h["step"] for h in history] == list(range(1, STEPS + 1))
    rewards = [h["reward"] for h in history]
    first, last = sum(rewards[:6]) / 6, sum(rewards[-6:]) / 6
    assert last > first + 0.04, rewards  # chrF/100: ~0.05 at the start, ~0.15 after 24 steps
    for key in ("kl", "reward_std_within_group", "completions/empty_share", "completions/mean_length"):
        assert all(key in h for h in history), key
    assert max(h["kl"] for h in history[SAVE:]) > 0
    assert list((out / "tensorboard").rglob("events.out.tfevents.*"))
    before, after = load_file(str(Path(tiny_model_dir) / "model.safetensors")), load_file(str(out / "final" / "model.safetensors"))
    assert any(not (before[k] == after[k]).all() for k in before)
    # 3. a rerun of a finished stage is skipped
    assert lmt(["train", "grpo", str(cfg)]) == 0
    assert "already finished" in capfd.readouterr().out
