"""`lmt train ... --dry-run`: the plan in the paper's terms, no heavy work, every path checked; resume rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lmt.cli import main as lmt
from tests.recipes.prepdata import write_prep_output

QWEN = Path(__file__).resolve().parents[2] / "recipes" / "configs" / "qwen3_0.6b.yaml"


@pytest.fixture(scope="module")
def prep(tmp_path_factory, parallel_text):
    """A prep output of 3,072 pairs (8 directions x 384) with monolingual text."""
    return write_prep_output(tmp_path_factory.mktemp("plan") / "prep", parallel_text, repeat=48)


def _plan(capsys, *argv) -> str:
    assert lmt(["train", *argv, "--dry-run"]) == 0
    return capsys.readouterr().out


def test_sft_plan_of_the_shipped_config_is_one_epoch_of_1024_examples(prep, tmp_path, tiny_tokenizer_dir, capsys):
    """The paper's SFT from the Qwen3 config: no weights needed (the tokenizer comes from train.model.tokenizer)."""
    out = _plan(
        capsys, "sft", str(QWEN), f"train.sft.data_dir={prep}", f"run_dir={tmp_path / 'run'}", f"train.model.tokenizer={tiny_tokenizer_dir}",
    )
    assert "[plan sft] data: 3,072 examples" in out
    assert "[plan sft] step: 1,024 examples (global batch)" in out
    assert "[plan sft] steps: 3 (epochs=1: 3,072 examples drawn from 3,072 = 1.00 epoch(s))" in out
    assert "8 rank(s) x 8 row(s)" in out and f"tokenizer of {tiny_tokenizer_dir}" in out
    shares = dict(re.findall(r"prompts (\w+): [\d,]+ records, PMP ([\d.]+)%", out))
    assert set(shares) == {"en2x", "zh2x", "x2en", "x2zh"}
    assert 35 < float(shares["zh2x"]) < 65  # every Zh->X record has its English auxiliary: about half PMP
    # eng->deu/fra have no auxiliary sentence, eng->zho no auxiliary language: En->X falls under 40%, and says why
    assert "WARNING: PMP share of en2x" in out and "no_aux_sentence" in out
    assert "recipes/sft.py --config" in out
    assert not (tmp_path / "run").exists()  # nothing built, nothing written


def test_sft_plan_without_tokenizer_estimates_and_says_so(prep, tmp_path, capsys):
    out = _plan(capsys, "sft", str(QWEN), f"train.sft.data_dir={prep}", f"run_dir={tmp_path / 'run'}")
    assert "no tokenizer available" in out and "~1 per 3 UTF-8 bytes" in out
    assert "[plan sft] step: 1,024 examples" in out


def test_max_steps_and_epochs_that_disagree_are_reported(prep, tmp_path, tiny_tokenizer_dir, capsys):
    out = _plan(
        capsys, "sft", str(QWEN), f"train.sft.data_dir={prep}", f"run_dir={tmp_path / 'run'}",
        f"train.model.tokenizer={tiny_tokenizer_dir}", "train.sft.max_steps=500",
    )
    assert "steps: 500 (max_steps: 512,000 examples drawn from 3,072 = 166.67 epoch(s))" in out
    assert "WARNING: max_steps=500 and epochs=1 disagree" in out


def test_cpt_plan_mixes_one_one_one_in_tokens(prep, tmp_path, tiny_tokenizer_dir, capsys):
    out = _plan(
        capsys, "cpt", str(QWEN), f"train.cpt.data_dir={prep}", f"run_dir={tmp_path / 'run'}", f"train.model.tokenizer={tiny_tokenizer_dir}",
    )
    shares = {k: float(v) for k, v in re.findall(r"(monolingual|zh_centric|en_centric) ([\d.]+)%", out)}
    assert set(shares) == {"monolingual", "zh_centric", "en_centric"}
    assert all(abs(v - 100 / 3) < 100 / 3 * 0.05 for v in shares.values()), shares
    assert "step: 1,536 sequences x 2,048 tokens = 3.15M tokens (global batch)" in out


def test_dry_run_checks_the_hostfile_and_builds_nothing_for_init(prep, tmp_path, capsys):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(f"name: t\nrun_dir: {tmp_path / 'run'}\ntrain:\n  cpt: {{data_dir: {prep}}}\n  sft: {{data_dir: {prep}}}\n")
    status = lmt(["train", "sft", str(cfg), "train.launcher.hostfile=nohosts", "--dry-run"])
    assert status == 2 and "hostfile 'nohosts' does not exist" in capsys.readouterr().err
    out = _plan(capsys, "init", str(cfg))
    assert "[plan init] SentencePiece tokenizer" in out and "tiny Qwen3 model" in out
    assert not (tmp_path / "run" / "model_init").exists()
    # the model `lmt train init` will build is not there yet: a dry run of SFT says what it can
    out = _plan(capsys, "sft", str(cfg), "train.cpt.enabled=false")
    assert "[plan sft] step: 1,024 examples" in out and "no tokenizer available" in out
    (tmp_path / "hosts").write_text("node1 slots=8\nnode2 slots=8\n")
    out = _plan(capsys, "sft", str(cfg), "train.cpt.enabled=false", f"train.launcher.hostfile={tmp_path / 'hosts'}")
    assert "2 rank(s) x 1 row(s)" in out and "--hostfile" in out


def test_fewer_steps_than_trained_are_refused_and_overwrite_starts_over(prep, tmp_path, tiny_model_dir, capsys):
    from lmt.training.checkpoint import LATEST, check_resumable, clear_stage

    out_dir = tmp_path / "run" / "checkpoints" / "sft"
    (out_dir / "checkpoints").mkdir(parents=True)
    (out_dir / "checkpoints" / LATEST).write_text("step0000800")
    (out_dir / "final").mkdir()
    assert check_resumable(out_dir, 1200, "sft") == 800  # more steps: train on from 800
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(f"name: t\nrun_dir: {tmp_path / 'run'}\ntrain:\n  model: {{path: {tiny_model_dir}}}\n  sft: {{data_dir: {prep}, max_length: 256}}\n")
    status = lmt(["train", "sft", str(cfg), "train.sft.max_steps=400"])
    err = capsys.readouterr().err
    assert status == 2 and "has trained 800 steps, more than the 400" in err and "--overwrite" in err
    assert (out_dir / "final").is_dir()  # nothing touched
    assert clear_stage(out_dir) and not out_dir.exists() and not clear_stage(out_dir)
