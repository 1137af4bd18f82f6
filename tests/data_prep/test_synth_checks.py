"""Synthesis pieces without a model: degenerate-output checks, inputs, the shard plan."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.synth.degenerate import DegenerateCheck, has_loop
from data_prep.synth.inputs import resolve_input
from data_prep.synth.runner import default_corpus
from data_prep.synth.shards import chunks
from lmt.config.synth import DegenerateConfig, SynthInput
from lmt.errors import DataError


def test_has_loop_finds_repeated_ngrams_only():
    assert has_loop("la la la la".split(), 4, 6)
    assert not has_loop("la la la".split(), 4, 6)
    assert has_loop("the cat the cat the cat the cat".split(), 4, 6)
    assert not has_loop("the cat the cat the cat the dog".split(), 4, 6)
    assert has_loop(list("a b c d e f g a b c d e f g a b c d e f g a b c d e f g".replace(" ", "")), 4, 7)
    assert not has_loop(list("abcdefgabcdefgabcdefgabcdefg"), 4, 6)  # period 7 > max_ngram
    assert not has_loop("Die Katze schläft auf der warmen Fensterbank .".split(), 2, 6)


@pytest.mark.parametrize(
    "tgt, src, out, reason",
    [
        ("deu_Latn", "The cat sleeps.", "Die Katze schläft.", None),
        ("deu_Latn", "The cat sleeps.", "", "empty"),
        ("deu_Latn", "The cat sleeps.", "#", "empty"),  # the engines' blank marker
        ("deu_Latn", "The cat sleeps.", "Katze Katze Katze Katze", "repeated_ngram"),
        ("deu_Latn", "The cat sleeps.", "the cat sleeps", "copy"),
        ("rus_Cyrl", "The cat sleeps.", "Die Katze schläft.", "wrong_script"),
        ("rus_Cyrl", "The cat sleeps on the sill.", "Кошка спит на DVD-плеере.", None),  # mostly Cyrillic
        ("zho_Hans", "Good good.", "好好好好", "repeated_ngram"),  # characters for spaceless scripts
        ("zho_Hans", "The cat sleeps.", "猫在睡觉。", None),
        ("zho_Hans", "The cat sleeps.", "Кошка спит.", "wrong_script"),
    ],
)
def test_degenerate_reasons(tgt, src, out, reason):
    assert DegenerateCheck(DegenerateConfig(), tgt).reasons([src], [out]) == [reason]


def test_copies_kept_when_asked():
    check = DegenerateCheck(DegenerateConfig(drop_copies=False), "deu_Latn")
    assert check.reasons(["Berlin"], ["Berlin"]) == [None]


def test_inputs_text_gz_parquet_and_errors(tmp_path):
    import gzip

    (tmp_path / "a.txt.gz").write_bytes(gzip.compress("One.\n\n  Two.  \n".encode()))
    inp = resolve_input(0, SynthInput(path=str(tmp_path / "a.txt.gz"), lang="en"), "k")
    assert (inp.lang, inp.sentences, list(inp.read())) == ("eng_Latn", 2, [(1, "One."), (3, "Two.")])
    pq.write_table(pa.table({"text": ["Eins.", None, "Zwei\nDrei."]}), tmp_path / "b.parquet")
    inp = resolve_input(1, SynthInput(path=str(tmp_path / "b.parquet"), lang="de"), "k")
    assert list(inp.read()) == [(1, "Eins."), (3, "Zwei Drei.")]  # no newline may reach a Moses line
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "c.parquet")
    with pytest.raises(DataError, match=r"c\.parquet: column 'text' is int64, not text"):
        resolve_input(2, SynthInput(path=str(tmp_path / "c.parquet"), lang="de"), "k")
    (tmp_path / "d.txt.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"d\.txt\.gz: cannot read"):
        resolve_input(3, SynthInput(path=str(tmp_path / "d.txt.gz"), lang="de"), "k")


def test_shard_plan_and_corpus_names():
    assert chunks(5, 2) == [(0, 0, 2), (1, 2, 2), (2, 4, 1)]
    assert chunks(0, 2) == []
    assert default_corpus("NiuTrans/LMT-60-4B") == "synth_LMT-60-4B"
    assert default_corpus("Qwen/Qwen3-0.6B") == "synth_Qwen3-0-6B"
    assert default_corpus("runs/x/checkpoints/sft/final") == "synth_sft-final"


def test_shipped_lmt60_config_loads(tmp_path, monkeypatch):
    from pathlib import Path

    from lmt.config import load_experiment
    from lmt.pipeline import planned_stages

    monkeypatch.setenv("LMT_MONO_DIR", str(tmp_path))
    monkeypatch.setenv("LMT_OPUS_DIR", str(tmp_path))
    path = Path(__file__).resolve().parents[2] / "data_prep" / "synth" / "lmt60.yaml"
    assert "lmt run data_prep/synth/lmt60.yaml" in path.read_text(encoding="utf-8").splitlines()[0]
    cfg = load_experiment(path)
    assert planned_stages(cfg) == ["synth", "prep"]
    assert cfg.prep.corpora[1].path == str(cfg.stage_dir("synth"))
