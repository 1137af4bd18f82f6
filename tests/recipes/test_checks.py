"""Bad input fails before any training: `lmt train` checks and recipe preflight."""

from __future__ import annotations

import json
import shutil

import pytest

from lmt.config import load_experiment
from lmt.errors import ConfigError, DataError, MissingResourceError
from lmt.training.stage import preflight
from tests.recipes.prepdata import write_prep_output


@pytest.fixture()
def run(tmp_path, parallel_text, tiny_model_dir):
    write_prep_output(tmp_path / "run" / "data" / "prep", parallel_text)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        f"name: t\nrun_dir: {tmp_path / 'run'}\ntrain:\n  model: {{path: {tiny_model_dir}}}\n"
        "  sft: {max_length: 256}\n  cpt: {max_length: 256, enabled: false}\n"
    )
    return tmp_path, cfg


def test_good_config_passes(run):
    tmp, cfg = run
    paths = preflight(load_experiment(cfg), "sft")
    assert paths.data_dir == tmp / "run" / "data" / "prep"
    assert paths.ds_config.name == "zero2.json"
    assert paths.out_dir == tmp / "run" / "checkpoints" / "sft"


def test_missing_and_empty_prep_output(run):
    tmp, cfg = run
    shutil.rmtree(tmp / "run" / "data" / "prep" / "parallel")
    with pytest.raises(DataError, match="no parallel Parquet shards"):
        preflight(load_experiment(cfg), "sft")
    shutil.rmtree(tmp / "run" / "data")
    with pytest.raises(MissingResourceError, match="write it with `lmt prep` on a config with a prep: section"):
        preflight(load_experiment(cfg), "sft")


def test_model_path_missing(run):
    tmp, cfg = run
    with pytest.raises(MissingResourceError, match="nope.*does not exist"):
        preflight(load_experiment(cfg, [f"train.model.path={tmp}/nope"]), "sft")
    # SFT after an enabled CPT stage that has not run
    with pytest.raises(MissingResourceError, match="run `lmt train cpt .*exp.yaml` first"):
        preflight(load_experiment(cfg, ["train.cpt.enabled=true"]), "sft")


def test_bad_deepspeed_json(run):
    tmp, cfg = run
    bad = tmp / "ds.json"
    bad.write_text('{"zero_optimization": {"stage": 2}\n"x": 1}')
    with pytest.raises(ConfigError, match=r"ds\.json:2:.*not valid JSON"):
        preflight(load_experiment(cfg, [f"train.sft.deepspeed={bad}"]), "sft")


def test_sequence_longer_than_model(run):
    tmp, cfg = run
    with pytest.raises(ConfigError, match="max_length=4096 exceeds the model's max_position_embeddings=1024"):
        preflight(load_experiment(cfg, ["train.sft.max_length=4096"]), "sft")


def test_bad_aux_map_and_template(run):
    tmp, cfg = run
    amap = tmp / "aux.yaml"
    amap.write_text("en_centred:\n  kir_Cyrl: kir_Cyrl\n")
    with pytest.raises(ConfigError, match="its own auxiliary"):
        load_experiment(cfg, [f"aux_map={amap}"])
    amap.write_text("en_centred:\n  kir_Cyrl: xxx_Zzzz\n")
    with pytest.raises(ConfigError, match="xxx_Zzzz"):
        load_experiment(cfg, [f"aux_map={amap}"])
    with pytest.raises(ConfigError, match="unknown prompt template 'fancy'"):
        preflight(load_experiment(cfg, ["train.sft.template=fancy"]), "sft")


def test_unknown_key_is_an_error(run):
    tmp, cfg = run
    with pytest.raises(ConfigError, match="train.sft.learning_rat"):
        load_experiment(cfg, ["train.sft.learning_rat=1"])


def test_launcher_fails_before_starting_deepspeed(run, capsys):
    """`lmt train sft` reports the bad input and never prints a launcher command."""
    from lmt.cli import main

    tmp, cfg = run
    status = main(["train", "sft", str(cfg), "train.sft.max_length=4096"])
    err = capsys.readouterr()
    assert status == 2 and "exceeds the model's max_position_embeddings" in err.err
    assert "deepspeed" not in err.out
    status = main(["train", "sft", str(cfg), "--dry-run"])
    out = capsys.readouterr().out
    assert status == 0 and "--num_gpus 1" in out and "recipes/sft.py --config" in out
    assert json.dumps(str(cfg))[1:-1] in out


@pytest.mark.parametrize("name", ["qwen3_0.6b", "qwen3_1.7b", "qwen3_4b", "qwen3_8b", "tiny_cpu"])
def test_shipped_configs_load_with_paper_hyperparameters(name):
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "recipes" / "configs" / f"{name}.yaml"
    assert path.read_text().startswith("# lmt train ")
    cfg = load_experiment(path)
    cpt, sft = cfg.train.cpt, cfg.train.sft
    if name.startswith("qwen3"):
        assert cfg.train.model.path.startswith("Qwen/Qwen3-") and cfg.train.model.trust_remote_code is False
        # steps follow from the data: 1 epoch (the paper's 40,000 CPT / 500 SFT steps are one epoch of its data)
        assert (cpt.learning_rate, cpt.warmup_ratio, cpt.weight_decay, cpt.global_batch_size, cpt.max_length, cpt.epochs, cpt.max_steps) == (
            2e-5, 0.05, 0.01, 1536, 2048, 1, None)
        assert (sft.learning_rate, sft.warmup_ratio, sft.global_batch_size, sft.max_length, sft.epochs, sft.max_steps) == (
            2e-5, 0.01, 1024, 1024, 1, None)
        assert tuple(cpt.adam_betas) == (0.9, 0.999) and cpt.lr_scheduler == sft.lr_scheduler == "cosine"
        assert (sft.pmp.forward_share, sft.pmp.reverse_share) == (0.5, 0.5)
        assert (cpt.mix.monolingual, cpt.mix.zh_centric, cpt.mix.en_centric) == (1, 1, 1)
        # the global batch divides over 8 and 16 GPUs
        for gpus in (8, 16):  # the CPT global batch (rows) divides over 8 and 16 GPUs
            assert cpt.global_batch_size % (cpt.micro_batch_size * gpus) == 0
    else:
        assert cfg.train.model.path is None and cfg.train.launcher.num_gpus == 2


def test_second_training_run_on_one_stage_dir_is_refused(run, capsys, monkeypatch):
    """Two `lmt train sft` on one checkpoint dir: the second gets one line naming the holder."""
    import subprocess

    from lmt.cli import main
    from lmt.runlock import run_lock

    tmp, cfg = run
    monkeypatch.setattr(subprocess, "call", lambda *a, **k: pytest.fail("the launcher must not start"))
    with run_lock(tmp / "run" / "checkpoints" / "sft", "lmt train sft other.yaml"):
        assert main(["train", "sft", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "is in use by another run: pid" in err and "(lmt train sft other.yaml)" in err and "Traceback" not in err
