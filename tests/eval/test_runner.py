"""`lmt eval` end to end on tiny assets: hyps, scores, reports, resume, PMP-O/PMP-S."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lmt.generation import HFEngine
from eval.runner import EvalRun, run_eval
from lmt.cli import main as lmt_main
from lmt.config import load_experiment
from lmt.errors import ConfigError, DataError, MissingResourceError


class Recorder:
    """Wrap an engine and record every pass (prompts) it is asked for."""

    def __init__(self, engine):
        self.inner, self.tokenizer, self.passes = engine, engine.tokenizer, []

    @property
    def calls(self):
        return len(self.passes)

    def generate(self, prompts, desc=""):
        self.passes.append(list(prompts))
        return self.inner.generate(prompts, desc)


@pytest.fixture(scope="module")
def engine(varied_model_dir):
    return HFEngine(varied_model_dir, num_beams=1, max_new_tokens=5, batch_size=4, do_sample=False)


def _section(model, flores_dir, **kw):
    base = {"model": model, "flores_dir": flores_dir, "num_beams": 1, "max_new_tokens": 5, "max_sentences": 3}
    return {**base, **kw}


def test_eval_writes_hyps_scores_reports_and_resumes(make_config, varied_model_dir, flores_dir, tiny_comet, engine, parallel_text):
    cfg_path = make_config(_section(varied_model_dir, flores_dir, directions=["en-ky", "zh-de", "de-en"], comet_model=tiny_comet))
    cfg = load_experiment(cfg_path)
    rec = Recorder(engine)
    out = run_eval(cfg, engine=rec)
    assert rec.calls == 3  # one pass per direction
    hyps = (out / "hyps" / "eng_Latn-kir_Cyrl.txt").read_text(encoding="utf-8").splitlines()
    assert len(hyps) == 3
    # The prompts were the released template over the FLORES source lines, in order.
    assert "English: " + parallel_text["eng_Latn"][0] + "\nKirghiz:" in rec.passes[0][0]
    score = json.loads((out / "scores" / "eng_Latn-kir_Cyrl.json").read_text(encoding="utf-8"))
    assert score["group"] == "en2x" and score["tier"] == "low" and score["n_segments"] == 3
    assert set(score["metrics"]) == {"chrf", "chrf++", "bleu", "comet", "off_target"}
    assert score["metrics"]["bleu"]["signature"].startswith("nrefs:1|") and "tok:13a" in score["metrics"]["bleu"]["signature"]
    assert len(score["metrics"]["comet"]["segments"]) == 3
    # COMET's signature, in sacrebleu's style: model, checkpoint checksum, batch size, GPUs, version.
    sig = score["metrics"]["comet"]["signature"]
    assert sig.startswith(f"model:{tiny_comet}|sha256:") and "|bs:16|gpus:0|version:2.2.7" in sig
    assert score["metrics"]["off_target"]["signature"].startswith("lid:lid.176.ftz|sha256:")
    assert len(score["metrics"]["off_target"]["segments"]) == 3
    assert score["files"]["hyp"] == "hyps/eng_Latn-kir_Cyrl.txt"  # relative to the eval directory
    assert Path(score["files"]["ref"]).is_absolute()
    zh = json.loads((out / "scores" / "zho_Hans-deu_Latn.json").read_text(encoding="utf-8"))
    assert zh["group"] == "zh2x"
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| group | en2x | 1 |" in md and "| group | zh2x | 1 |" in md and "| tier | low | 1 |" in md
    csv_lines = (out / "report.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0].startswith("level,name,group,tier,directions,comet,chrf,chrf++,bleu,off_target,empty_hyps")
    assert "off-target %" in md
    assert sum(1 for line in csv_lines if line.startswith("direction,")) == 3
    for m in ("comet", "chrf"):
        png = out / f"heatmap_{m}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Resume: finished directions are skipped; a deleted one is redone.
    (out / "hyps" / "deu_Latn-eng_Latn.txt").unlink()
    rec2 = Recorder(engine)
    run_eval(load_experiment(cfg_path), engine=rec2)
    assert rec2.calls == 1 and "German: " in rec2.passes[0][0]
    # Changing a generation setting without overwrite is refused (stale hyps).
    with pytest.raises(ConfigError, match="other settings.*max_new_tokens"):
        run_eval(load_experiment(cfg_path, ["eval.max_new_tokens=7"]), engine=Recorder(engine))
    # Retraining into the same model directory also invalidates the hypotheses.
    weights = next(Path(varied_model_dir).glob("*.safetensors"))
    stat = weights.stat()
    try:
        os.utime(weights, (stat.st_atime, stat.st_mtime + 100))
        with pytest.raises(ConfigError, match="other settings.*model_weights"):
            run_eval(load_experiment(cfg_path), engine=Recorder(engine))
    finally:
        os.utime(weights, (stat.st_atime, stat.st_mtime))
    rec3 = Recorder(engine)
    run_eval(load_experiment(cfg_path, ["eval.max_new_tokens=7", "eval.overwrite=true"]), engine=rec3)
    assert rec3.calls == 3


def test_pmp_self_makes_two_passes_and_oracle_uses_reference(make_config, varied_model_dir, flores_dir, engine, parallel_text):
    cfg = load_experiment(make_config(_section(varied_model_dir, flores_dir, directions=["en-ky"], prompt="pmp", pmp="self")))
    rec = Recorder(engine)
    out = run_eval(cfg, engine=rec)
    assert rec.calls == 2  # en->ru auxiliary first, then en->ky with it
    assert "Kirghiz" not in rec.passes[0][0] and "Translate this from English to Russian:" in rec.passes[0][0]
    aux = (out / "hyps" / "aux" / "eng_Latn-rus_Cyrl.txt").read_text(encoding="utf-8").splitlines()
    assert "Translate this from English to Russian and Kirghiz:" in rec.passes[1][0]
    assert f"Russian: {aux[0]}\nKirghiz:" in rec.passes[1][0]

    cfg_o = load_experiment(
        make_config(_section(varied_model_dir, flores_dir, directions=["en-ky", "zh-de"], prompt="pmp", pmp="oracle"), name="oracle")
    )
    rec_o = Recorder(engine)
    run_eval(cfg_o, engine=rec_o)
    assert rec_o.calls == 2
    assert f"Russian: {parallel_text['rus_Cyrl'][0]}\nKirghiz:" in rec_o.passes[0][0]
    # Zh<->X takes English as auxiliary: the English reference line.
    assert f"English: {parallel_text['eng_Latn'][0]}\nGerman:" in rec_o.passes[1][0]
    # En->de's auxiliary is Dutch, absent from this FLORES dir: skipped (named), or an error when strict.
    nl = _section(varied_model_dir, flores_dir, directions=["en-de", "en-ky"], prompt="pmp", pmp="oracle")
    run = EvalRun(load_experiment(make_config(nl, name="nl")))
    assert [str(d) for d in run.directions] == ["eng_Latn-kir_Cyrl"]
    assert run.skipped == {"eng_Latn-deu_Latn": "no FLORES devtest file for nld_Latn"}
    with pytest.raises(MissingResourceError, match="nld_Latn"):
        EvalRun(load_experiment(make_config({**nl, "strict": True}, name="nl_strict")))


def test_bad_inputs(make_config, varied_model_dir, flores_dir, tmp_path):
    with pytest.raises(MissingResourceError, match="eval.flores_dir is not set"):
        EvalRun(load_experiment(make_config({"model": varied_model_dir})))
    with pytest.raises(MissingResourceError, match=r"no file for jpn_Jpan: expected"):
        EvalRun(load_experiment(make_config(_section(varied_model_dir, flores_dir, directions=["en-ja"], strict=True))))
    with pytest.raises(MissingResourceError, match=r"has none of the directions' languages jpn_Jpan"):
        EvalRun(load_experiment(make_config(_section(varied_model_dir, flores_dir, directions=["en-ja"]))))
    with pytest.raises(Exception, match="unknown language code 'xx'"):
        EvalRun(load_experiment(make_config(_section(varied_model_dir, flores_dir, directions=["en-xx"]))))
    with pytest.raises(ConfigError, match="needs a prompt template with a PMP form"):
        EvalRun(load_experiment(make_config(_section(varied_model_dir, flores_dir, directions=["en-ky"], pmp="self"))))
    with pytest.raises(ConfigError, match="comet_model is unset"):
        EvalRun(load_experiment(make_config(_section(varied_model_dir, flores_dir, directions=["en-ky"], metrics=["comet"]))))
    with pytest.raises(ConfigError, match="eval.metric"):
        load_experiment(make_config(_section(varied_model_dir, flores_dir, metrics=["meteor"])))
    run = EvalRun(load_experiment(make_config(_section(str(tmp_path / "no_model"), flores_dir, directions=["en-ky"], comet_model=str(tmp_path / "no_comet")))))
    with pytest.raises(MissingResourceError, match="COMET model .* does not exist.*wmt22-comet-da"):
        run.comet
    bad = tmp_path / "hyps.txt"
    bad.write_text("a\n", encoding="utf-8")
    run.hyp_path = lambda d: bad  # a hypothesis file of the wrong length
    with pytest.raises(DataError, match=r"hyps.txt has 1 lines but 3 are expected \(the first 3 lines of the reference .*kir_Cyrl.devtest\)"):
        run.score(run.directions[0])
    # A second evaluation of the same run directory is refused, naming the holder.
    from lmt.runlock import RunLockedError, run_lock

    with run_lock(run.out, "lmt eval other.yaml"), pytest.raises(RunLockedError, match=r"pid \d+ .*\(lmt eval other.yaml\)"):
        run.run()


def test_lmt_eval_command_on_the_tiny_model(make_config, tiny_model_dir, flores_dir, capsys):
    path = make_config(_section(tiny_model_dir, flores_dir, directions=["zh-en"], max_sentences=2, max_new_tokens=3))
    assert lmt_main(["eval", path, "eval.batch_size=2"]) == 0
    out = Path(load_experiment(path).stage_dir("eval"))
    score = json.loads((out / "scores" / "zho_Hans-eng_Latn.json").read_text(encoding="utf-8"))
    # The shared tiny model only emits newlines: both hypotheses are "#", counted as empty.
    assert score["n_empty_hyps"] == 2 and (out / "hyps" / "zho_Hans-eng_Latn.txt").read_text() == "#\n#\n"
    assert "| all | all | 1 |" in (out / "report.md").read_text(encoding="utf-8")
    hyp = out / "hyps" / "zho_Hans-eng_Latn.txt"
    hyp.write_text("stale\nstale\n", encoding="utf-8")
    assert lmt_main(["eval", "--overwrite", path, "eval.batch_size=1"]) == 0  # flag before the overrides
    assert hyp.read_text() == "#\n#\n"
    assert lmt_main(["eval", path, "eval.split=dev"]) == 2  # no dev files: clean error, exit 2
    assert "has no 'dev' files" in capsys.readouterr().err


def test_missing_flores_language_is_skipped_and_reported(make_config, varied_model_dir, flores_dir, engine, caplog):
    cfg = load_experiment(make_config(_section(varied_model_dir, flores_dir, directions=["en-ky", "en-mvf", "mvf-zh", "ja-zh"])))
    rec = Recorder(engine)
    with caplog.at_level("WARNING", logger="lmt.eval"):
        out = run_eval(cfg, engine=rec)
    assert rec.calls == 1
    warned = caplog.text
    assert "no file for mvf_Mong (Inner Mongolian)" in warned and "flores_mvf" in warned and "eval.extra_flores_dirs" in warned
    assert "no file for jpn_Jpan (Japanese)" in warned and "eval.strict=true" in warned
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Skipped directions" in md
    assert "- eng_Latn-mvf_Mong: no FLORES devtest file for mvf_Mong" in md and "- jpn_Jpan-zho_Hans:" in md
    skipped_rows = [line for line in (out / "report.csv").read_text(encoding="utf-8").splitlines() if line.startswith("skipped,")]
    assert len(skipped_rows) == 3 and skipped_rows[0].endswith("no FLORES devtest file for mvf_Mong")


def test_comet_that_cannot_load_stops_before_translating(make_config, varied_model_dir, flores_dir, engine, tmp_path):
    cfg = load_experiment(make_config(_section(varied_model_dir, flores_dir, directions=["en-ky"], comet_model=str(tmp_path / "no_comet"))))
    rec = Recorder(engine)
    with pytest.raises(MissingResourceError, match=r"nothing was translated.*local copy.*eval.comet_model=null"):
        run_eval(cfg, engine=rec)
    assert rec.calls == 0 and not (Path(cfg.stage_dir("eval")) / "hyps").exists()


def test_bootstrap_intervals_for_every_metric_in_the_reports(make_config, varied_model_dir, flores_dir, tiny_comet, engine):
    cfg_path = make_config(_section(varied_model_dir, flores_dir, directions=["en-ky", "de-en"], comet_model=tiny_comet, bootstrap=50))
    out = run_eval(load_experiment(cfg_path), engine=engine)
    score = json.loads((out / "scores" / "eng_Latn-kir_Cyrl.json").read_text(encoding="utf-8"))
    for m in ("comet", "chrf", "chrf++", "bleu", "off_target"):
        assert "ci95" in score["metrics"][m] and "bootstrap_mean" in score["metrics"][m], m
    md = (out / "report.md").read_text(encoding="utf-8")
    row = next(line for line in md.splitlines() if line.startswith("| eng_Latn-kir_Cyrl |"))
    assert row.count(" +/- ") == 5 and "50 resamples" in md
    header = (out / "report.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert {"comet_ci95", "chrf_ci95", "chrf++_ci95", "bleu_ci95", "off_target_ci95"} <= set(header)
    # The interval follows the setting without re-running COMET (same hypotheses, same model).
    before = score["metrics"]["comet"]["segments"]
    run = EvalRun(load_experiment(cfg_path, ["eval.bootstrap=0"]), engine=engine, comet_model=object())
    again = run.score(run.directions[0])["metrics"]["comet"]
    assert again["segments"] == before and "ci95" not in again


def test_compare_from_a_third_directory_reads_each_runs_own_hypotheses(make_config, varied_model_dir, flores_dir, engine, tmp_path, monkeypatch, capsys):
    import eval.compare as compare_mod

    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir(), elsewhere.mkdir()
    monkeypatch.chdir(work)
    for name, tokens in (("a", 2), ("b", 5)):
        section = _section(varied_model_dir, flores_dir, directions=["en-ky", "de-en"], output_dir=f"{name}/eval", max_new_tokens=tokens)
        run_eval(load_experiment(make_config(section, name=name)), engine=HFEngine(varied_model_dir, num_beams=1, max_new_tokens=tokens))
    monkeypatch.chdir(elsewhere)
    read = []
    real_read = compare_mod._read
    monkeypatch.setattr(compare_mod, "_read", lambda p: read.append(Path(p)) or real_read(p))
    assert lmt_main(["compare", "../work/a", "../work/b", "--metrics", "chrf,off_target", "--n-samples", "50"]) == 0
    text = capsys.readouterr().out
    assert "off-target %" in text and "eng_Latn-kir_Cyrl" in text
    hyps = [p for p in read if "hyps" in p.parts]
    assert sorted(p.resolve() for p in hyps) == sorted(
        (work / r / "eval" / "hyps" / f"{d}.txt").resolve() for r in ("a", "b") for d in ("deu_Latn-eng_Latn", "eng_Latn-kir_Cyrl")
    )
