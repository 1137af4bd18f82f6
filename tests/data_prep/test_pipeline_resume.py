"""Resume: a prep run killed with SIGKILL mid-way resumes to the same output.

The kill is deterministic: a custom filter (loaded by dotted path, as users
load theirs) SIGKILLs its own process when it meets a marker sentence while
``LMT_TEST_KILL=1`` is set. The rerun (same config, variable unset) must skip
the finished shards and produce exactly the records of an uninterrupted run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from data_prep.filters import Filter
from lmt.io import read_json
from tests.data_prep.conftest import write_moses
from tests.data_prep.test_pipeline import synthetic

ROOT = Path(__file__).resolve().parents[2]
MARKER = "Sentence KILL is about the river."


class KillSwitch(Filter):
    """Keeps every pair; kills the process on the marker when LMT_TEST_KILL=1."""

    def __init__(self, marker: str = MARKER):
        self.marker = marker

    def score(self, pairs):
        if os.environ.get("LMT_TEST_KILL") == "1" and any(self.marker in (p["src"], p["tgt"]) for p in pairs):
            os.kill(os.getpid(), signal.SIGKILL)
        return [0.0] * len(pairs)

    def accept(self, score):
        return True


def _outputs(out: Path) -> dict[str, list[dict]]:
    return {
        str(p.relative_to(out)): pq.read_table(p).to_pylist()
        for p in sorted((out / "parallel").rglob("*.parquet"))
    }


def _prep(config: Path, *args: str, kill: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LMT_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    env.pop("LMT_TEST_KILL", None)
    if kill:
        env["LMT_TEST_KILL"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "lmt.cli", "prep", str(config), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def test_killed_run_resumes_to_identical_output(tmp_path):
    raw = tmp_path / "raw"
    en, de = synthetic(600, seed=3)
    en[430] = MARKER  # in shard 8 of 12 (shard_size 50)
    write_moses(raw, "synth", "en", "de", en, de)
    write_moses(raw, "synth", "en", "zh", en[::2], [f"句子{i}关于河流和城市。" for i in range(300)])
    prep = {
        "corpora": [{"path": str(raw)}],
        "shard_size": 50,
        "buckets": 3,
        "downsample": {"ratio": 0.3},
        "filters": {"defaults": {"length": {}, "src_equals_tgt": {}, "tests.data_prep.test_pipeline_resume:KillSwitch": {}}},
    }
    config = tmp_path / "exp.yaml"
    config.write_text(yaml.safe_dump({"name": "killed", "run_dir": str(tmp_path / "killed"), "prep": prep}), encoding="utf-8")
    out = tmp_path / "killed" / "data" / "prep"

    first = _prep(config, kill=True)
    assert first.returncode == -signal.SIGKILL, first.stderr
    done = sorted(p.name for p in (out / "_work" / "filter").glob("*.done.json"))
    assert done and "c0000-00008.done.json" not in done  # killed in the middle of shard 8 of corpus 0
    assert not (out / "manifest.json").exists()

    resumed = _prep(config)
    assert resumed.returncode == 0, resumed.stderr
    clean = _prep(config, "run_dir=" + str(tmp_path / "clean"))
    assert clean.returncode == 0, clean.stderr
    clean_out = tmp_path / "clean" / "data" / "prep"

    got, want = _outputs(out), _outputs(clean_out)
    assert got == want and sum(map(len, want.values())) > 600
    assert read_json(out / "manifest.json")["counts"] == read_json(clean_out / "manifest.json")["counts"]
    assert "zho_Hans-deu_Latn" in read_json(out / "manifest.json")["directions"]

    # --overwrite redoes the finished output (same records again).
    redo = _prep(config, "--overwrite", "--num-workers", "2")
    assert redo.returncode == 0, redo.stderr
    assert _outputs(out) == want
