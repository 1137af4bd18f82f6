"""`lmt score` and `lmt compare`: results, significance flags, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eval.compare import compare_runs, paired_bootstrap_segments
from lmt.cli import main as lmt_main
from tests.conftest import PARALLEL

REFS = PARALLEL["eng_Latn"]


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_score_prints_metrics_and_matches_sacrebleu(tmp_path, capsys):
    hyps = [r.replace("the ", "a ") for r in REFS[:-1]] + [""]
    h, r = _write(tmp_path / "h.txt", hyps), _write(tmp_path / "r.txt", REFS)
    assert lmt_main(["score", "--hyp", h, "--ref", r, "--lang-pair", "de-en", "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "chrf" in out and "empty hypotheses 1" in out
    res = json.loads((tmp_path / "s.json").read_text())
    # The blank line is scored as "#" (what the released code writes for empty outputs).
    h_hash = _write(tmp_path / "h_hash.txt", hyps[:-1] + ["#"])
    cli = subprocess.run(
        [sys.executable, "-m", "sacrebleu", r, "-i", h_hash, "-m", "chrf", "-b", "-w", "4", "-f", "text"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert res["metrics"]["chrf"]["score"] == pytest.approx(float(cli.stdout), abs=1e-4)
    assert res["direction"] == "deu_Latn-eng_Latn" and res["n_empty_hyps"] == 1


def test_score_bad_input(tmp_path, tiny_comet, capsys):
    h, r = _write(tmp_path / "h.txt", REFS[:3]), _write(tmp_path / "r.txt", REFS)
    assert lmt_main(["score", "--hyp", h, "--ref", r, "-l", "en-de"]) == 2
    err = capsys.readouterr().err
    assert f"{h} has 3 lines, {r} has 8" in err
    assert lmt_main(["score", "--hyp", r, "--ref", r, "-l", "en-qq"]) == 2
    assert "unknown language code 'qq'" in capsys.readouterr().err
    assert lmt_main(["score", "--hyp", r, "--ref", r, "-l", "en-de", "--comet", tiny_comet]) == 2
    assert "--comet needs --src" in capsys.readouterr().err
    assert lmt_main(["score", "--hyp", r, "--ref", r, "--src", r, "-l", "en-de", "--comet", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Unbabel/wmt22-comet-da" in err


def test_score_with_tiny_comet(tmp_path, tiny_comet, capsys):
    h, r = _write(tmp_path / "h.txt", REFS), _write(tmp_path / "r.txt", REFS)
    s = _write(tmp_path / "s.txt", REFS)
    assert lmt_main(["score", "--hyp", h, "--ref", r, "--src", s, "-l", "en-de", "--comet", tiny_comet, "--json", str(tmp_path / "o.json")]) == 0
    res = json.loads((tmp_path / "o.json").read_text())
    assert len(res["metrics"]["comet"]["segments"]) == 8 and res["metrics"]["chrf"]["score"] == 100.0
    capsys.readouterr()
    args = ["score", "--hyp", h, "--ref", r, "--src", s, "-l", "en-de", "--comet", tiny_comet, "--bootstrap", "40", "--off-target"]
    assert lmt_main(args + ["--json", str(tmp_path / "b.json")]) == 0
    res = json.loads((tmp_path / "b.json").read_text())
    assert res["metrics"]["comet"]["signature"].startswith(f"model:{tiny_comet}|sha256:")
    assert "ci95" in res["metrics"]["comet"] and res["metrics"]["comet"]["bootstrap"] == 40
    # English references scored as German: every segment is off-target.
    assert res["metrics"]["off_target"]["score"] == 100.0
    out = capsys.readouterr().out
    comet_line = next(line for line in out.splitlines() if line.startswith("comet"))
    assert "+/-" in comet_line and "sha256:" in comet_line


def _fake_run(root, hyps, comet_segments):
    """An eval directory as `lmt eval` writes it, for two directions."""
    from eval.metrics import sacrebleu_scores

    (root / "hyps").mkdir(parents=True)
    (root / "scores").mkdir()
    ref = _write(root / "ref.txt", REFS)
    for d, tgt, group in (("deu_Latn-eng_Latn", "eng_Latn", "x2en"), ("zho_Hans-eng_Latn", "eng_Latn", "x2en")):
        hyp = _write(root / "hyps" / f"{d}.txt", hyps)
        m = sacrebleu_scores(hyps, REFS, tgt)
        m["comet"] = {"model": "tiny", "score": 100 * sum(comet_segments) / 8, "segments": comet_segments}
        rec = {"direction": d, "src_lang": d.split("-")[0], "tgt_lang": tgt, "group": group, "tier": "high",
               "n_segments": 8, "n_empty_hyps": 0, "files": {"hyp": hyp, "ref": ref}, "metrics": m}  # fmt: skip
        (root / "scores" / f"{d}.json").write_text(json.dumps(rec), encoding="utf-8")
    return root


def test_compare_flags_significant_deltas(tmp_path, capsys):
    bad = ["x y z"] * 8
    a = _fake_run(tmp_path / "a" / "eval", bad, [0.1] * 8)
    b = _fake_run(tmp_path / "b" / "eval", REFS, [0.9, 0.8, 0.85, 0.9, 0.95, 0.8, 0.9, 0.88])
    res = compare_runs(tmp_path / "a", b, n_samples=200)
    row = res["directions"][0]
    assert row["chrf"]["delta"] > 50 and row["chrf"]["significant"] and row["chrf"]["p"] < 0.05
    assert row["comet"]["significant"] and row["comet"]["delta"] > 50
    x2en = next(g for g in res["groups"] if g["name"] == "x2en")
    assert x2en["chrf"]["better"] == 2 and x2en["chrf"]["worse"] == 0
    same = compare_runs(a, a, n_samples=200)
    assert not any(r[m]["significant"] for r in same["directions"] for m in same["metrics"])
    assert lmt_main(["compare", str(a), str(b), "--n-samples", "100", "--metrics", "chrf,bleu"]) == 0
    out = capsys.readouterr().out
    assert "deu_Latn-eng_Latn" in out and "*" in out and "x2en" in out
    assert lmt_main(["compare", str(a), str(tmp_path / "nothing")]) == 2
    assert "not an evaluation directory" in capsys.readouterr().err


def test_paired_bootstrap_segments():
    p_same, _ = paired_bootstrap_segments([0.5, 0.6, 0.7] * 10, [0.5, 0.6, 0.7] * 10, 200)
    p_diff, ci = paired_bootstrap_segments([0.1, 0.2, 0.15] * 10, [0.8, 0.9, 0.85] * 10, 200)
    assert p_same > 0.5 and p_diff < 0.01 and ci >= 0
