"""Both recipes under the real `deepspeed` launcher on 2 CPU ranks (ZeRO-2), and kill-and-resume.

These are the expensive tests (each launcher run starts 2 Python processes that
import torch/transformers/deepspeed): one CPT run, and one SFT run that is
killed with SIGKILL between checkpoints and then resumed; its weights must equal
those of an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

from lmt.cli import main as lmt
from tests.recipes.prepdata import write_prep_output

pytestmark = pytest.mark.slow

COMMON = [
    "train.launcher.num_gpus=2",
    "train.{s}.max_length=256",
    "train.{s}.micro_batch_size=2",
    "train.{s}.global_batch_size=8",
    "train.{s}.learning_rate=0.001",
    "train.{s}.warmup_ratio=0.0",
    "train.{s}.max_steps=4",
    "train.{s}.save_steps=2",
    "train.{s}.logging_steps=1",
    "train.{s}.num_proc=1",
    "train.{s}.deepspeed=zero2",
]


def _over(stage: str) -> list[str]:
    return [o.format(s=stage) for o in COMMON]


@pytest.fixture(scope="module")
def exp(tmp_path_factory, parallel_text):
    """A run directory with a prep output and `lmt train init` done (tokenizer + tiny model)."""
    root = tmp_path_factory.mktemp("launch")
    write_prep_output(root / "run" / "data" / "prep", parallel_text, repeat=3)
    cfg = root / "exp.yaml"
    cfg.write_text(
        f"# lmt train sft {cfg}\nname: launch\nrun_dir: {root / 'run'}\nseed: 11\n"
        "train:\n  tokenizer: {vocab_size: 1000}\n  tiny: {max_position_embeddings: 512}\n  cpt: {}\n  sft: {}\n"
    )
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(Path(__file__).resolve().parents[2] / ".cache" / "torch_extensions"))
    assert lmt(["train", "init", str(cfg)]) == 0
    return root, cfg


def _weights(path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(Path(path) / "model.safetensors"))


def test_init_builds_tokenizer_with_cpt_tags_and_model(exp):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root, cfg = exp
    init = root / "run" / "model_init"
    tok = AutoTokenizer.from_pretrained(init)
    assert tok.tokenize("<en2ky> a <ky>")[0] == "<en2ky>"  # tags are single symbols
    assert tok.chat_template and tok.eos_token == "<|im_end|>"
    model = AutoModelForCausalLM.from_pretrained(init)
    assert model.config.model_type == "qwen3" and model.config.vocab_size == len(tok)
    assert model.config.max_position_embeddings == 512


def test_cpt_runs_under_deepspeed_launcher(exp, capfd):
    from transformers import AutoModelForCausalLM

    root, cfg = exp
    assert lmt(["train", "cpt", str(cfg), *_over("cpt")]) == 0
    out = capfd.readouterr()
    assert "deepspeed --num_gpus 2" in out.out + out.err
    cpt = root / "run" / "checkpoints" / "cpt"
    state = json.loads((cpt / "train_state.json").read_text())
    assert state["complete"] and state["world_size"] == 2 and state["grad_accum"] == 2
    losses = [h["loss"] for h in state["history"]]
    assert len(losses) == 4 and all(math.isfinite(x) for x in losses)
    before, after = _weights(root / "run" / "model_init"), _weights(cpt / "final")
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) == len(before)  # every tensor moved
    AutoModelForCausalLM.from_pretrained(cpt / "final")
    assert list((cpt / "tensorboard").rglob("events.out.tfevents.*"))
    assert state["data"]["padding_fraction"] < 0.03  # stream packing: only the last row is padded


def test_sft_kill_and_resume_equals_uninterrupted(exp, capfd):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root, cfg = exp
    sft = root / "run" / "checkpoints" / "sft"
    over = _over("sft")
    start_model = root / "run" / "checkpoints" / "cpt" / "final"
    if not start_model.is_dir():  # run on its own (-k sft): start from the init model
        over.append("train.cpt.enabled=false")
        start_model = root / "run" / "model_init"
    # 1. killed with SIGKILL after step 3 (checkpoint at step 2)
    os.environ["LMT_FAULT_KILL_AFTER_STEP"] = "3"
    try:
        assert lmt(["train", "sft", str(cfg), *over]) == 2
    finally:
        del os.environ["LMT_FAULT_KILL_AFTER_STEP"]
    assert not (sft / "final").exists()
    assert (sft / "checkpoints" / "latest").read_text() == "step0000002"
    # 2. the same command resumes from step 2 and finishes
    assert lmt(["train", "sft", str(cfg), *over]) == 0
    out = capfd.readouterr()
    assert "resumed from" in out.out + out.err and "at step 2/4" in out.out + out.err
    state = json.loads((sft / "train_state.json").read_text())
    assert state["complete"] and [h["step"] for h in state["history"]] == [1, 2, 3, 4]
    assert all(math.isfinite(h["loss"]) for h in state["history"])
    # SFT started from the CPT model (or the init model) and changed it
    start_w, resumed = _weights(start_model), _weights(sft / "final")
    assert all(not torch.equal(start_w[k], resumed[k]) for k in start_w)
    # 3. an uninterrupted run, in this process on 1 rank (same global batch of 8 rows)
    from recipes import sft as sft_recipe

    saved = dict(os.environ)
    try:
        ref_dir = root / "ref_sft"
        assert sft_recipe.main(["--config", str(cfg), *over, f"train.sft.output_dir={ref_dir}"]) == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    ref = _weights(ref_dir / "final")
    for k in ref:
        torch.testing.assert_close(resumed[k], ref[k], atol=2e-5, rtol=1e-4)
    ref_losses = [h["loss"] for h in json.loads((ref_dir / "train_state.json").read_text())["history"]]
    assert ref_losses == pytest.approx([h["loss"] for h in state["history"]], rel=1e-4)
    # 4. the final model is a HF directory with the chat template; a rerun is skipped
    tok = AutoTokenizer.from_pretrained(sft / "final")
    assert "<|im_start|>assistant" in tok.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True)
    AutoModelForCausalLM.from_pretrained(sft / "final")
    assert lmt(["train", "sft", str(cfg), *over]) == 0
    assert "already finished" in capfd.readouterr().out
    # 5. more steps after a finished run (the demo's "make it bigger"): train on from the last checkpoint
    more = [o for o in over if "max_steps" not in o] + ["train.sft.max_steps=6"]
    assert lmt(["train", "sft", str(cfg), *more]) == 0
    out = capfd.readouterr()
    log = out.out + out.err
    assert "at step 4/6" in log and "[plan sft] step: 8 examples (global batch)" in log
    state = json.loads((sft / "train_state.json").read_text())
    assert state["complete"] and state["step"] == 6 and [h["step"] for h in state["history"]] == [1, 2, 3, 4, 5, 6]
    assert state["plan"]["per_step"] == 8 and state["plan"]["unit"] == "examples"
    longer = _weights(sft / "final")
    assert any(not torch.equal(longer[k], resumed[k]) for k in longer)
