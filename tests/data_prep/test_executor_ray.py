"""``prep.executor: ray`` on a local Ray instance: same output as the local pool.

One small Ray instance (2 CPUs, no dashboard) serves the whole module. The
retry test uses a filter (loaded by dotted path in the Ray workers) that kills
its worker process the first time it runs, as a lost worker would.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_prep.filters import Filter
from data_prep.pipeline import run_prep
from tests.data_prep.conftest import write_moses
from tests.data_prep.test_pipeline import make_cfg, synthetic

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # read at import; workers share this venv under `uv run` too
ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[2]


class DieOnce(Filter):
    """Keeps every pair; the first call anywhere kills its process (marker file)."""

    def __init__(self, marker: str):
        self.marker = marker

    def score(self, pairs):
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return [0.0] * len(pairs)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os._exit(1)

    def accept(self, score):
        return True


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    # Workers import this module by its dotted path (the DieOnce filter).
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # workers share this venv, also under `uv run`
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, parallel_text):
    """En-De (synthetic, 300 pairs), En-Zh and En-Ru sharing the English side."""
    raw = tmp_path_factory.mktemp("raw")
    en, de = synthetic(120, seed=5)
    write_moses(raw, "synth", "en", "de", en, de)
    write_moses(raw, "toy", "en", "zh", parallel_text["eng_Latn"], parallel_text["zho_Hans"])
    write_moses(raw, "toy", "en", "ru", parallel_text["eng_Latn"], parallel_text["rus_Cyrl"])
    return raw


def _prep(tmp_path: Path, raw: Path, name: str, **extra) -> tuple[dict, Path]:
    prep = {"corpora": [{"path": str(raw)}], "shard_size": 40, "buckets": 3, "downsample": {"ratio": 0.3},
            "filters": {"defaults": {"length": {}, "lid": {}}}, **extra}
    cfg = make_cfg(tmp_path / name, prep)
    return run_prep(cfg), cfg.stage_dir("prep")


def sorted_rows_hash(out: Path) -> str:
    """Hash of every output record (with its file's direction), order-insensitive."""
    rows = []
    for p in sorted((out / "parallel").rglob("*.parquet")):
        rows += [json.dumps({"dir": p.parent.name, **r}, sort_keys=True, ensure_ascii=False) for r in pq.read_table(p).to_pylist()]
    assert rows
    return hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, corpora):
    """Local executor, 1 worker: the reference output."""
    return _prep(tmp_path_factory.mktemp("ref"), corpora, "local1", num_workers=1)


def test_local_pool_and_ray_give_identical_output(tmp_path, corpora, reference):
    ref_manifest, ref_out = reference
    expected = sorted_rows_hash(ref_out)
    local2, local2_out = _prep(tmp_path, corpora, "local2", num_workers=2)
    on_ray, ray_out = _prep(tmp_path, corpora, "ray", num_workers=2, executor="ray")
    assert sorted_rows_hash(local2_out) == expected
    assert sorted_rows_hash(ray_out) == expected
    for manifest in (local2, on_ray):
        assert manifest["counts"] == ref_manifest["counts"] and manifest["directions"] == ref_manifest["directions"]
    # The Ray run used this module's instance and left it running.
    assert ray.is_initialized()


def test_a_killed_worker_is_retried_and_the_output_is_identical(tmp_path, corpora, reference):
    marker = tmp_path / "died"
    ref_manifest, ref_out = reference
    die = {"tests.data_prep.test_executor_ray:DieOnce": {"marker": str(marker)}}
    manifest, out = _prep(tmp_path, corpora, "ray", executor="ray", ray={"max_retries": 2},
                          filters={"defaults": {"length": {}, "lid": {}, **die}})
    assert marker.is_file() and int(marker.read_text()) != os.getpid()  # a Ray worker died, once
    assert sorted_rows_hash(out) == sorted_rows_hash(ref_out)
    assert manifest["counts"] == ref_manifest["counts"]


def test_a_units_error_is_raised_as_itself(tmp_path, parallel_text):
    from lmt.errors import DataError

    raw = tmp_path / "raw"
    write_moses(raw, "bad", "en", "de", parallel_text["eng_Latn"], parallel_text["deu_Latn"][:-1])  # misaligned
    write_moses(raw, "ok", "en", "ru", parallel_text["eng_Latn"], parallel_text["rus_Cyrl"])
    with pytest.raises(DataError, match="misaligned") as err:
        _prep(tmp_path, raw, "bad", executor="ray")
    assert type(err.value) is DataError  # the worker's error itself, not Ray's wrapper
