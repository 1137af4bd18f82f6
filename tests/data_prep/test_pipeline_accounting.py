"""Every pair read is accounted for once; the output directory has one writer;
a failed run that wrote nothing leaves no debris that needs --overwrite."""

from __future__ import annotations

import gzip
import json
import logging
import os

import pytest

from data_prep.pipeline import run_prep
from lmt.errors import ConfigError, DataError
from lmt.runlock import LOCK_NAME, RunLockedError, run_lock
from tests.data_prep.conftest import align_bytes, write_moses, write_xces
from tests.data_prep.test_pipeline import make_cfg, records


def test_every_pair_read_ends_in_one_bucket(tmp_path, parallel_text):
    raw = tmp_path / "raw"
    en, de, fr = parallel_text["eng_Latn"], parallel_text["deu_Latn"], parallel_text["fra_Latn"]
    write_moses(raw, "toy", "en", "de", en + [en[0], "", "Short."], de + [de[0], "Leer.", "Ein viel zu langer deutscher Satz für dieses kurze Wort hier."])
    write_moses(raw, "toy", "de", "fr", de, fr)  # De-Fr: no wanted direction uses it
    # An empty XCES alignment in the same folder (OPUS ships some): skipped, counted, the rest goes on.
    (raw / "Empty").mkdir()
    with gzip.open(raw / "Empty" / "en-fr.xml.gz", "wb") as f:
        f.write(align_bytes([]))
    cfg = make_cfg(tmp_path, {"corpora": [{"path": str(raw / "toy.en-de")}, {"path": str(raw / "toy.de-fr")},
                                          {"path": str(raw / "Empty")}],
                              "directions": ["en2x", "x2en"]})
    man = run_prep(cfg)
    c = man["counts"]
    reader = sum(v for k, v in c["drops"].items() if k.startswith("read:"))
    others = sum(v for k, v in c["drops"].items() if not k.startswith("read:"))
    assert c["out_of_scope"] == 8 and reader == 1  # all De-Fr pairs; the empty line
    assert c["read"] == 18 and c["read"] == c["after_dedup"] + c["out_of_scope"] + others
    assert c["warnings"] == {"empty_alignment": 1}
    assert "dedup:exact" in c["drops"] and "length_ratio:too_high" in c["drops"]
    # Corpora listed one by one carry the names and languages their readers found.
    assert [(x["name"], x["src_lang"], x["tgt_lang"], x["languages"]) for x in man["corpora"]] == [
        ("toy", "eng_Latn", "deu_Latn", ["eng_Latn-deu_Latn"]),
        ("toy", "deu_Latn", "fra_Latn", ["deu_Latn-fra_Latn"]),
        ("Empty", None, None, []),  # an empty alignment: no pair read, no languages
    ]
    # prep.strict turns the empty alignment into an error.
    strict = make_cfg(tmp_path / "strict", {"corpora": [{"path": str(raw / "Empty")}], "strict": True})
    with pytest.raises(DataError, match=r"en-fr\.xml\.gz is empty .*prep.strict"):
        run_prep(strict)


def test_xces_groups_of_other_pairs_reach_their_own_directions(tmp_path):
    docs = {"sv/a.xml.gz": {"1": "Katten sover på fönsterbrädan."}, "de/a.xml.gz": {"1": "Die Katze schläft auf der Fensterbank."},
            "en/a.xml.gz": {"1": "The cat sleeps on the windowsill."}}
    groups = [("sv/a.xml.gz", "en/a.xml.gz", ["1;1"]), ("de/a.xml.gz", "en/a.xml.gz", ["1;1"])]
    align = write_xces(tmp_path / "raw", "en", "sv", docs, groups, zipped=False)
    cfg = make_cfg(tmp_path, {"corpora": [{"path": str(align)}], "filters": {"defaults": {"length": {}}}, "downsample": {"ratio": 1.0}})
    man = run_prep(cfg)
    out = cfg.stage_dir("prep")
    assert [r["tgt"] for r in records(out, "eng_Latn-swe_Latn")] == ["Katten sover på fönsterbrädan."]
    assert [r["tgt"] for r in records(out, "eng_Latn-deu_Latn")] == ["Die Katze schläft auf der Fensterbank."]
    # The sv-en group follows the file name (en-sv); the de-en group keeps its own order.
    assert man["corpora"][0]["languages"] == ["deu_Latn-eng_Latn", "eng_Latn-swe_Latn"]


def test_second_run_on_one_output_dir_is_refused_and_dead_locks_taken_over(tmp_path, parallel_text, caplog):
    raw = tmp_path / "raw"
    write_moses(raw, "toy", "en", "de", parallel_text["eng_Latn"], parallel_text["deu_Latn"])
    cfg = make_cfg(tmp_path, {"corpora": [{"path": str(raw)}], "filters": {"defaults": {"length": {}}}})
    out = cfg.stage_dir("prep")
    with run_lock(out, "lmt prep other.yaml"):
        with pytest.raises(RunLockedError, match=rf"in use by another run: pid {os.getpid()} on host \S+ since \d{{4}}-.* \(lmt prep other.yaml\)"):
            run_prep(cfg)
    # A holder killed without releasing: its details stay, the lock does not.
    (out / LOCK_NAME).write_text(json.dumps({"pid": 999999, "host": "node7", "started": 0, "command": "lmt prep x"}))
    with caplog.at_level(logging.WARNING, logger="lmt.runlock"):
        assert run_prep(cfg)["counts"]["read"] == 8
    assert "taking over the lock left by a run that ended without releasing it: pid 999999 on host node7" in caplog.text
    assert (out / LOCK_NAME).read_text() == ""  # released


def test_failed_run_without_output_needs_no_overwrite(tmp_path, parallel_text):
    raw = tmp_path / "raw"
    en, de = parallel_text["eng_Latn"], parallel_text["deu_Latn"]
    write_moses(raw, "bad", "en", "de", en, de[:5])
    cfg = make_cfg(tmp_path, {"corpora": [{"path": str(raw)}], "filters": {"defaults": {"length": {}}}})
    with pytest.raises(DataError, match="misaligned"):
        run_prep(cfg)
    write_moses(raw, "bad", "en", "de", en, de)  # the user fixes the file
    assert run_prep(cfg)["counts"]["read"] == 8
    # Once output exists, a changed input still needs --overwrite.
    write_moses(raw, "bad", "en", "de", en[:7], de[:7])
    with pytest.raises(ConfigError, match="--overwrite"):
        run_prep(cfg)


def test_bad_language_code_and_missing_side_name_file_and_key(tmp_path, parallel_text):
    raw = tmp_path / "raw"
    write_moses(raw, "toy", "en", "de", parallel_text["eng_Latn"], parallel_text["deu_Latn"])
    cfg = make_cfg(tmp_path, {"corpora": [{"path": str(raw / "toy.en-de"), "tgt_lang": "deutsch"}]})
    with pytest.raises(ConfigError, match=rf"{tmp_path / 't.yaml'}: prep.corpora.0.tgt_lang: .*deutsch"):
        run_prep(cfg)
    cfg = make_cfg(tmp_path, {"corpora": [{"path": str(raw), "src_path": "toy.en-de.en", "tgt_path": "toy.en-de.dee",
                                           "src_lang": "en", "tgt_lang": "de"}]})
    with pytest.raises(Exception, match=r"tgt_path: 'toy\.en-de\.dee' does not exist"):
        run_prep(cfg)
