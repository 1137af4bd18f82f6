"""DeepSpeed config presets, strict parsing and "auto" filling."""

from __future__ import annotations

import json

import pytest

from lmt.errors import ConfigError, MissingResourceError
from lmt.training.ds_config import PRESETS, fill_auto, load_ds_config, resolve_ds_config
from lmt.training.stage import presets_dir

FILL = dict(
    micro_batch_size=2, grad_accum=4, world_size=2, learning_rate=2e-5, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0.01, gradient_clipping=1.0, hidden_size=64, dtype="float32",
)


@pytest.mark.parametrize("name", PRESETS)
def test_presets_fill_completely(name):
    ds = fill_auto(load_ds_config(resolve_ds_config(name, presets_dir())), **FILL)
    assert ds["train_batch_size"] == 16 and ds["gradient_accumulation_steps"] == 4
    assert ds["bf16"]["enabled"] is False  # fp32 on CPU / when asked
    assert ds["optimizer"]["params"]["lr"] == 2e-5
    assert ds["zero_optimization"]["stage"] == (1 if name == "zero1" else 2 if name == "zero2" else 3)
    assert "auto" not in json.dumps(ds)


def test_bad_json_names_file_and_line(tmp_path):
    p = tmp_path / "ds.json"
    p.write_text('{\n  "train_batch_size": "auto",\n  "zero_optimization": {"stage": 2,}\n}\n')
    with pytest.raises(ConfigError, match=r"ds\.json:3:.*not valid JSON"):
        load_ds_config(p)
    with pytest.raises(MissingResourceError, match="zero9"):
        resolve_ds_config("zero9", presets_dir())


def test_contradicting_batch_size_is_an_error():
    with pytest.raises(ConfigError, match="train_batch_size=99"):
        fill_auto({"train_batch_size": 99}, **FILL)
