"""`lmt demo` end to end at an even smaller setting: every artifact exists and
the score table is sane (finite scores, every direction present)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from lmt.config import load_experiment
from lmt.languages import parse_directions
from lmt.pipeline import demo_config_path

pytestmark = pytest.mark.slow

SMALL = [
    "train.tokenizer.vocab_size=1200",
    "train.tiny.hidden_size=32",
    "train.tiny.intermediate_size=64",
    "train.cpt.max_steps=2",
    "train.cpt.save_steps=2",
    "train.sft.max_steps=3",
    "train.sft.save_steps=3",
    "train.grpo.max_steps=2",
    "train.grpo.save_steps=2",
    "train.grpo.max_prompts=16",
    "eval.max_sentences=3",
    "eval.max_new_tokens=6",
]


def test_demo_runs_every_stage(tmp_path):
    run_dir = tmp_path / "demo"
    env = dict(os.environ, LMT_PROGRESS="0")
    proc = subprocess.run(
        [sys.executable, "-m", "lmt.cli", "demo", f"run_dir={run_dir}", *SMALL],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout

    cfg = load_experiment(demo_config_path(), [f"run_dir={run_dir}", *SMALL])
    directions = parse_directions(cfg.eval.directions)
    assert len(directions) == 18

    # data: manifest, parallel shards per direction, monolingual text, drops counted
    manifest = json.loads((run_dir / "data/prep/manifest.json").read_text())
    assert (run_dir / "data/prep/parallel").is_dir() and (run_dir / "data/prep/mono").is_dir()
    assert "lid:src_wrong_lang" in json.dumps(manifest) and "dedup" in json.dumps(manifest)
    # model init, CPT and SFT checkpoints in Hugging Face format
    for stage in ("checkpoints/cpt/final", "checkpoints/sft/final", "checkpoints/grpo/final"):
        final = run_dir / stage
        assert (final / "config.json").is_file() and list(final.glob("*.safetensors")), stage
        assert (final / "tokenizer.json").is_file()
    # hypotheses and finite scores for every direction
    for d in directions:
        hyps = (run_dir / "eval/hyps" / f"{d.src}-{d.tgt}.txt").read_text(encoding="utf-8").splitlines()
        assert len(hyps) == 3
        scores = json.loads((run_dir / "eval/scores" / f"{d.src}-{d.tgt}.json").read_text())
        flat = json.dumps(scores)
        for metric in ("chrf", "chrf++", "bleu"):
            assert metric in flat
    report = (run_dir / "eval/report.md").read_text(encoding="utf-8")
    for d in directions:
        assert f"{d.src}-{d.tgt}" in report
    assert (run_dir / "eval/report.csv").is_file()
    # the GRPO model is evaluated next to the SFT model's evaluation
    assert (run_dir / "eval_grpo/report.md").is_file() and len(list((run_dir / "eval_grpo/scores").glob("*.json"))) == 18
    assert list((run_dir / "eval").glob("heatmap_*.png"))
    import csv

    rows = list(csv.DictReader((run_dir / "eval/report.csv").open(encoding="utf-8")))
    values = [float(v) for r in rows for k, v in r.items() if k in ("chrf", "chrf++", "bleu") and v not in ("", None)]
    assert values and all(math.isfinite(v) for v in values)
    # the demo ends with the score table and where everything was written
    assert "| direction |" in out or "| level |" in out
    assert f"Everything was written under {run_dir}" in out
    # the README's "make it bigger" after a demo: SFT trains on from its last checkpoint; GRPO and
    # the evaluations start over from the new SFT model
    bigger = [o for o in SMALL if not o.startswith("train.sft.max_steps")] + ["train.sft.max_steps=5"]
    proc = subprocess.run(
        [sys.executable, "-m", "lmt.cli", "demo", f"run_dir={run_dir}", *bigger], capture_output=True, text=True, timeout=900, env=env
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "at step 3/5" in proc.stdout + proc.stderr
    for stage in ("grpo", "eval", "eval_grpo"):
        assert f"sft was trained in this run: {stage} starts over" in proc.stdout
    state = json.loads((run_dir / "checkpoints/sft/train_state.json").read_text())
    assert state["complete"] and state["step"] == 5
    # fewer steps than trained: refused, nothing rewritten
    fewer = [o for o in SMALL if not o.startswith("train.sft.max_steps")] + ["train.sft.max_steps=2"]
    proc = subprocess.run(
        [sys.executable, "-m", "lmt.cli", "demo", f"run_dir={run_dir}", *fewer], capture_output=True, text=True, timeout=900, env=env
    )
    assert proc.returncode != 0 and "has trained 5 steps, more than the 2" in proc.stderr and "--overwrite" in proc.stderr
    assert json.loads((run_dir / "checkpoints/sft/train_state.json").read_text()) == state
