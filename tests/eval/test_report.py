"""Report aggregation (exact means per group/tier) and the example configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.report import aggregate, render_csv, render_markdown
from lmt.config import load_experiment


def _row(d, group, tier, chrf, empty=0):
    src, tgt = d.split("-")
    return {"direction": d, "src_lang": src, "tgt_lang": tgt, "group": group, "tier": tier, "n_empty_hyps": empty,
            "metrics": {"chrf": {"score": chrf, "signature": "s"}}}  # fmt: skip


def test_aggregate_by_group_and_tier():
    rows = [
        _row("eng_Latn-kir_Cyrl", "en2x", "low", 30.0, 2),
        _row("eng_Latn-deu_Latn", "en2x", "high", 60.0),
        _row("kir_Cyrl-eng_Latn", "x2en", "low", 40.0, 1),
        _row("zho_Hans-kir_Cyrl", "zh2x", "low", 20.0),
    ]
    agg = {(a["level"], a["name"]): a for a in aggregate(rows)}
    assert agg[("all", "all")]["chrf"] == 37.5 and agg[("all", "all")]["empty_hyps"] == 3
    assert agg[("group", "en2x")]["chrf"] == 45.0 and agg[("group", "en2x")]["directions"] == 2
    assert agg[("tier", "low")]["chrf"] == 30.0 and agg[("tier", "high")]["chrf"] == 60.0
    assert agg[("group x tier", "en2x/low")]["chrf"] == 30.0
    assert ("group", "x2zh") not in agg
    csv_text = render_csv(rows)
    assert "group,en2x,en2x,,2,45.0,2," in csv_text and "direction,zho_Hans-kir_Cyrl,zh2x,low,1,20.0,0," in csv_text


def test_intervals_off_target_and_skipped_in_both_reports():
    rows = [_row("eng_Latn-kir_Cyrl", "en2x", "low", 30.0), _row("kir_Cyrl-eng_Latn", "x2en", "low", 40.0)]
    rows[0]["metrics"]["chrf"].update(ci95=1.234, bootstrap=100)
    rows[0]["metrics"]["off_target"] = {"score": 12.5, "ci95": 3.5, "bootstrap": 100, "signature": "lid:x"}
    rows[1]["metrics"]["off_target"] = {"score": 2.5, "signature": "lid:x"}
    skipped = {"eng_Latn-mvf_Mong": "no FLORES devtest file for mvf_Mong"}
    md = render_markdown(rows, skipped=skipped)
    assert "| direction | group | tier | chrf | off-target % | empty hyps |" in md
    assert "| eng_Latn-kir_Cyrl | en2x | low | 30.00 +/- 1.23 | 12.50 +/- 3.50 | 0 |" in md
    assert "| kir_Cyrl-eng_Latn | x2en | low | 40.00 | 2.50 | 0 |" in md
    assert "| all | all | 2 | 35.00 | 7.50 | 0 |" in md
    assert "- eng_Latn-mvf_Mong: no FLORES devtest file for mvf_Mong" in md and "- `off_target: lid:x`" in md
    lines = render_csv(rows, skipped).splitlines()
    assert lines[0] == "level,name,group,tier,directions,chrf,chrf_ci95,off_target,off_target_ci95,empty_hyps,note"
    assert lines[1] == "direction,eng_Latn-kir_Cyrl,en2x,low,1,30.0,1.234,12.5,3.5,0,"
    assert lines[-1] == "skipped,eng_Latn-mvf_Mong,,,0,,,,,,no FLORES devtest file for mvf_Mong"


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[2].joinpath("eval", "configs").glob("*.yaml")))
def test_example_configs_load_and_name_their_command(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(f"# lmt eval eval/configs/{path.name}")
    cfg = load_experiment(path)
    assert cfg.eval is not None and cfg.eval.num_beams == 5
    # Every shipped config evaluates Qwen3-based models: COMET-22 (the paper's metric) by default.
    assert cfg.eval.comet_model == "Unbabel/wmt22-comet-da"
    assert "eval.comet_model=null" in path.read_text(encoding="utf-8")
