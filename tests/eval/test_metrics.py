"""Metrics equal the sacrebleu command line's; BLEU tokeniser per script; no downloads."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eval.metrics import bleu_tokenizer, sacrebleu_scores

HYPS_EN = [
    "The cat sleeps on a warm window sill.",
    "We meet tomorrow morning at the station.",
    "Scientists found a new frog species in the rain forest.",
    "#",
]
REFS_EN = [
    "The cat sleeps on the warm windowsill.",
    "We will meet at the station tomorrow morning.",
    "Scientists discovered a new species of frog in the rainforest.",
    "The museum opens at nine o'clock every day.",
]
HYPS_ZH = ["猫在温暖的窗台睡觉。", "我们明天早上车站见。", "科学家发现了新青蛙。"]
REFS_ZH = ["猫在温暖的窗台上睡觉。", "我们明天早上在车站见面。", "科学家在雨林中发现了一种新的青蛙。"]


def _cli(tmp_path, hyps, refs, args):
    h, r = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    h.write_text("\n".join(hyps) + "\n", encoding="utf-8")
    r.write_text("\n".join(refs) + "\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "sacrebleu", str(r), "-i", str(h), "-b", "-w", "4", "-f", "text", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [float(x) for x in out.stdout.split()]


@pytest.mark.parametrize("tgt,hyps,refs,tok", [("eng_Latn", HYPS_EN, REFS_EN, "13a"), ("zho_Hans", HYPS_ZH, REFS_ZH, "zh")])
def test_scores_equal_sacrebleu_command_line(tmp_path, tgt, hyps, refs, tok):
    ours = sacrebleu_scores(hyps, refs, tgt)
    cli = _cli(tmp_path, hyps, refs, ["-m", "bleu", "chrf", "--tokenize", tok])
    cli_pp = _cli(tmp_path, hyps, refs, ["-m", "chrf", "--chrf-word-order", "2"])
    assert ours["bleu"]["score"] == pytest.approx(cli[0], abs=1e-4)
    assert ours["chrf"]["score"] == pytest.approx(cli[1], abs=1e-4)
    assert ours["chrf++"]["score"] == pytest.approx(cli_pp[0], abs=1e-4)
    assert f"tok:{tok}" in ours["bleu"]["signature"]
    assert "nw:2" in ours["chrf++"]["signature"] and "nw:0" in ours["chrf"]["signature"]
    assert 0 < ours["chrf"]["score"] < 100


def test_bleu_tokenizer_by_script():
    assert bleu_tokenizer("zho_Hans") == "zh"
    assert bleu_tokenizer("yue_Hant") == "zh"
    assert bleu_tokenizer("tha_Thai") == "char"
    assert bleu_tokenizer("khm_Khmr") == "char" and bleu_tokenizer("mya_Mymr") == "char"
    assert bleu_tokenizer("jpn_Jpan") in ("ja-mecab", "char")
    assert bleu_tokenizer("kir_Cyrl") == "13a"
    assert bleu_tokenizer("kir_Cyrl", "intl") == "intl"
    assert bleu_tokenizer("kir_Cyrl", flores_spm="/x.model") == "flores200"


def test_local_flores_spm_is_used_without_download(tmp_path, monkeypatch):
    import sentencepiece as spm

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(REFS_EN * 5), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(tmp_path / "m"), vocab_size=40, minloglevel=2)
    import sacrebleu.utils

    def no_download(*a, **k):
        raise AssertionError("sacrebleu tried to download")

    monkeypatch.setattr(sacrebleu.utils, "download_file", no_download)
    res = sacrebleu_scores(HYPS_EN, REFS_EN, "eng_Latn", ["bleu"], flores_spm=str(tmp_path / "m.model"))
    assert "tok:flores200" in res["bleu"]["signature"] and res["bleu"]["spm_sha256"]
    plain = sacrebleu_scores(HYPS_EN, REFS_EN, "eng_Latn", ["bleu"])
    assert res["bleu"]["score"] != plain["bleu"]["score"]


def test_bootstrap_interval():
    res = sacrebleu_scores(HYPS_EN * 5, REFS_EN * 5, "eng_Latn", ["chrf"], bootstrap=200)
    assert res["chrf"]["ci95"] > 0 and "bs:200" in res["chrf"]["signature"]


def test_comet_bootstrap_resamples_as_sacrebleu():
    """Segment-mean bootstrap == sacrebleu's resampling of an additive statistic."""
    import numpy as np
    from sacrebleu.significance import _bootstrap_resample, estimate_ci

    from eval.metrics import add_bootstrap, bootstrap_ci

    segs = [0.91, 0.42, 0.77, 0.65, 0.88, 0.12, 0.55, 0.7]

    class _Mean:  # sacrebleu's resampler sums per-segment stats, then asks the metric
        def _compute_score_from_stats(self, stats):
            return 100 * stats[0] / stats[1]

    _, scores = _bootstrap_resample([[s, 1] for s in segs], _Mean(), 300)
    want_mean, want_ci = estimate_ci(np.array(scores, dtype=np.float64))
    mean, ci = bootstrap_ci(segs, 300, scale=100)
    assert mean == pytest.approx(want_mean, rel=1e-5) and ci == pytest.approx(want_ci, rel=1e-5) and ci > 0
    res = add_bootstrap({"score": 62.5, "segments": segs}, 300)
    assert res["ci95"] == round(ci, 4) and res["bootstrap"] == 300
    assert "ci95" not in add_bootstrap(res, 0)


def test_comet_signature_names_model_checksum_batch_and_gpus(tiny_comet):
    from pathlib import Path

    from eval.metrics import comet_signature, file_sha256

    sig = comet_signature(tiny_comet, 32, 0)
    ckpt = Path(tiny_comet)  # the fixture gives the .ckpt inside the checkpoint directory
    assert ckpt.suffix == ".ckpt"
    assert sig == f"model:{tiny_comet}|sha256:{file_sha256(ckpt)}|bs:32|gpus:0|version:2.2.7"
    import hashlib

    assert file_sha256(ckpt) == hashlib.sha256(ckpt.read_bytes()).hexdigest()[:16]
