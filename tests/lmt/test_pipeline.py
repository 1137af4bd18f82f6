import pytest

from lmt.config import load_experiment
from lmt.errors import ConfigError
from lmt.pipeline import demo_config_path, planned_stages, run_experiment


def test_demo_config_plans_every_stage():
    cfg = load_experiment(demo_config_path())
    assert planned_stages(cfg) == ["prep", "init", "cpt", "sft", "eval"]


def test_disabled_and_absent_sections_are_skipped():
    cfg = load_experiment(demo_config_path(), ["prep.enabled=false", "train.cpt.enabled=false", "eval.enabled=false"])
    assert planned_stages(cfg) == ["init", "sft"]


def test_config_without_stages_is_an_error(tmp_path):
    p = tmp_path / "empty.yaml"
    p.write_text("name: nothing\n")
    with pytest.raises(ConfigError, match="no stage"):
        run_experiment(str(p))
    with pytest.raises(ConfigError, match="unknown stage"):
        run_experiment(str(demo_config_path()), stages=["bake"])


def test_selection_runs_after_cpt_and_not_inside_prep():
    from lmt.pipeline import _stage_argv

    cfg = load_experiment(demo_config_path(), ["select.method=miwv"])
    assert planned_stages(cfg) == ["prep", "init", "cpt", "select", "sft", "eval"]
    cmd, argv = _stage_argv(cfg, "prep", "demo.yaml", [], False)
    assert cmd == "prep" and "select.enabled=false" in argv
    assert _stage_argv(cfg, "select", "demo.yaml", [], False) == ("select", ["miwv", "demo.yaml"])


def test_overwrite_reaches_every_stage():
    """`lmt run|demo --overwrite` gives each stage its own --overwrite: the run starts over from prep to eval."""
    from lmt.pipeline import _stage_argv

    cfg = load_experiment(demo_config_path(), ["select.method=miwv"])
    for stage in planned_stages(cfg):
        assert _stage_argv(cfg, stage, "demo.yaml", ["x=1"], True)[1][-1] == "--overwrite", stage
        assert "--overwrite" not in _stage_argv(cfg, stage, "demo.yaml", ["x=1"], False)[1]
