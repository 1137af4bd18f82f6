"""``prep.keep_scores`` + ``lmt prep --refilter``: new thresholds decided from stored scores.

The re-decided output must equal a full run with the new thresholds, while
neither the raw corpora nor the language-ID model are touched.
"""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest

from data_prep.cli import prep_main
from data_prep.pipeline import run_prep
from data_prep.pipeline.refilter import refilter_prep
from lmt.errors import ConfigError
from lmt.io import read_json
from tests.data_prep.conftest import write_moses
from tests.data_prep.test_pipeline import make_cfg

NOISY = [
    ("The committee approved the new budget on Monday.", "Der Ausschuss hat am Montag den neuen Haushalt genehmigt."),
    ("Yes.", "Ja, das ist wirklich so und nicht anders gemeint."),
    ("This English sentence has a German partner.", "This line is English although it should be German text."),
    ("We meet at 9 o'clock.", "Wir treffen uns um 10 Uhr."),
    ("The weather is nice today.", "Das Wetter ist heute schön."),
    ("He left.", "Er ist gestern Abend nach einem langen Tag gegangen."),
]


@pytest.fixture
def raw(tmp_path, parallel_text):
    raw = tmp_path / "raw"
    en = parallel_text["eng_Latn"]
    for code, opus in (("deu_Latn", "de"), ("zho_Hans", "zh"), ("kir_Cyrl", "ky")):
        write_moses(raw, "toy", "en", opus, en, parallel_text[code])
    write_moses(raw, "noisy", "en", "de", [a for a, _ in NOISY], [b for _, b in NOISY])
    return raw


def _prep(raw, **extra):
    return {"corpora": [{"path": str(raw)}], "keep_scores": True, "downsample": {"ratio": 0.5}, "shard_size": 7, **extra}


def _tables(out):
    return {str(p.relative_to(out)): pq.read_table(p).to_pylist() for p in sorted((out / "parallel").rglob("*.parquet"))}


def _comparable(man):
    return {k: v for k, v in man.items() if k not in ("timings_s", "command", "config", "versions")}


STRICT = {
    "defaults": {"length": {}, "length_ratio": {"max_ratio": 2.0}, "src_equals_tgt": {}, "control_chars": {}, "min_letters": {},
                 "script": {}, "numbers": {"ignore_one_sided": False}, "lid": {"threshold": 0.9}},
    "per_language": {"kir_Cyrl": {"lid": {"threshold": 0.6}}},
}
LOOSE = {"defaults": {**STRICT["defaults"], "length_ratio": {"max_ratio": 3.0}, "numbers": {}, "lid": {}}}


def test_refilter_equals_a_full_run_without_raw_data_or_lid(tmp_path, raw, monkeypatch):
    first = make_cfg(tmp_path / "a", _prep(raw, filters=LOOSE, output_dir=str(tmp_path / "out")))
    loose = run_prep(first)
    loose_tables = _tables(tmp_path / "out")
    reference_cfg = make_cfg(tmp_path / "ref", _prep(raw, filters=STRICT))
    reference = run_prep(reference_cfg)
    assert loose["counts"]["drops"] != reference["counts"]["drops"]  # the thresholds matter here
    stored = pq.read_table(tmp_path / "out" / "scores" / "c0000-00000.parquet").to_pylist()
    assert {"lid_src_label", "lid_tgt_prob", "length_ratio", "script_tgt"} <= set(stored[0])

    # Re-decide with the strict thresholds: no raw corpus, no language-ID model.
    shutil.rmtree(raw)
    from lmt.lid import identifier

    def no_lid(*args, **kwargs):
        raise AssertionError("language ID was run")

    monkeypatch.setattr(identifier.LanguageIdentifier, "top1", no_lid)
    monkeypatch.setattr(identifier, "load_fasttext", no_lid)
    again = make_cfg(tmp_path / "a", _prep(tmp_path / "raw", filters=STRICT, output_dir=str(tmp_path / "out")))
    man = refilter_prep(again)
    assert _comparable(man) == _comparable(reference)
    assert _tables(tmp_path / "out") == _tables(reference_cfg.stage_dir("prep"))
    # And back to the loose thresholds, through the command line.
    assert prep_main([str(tmp_path / "a" / "t.yaml"), "--refilter", f"prep.filters={LOOSE}".replace("'", '"')]) == 0
    assert _tables(tmp_path / "out") == loose_tables
    assert _comparable(read_json(tmp_path / "out" / "manifest.json")) == _comparable(loose)


def test_refilter_refuses_what_it_cannot_redo(tmp_path, raw):
    plain = make_cfg(tmp_path / "p", {"corpora": [{"path": str(raw)}]})
    run_prep(plain)
    with pytest.raises(ConfigError, match="no stored scores"):
        refilter_prep(make_cfg(tmp_path / "p", {"corpora": [{"path": str(raw)}], "keep_scores": True}))
    cfg = make_cfg(tmp_path / "s", _prep(raw, filters=LOOSE))
    run_prep(cfg)
    with pytest.raises(ConfigError, match="other prep settings differ"):
        refilter_prep(make_cfg(tmp_path / "s", _prep(raw, filters=LOOSE, languages=["en", "de"])))
