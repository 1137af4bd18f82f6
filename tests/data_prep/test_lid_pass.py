"""Language ID once per unique sentence: same bytes out, fewer model calls.

Real lid.176 on corpora that share their English side (En-De, En-Zh, En-Ky,
En-Ru over the same sentences, plus noise the filters drop), run with the pass
off and on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from data_prep.pipeline import run_prep
from lmt.lid import model as lid_model
from tests.data_prep.conftest import write_moses
from tests.data_prep.test_pipeline import make_cfg


@pytest.fixture
def shared_english(tmp_path, parallel_text):
    """Four corpora over one English side; returns (folder, the pairs of all)."""
    raw = tmp_path / "raw"
    en = parallel_text["eng_Latn"] + ["Das ist kein Englisch, sondern Deutsch.", "   ", "THE RIVER FLOWS THROUGH THE OLD CITY."]
    pairs = []
    for code, opus in (("deu_Latn", "de"), ("zho_Hans", "zh"), ("kir_Cyrl", "ky"), ("rus_Cyrl", "ru")):
        other = parallel_text[code] + [parallel_text[code][0] + " " + parallel_text[code][1], "x", parallel_text[code][2]]
        write_moses(raw, "toy", "en", opus, en, other)
        pairs += list(zip(en, other))
    return raw, pairs


class CountingModel:
    """The real fastText model, counting the texts it is asked about."""

    def __init__(self, model):
        self.model, self.calls = model, 0
        self.f = self

    def predict(self, *args):
        self.calls += 1
        return self.model.f.predict(*args)


def _run(tmp_path: Path, raw: Path, lid_pass: str, monkeypatch) -> tuple[dict, int, Path]:
    path = lid_model.default_model_path()
    counting = CountingModel(lid_model.load_fasttext(str(path)))
    monkeypatch.setitem(lid_model._MODELS, str(path), counting)
    prep = {"corpora": [{"path": str(raw)}], "filters": {"defaults": {"length": {}, "lid": {}}}, "shard_size": 3,
            "buckets": 3, "keep_scores": True, "write_dropped": True, "downsample": {"ratio": 0.5}, "lid_pass": lid_pass}
    cfg = make_cfg(tmp_path / lid_pass, prep)
    manifest = run_prep(cfg)
    return manifest, counting.calls, cfg.stage_dir("prep")


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}


def test_lid_pass_gives_the_same_bytes_with_one_call_per_unique_sentence(tmp_path, shared_english, monkeypatch):
    raw, pairs = shared_english
    off, calls_off, out_off = _run(tmp_path, raw, "off", monkeypatch)
    on, calls_on, out_on = _run(tmp_path, raw, "on", monkeypatch)
    files = _files(out_off)
    assert files and any(f.startswith("dropped/") for f in files)
    assert _files(out_on) == files  # records, score columns, dropped pairs with reasons: bit for bit
    for key in ("counts", "directions", "notes", "config_hash"):
        assert on.get(key) == off.get(key), key
    assert off["counts"]["drops"]["lid:src_wrong_lang"] and off["counts"]["drops"]["read:empty"] == 4
    # Off: both sides of every pair read; on: each distinct text once.
    read = [p for p in pairs if p[0].strip() and p[1].strip()]
    assert calls_off == 2 * len(read) == 80
    assert calls_on == len({t for p in read for t in p}) == 46
