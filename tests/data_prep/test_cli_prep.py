"""``lmt prep`` and ``lmt stats`` through the ``lmt`` command (in-process)."""

from __future__ import annotations

import json

import yaml

from lmt.cli import main
from tests.data_prep.conftest import write_moses

RULES_ONLY = {"length": {}, "length_ratio": {"max_ratio": 3.0}, "src_equals_tgt": {}}


def _config(tmp_path, prep: dict):
    path = tmp_path / "exp.yaml"
    data = {"name": "cli", "run_dir": str(tmp_path / "run"), "prep": prep}
    path.write_text("# lmt prep exp.yaml\n" + yaml.safe_dump(data), encoding="utf-8")
    return path


def test_prep_then_stats(tmp_path, capsys, parallel_text):
    raw = tmp_path / "raw"
    en = parallel_text["eng_Latn"]
    write_moses(raw, "toy", "en", "de", en + [en[0]], parallel_text["deu_Latn"] + [parallel_text["deu_Latn"][0]])
    write_moses(raw, "toy", "en", "ky", en, parallel_text["kir_Cyrl"])
    write_moses(raw, "toy", "en", "ru", en, parallel_text["rus_Cyrl"])
    cfg = _config(tmp_path, {"corpora": [{"path": str(raw)}], "filters": {"defaults": RULES_ONLY}})
    assert main(["prep", str(cfg), "--num-workers", "1", "prep.downsample.per_direction={ky-en: 1.0}"]) == 0
    out = capsys.readouterr().out
    assert "read 25 pairs (0 out of scope); 25 passed the filters, 24 after dedup" in out
    out_dir = tmp_path / "run" / "data" / "prep"

    assert main(["stats", str(out_dir)]) == 0
    text = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]] for line in text.splitlines() if line.count("│") > 8}
    # direction: group, before, after, kept, aux share, pivot, avg src, avg tgt
    assert rows["eng_Latn-kir_Cyrl"][:6] == ["en2x", "8", "8", "100.0%", "100.0%", "0"]  # aux = Russian
    assert rows["kir_Cyrl-eng_Latn"][:4] == ["x2en", "8", "8", "100.0%"]  # per-direction override
    assert rows["eng_Latn-deu_Latn"][:5] == ["en2x", "8", "8", "100.0%", "0.0%"]
    assert "dedup:exact" in text

    assert main(["stats", str(out_dir), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    ky = next(r for r in card["directions"] if r["direction"] == "eng_Latn-kir_Cyrl")
    assert ky["aux_share"] == 1.0 and ky["avg_src_chars"] == sum(map(len, en)) / 8
    assert card["drops"] == {"dedup:exact": 1}


def test_cli_errors_exit_2_with_clear_messages(tmp_path, capsys, parallel_text):
    raw = tmp_path / "raw"
    write_moses(raw, "bad", "en", "de", parallel_text["eng_Latn"], parallel_text["deu_Latn"][:6])
    cfg = _config(tmp_path, {"corpora": [{"path": str(raw)}]})
    assert main(["prep", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "lmt prep: error:" in err and "bad.en-de" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "data" / "prep" / "parallel").exists()

    assert main(["prep", str(cfg), "prep.dedup.exactly=true"]) == 2
    assert "prep.dedup.exactly: unknown key" in capsys.readouterr().err

    assert main(["prep", str(cfg), "prep.downsample.per_direction={xx-en: 0.1}"]) == 2
    assert "per_direction" in capsys.readouterr().err

    assert main(["prep", str(cfg), "prep.filters.defaults={lid: {treshold: 0.5}}"]) == 2
    assert "prep.filters.defaults.lid.treshold" in capsys.readouterr().err

    good = tmp_path / "good"
    write_moses(good, "ok", "en", "de", parallel_text["eng_Latn"], parallel_text["deu_Latn"])
    cfg2 = _config(tmp_path, {"corpora": [{"path": str(good)}], "filters": {"defaults": {"lid": {"model_path": str(tmp_path / "no-lid.bin")}}}})
    assert main(["prep", str(cfg2)]) == 2
    assert "no-lid.bin" in capsys.readouterr().err
    assert not (tmp_path / "run" / "data" / "prep" / "parallel").exists()

    assert main(["stats", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_prep_without_inputs_is_a_config_error(tmp_path, capsys):
    cfg = _config(tmp_path, {"downsample": {"ratio": 0.1}})
    assert main(["prep", str(cfg)]) == 2
    assert "prep has no input" in capsys.readouterr().err


def test_example_configs_load(tmp_path, monkeypatch):
    """The shipped YAMLs validate and start with the command that runs them (not run: real data)."""
    from pathlib import Path

    from lmt.config import load_experiment

    monkeypatch.setenv("LMT_OPUS_DIR", str(tmp_path))
    folder = Path(__file__).resolve().parents[2] / "data_prep" / "configs"
    names = sorted(p.name for p in folder.glob("*.yaml"))
    assert names == ["lmt60.yaml", "small.yaml"]
    for name in names:
        path = folder / name
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# ") and f"lmt prep data_prep/configs/{name}" in first
        cfg = load_experiment(path)
        assert cfg.prep is not None and cfg.prep.downsample.ratio == 0.05
    lmt60 = load_experiment(folder / "lmt60.yaml")
    assert len(lmt60.prep.languages) == 60 and lmt60.prep.corpora[0].path == str(tmp_path)
    assert lmt60.prep.filters.defaults["length_ratio"] == {"max_ratio": 3.0}
