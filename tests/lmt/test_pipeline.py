import pytest

from lmt.config import load_experiment
from lmt.errors import ConfigError
from lmt.pipeline import demo_config_path, planned_stages, run_experiment


def test_demo_config_plans_every_stage():
    cfg = load_experiment(demo_config_path())
    assert planned_stages(cfg) == ["prep", "init", "cpt", "sft", "grpo", "eval", "eval_grpo"]


def test_disabled_and_absent_sections_are_skipped():
    cfg = load_experiment(demo_config_path(), ["prep.enabled=false", "train.cpt.enabled=false", "eval.enabled=false"])
    assert planned_stages(cfg) == ["init", "sft", "grpo"]
    cfg = load_experiment(demo_config_path(), ["train.grpo.enabled=false"])
    assert planned_stages(cfg) == ["prep", "init", "cpt", "sft", "eval"]


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
    assert planned_stages(cfg) == ["prep", "init", "cpt", "select", "sft", "grpo", "eval", "eval_grpo"]
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


def test_stages_after_a_changed_model_start_over(tmp_path, monkeypatch, capsys):
    """SFT's final model changes during the run (trained on): GRPO and both evaluations get --overwrite."""
    import lmt.pipeline as pipeline

    run_dir = tmp_path / "run"
    final = run_dir / "checkpoints/sft/final"
    final.mkdir(parents=True)
    (final / "model.safetensors").write_bytes(b"old")
    calls = []

    def fake(name):
        def run(argv):
            calls.append((name, argv[0], "--overwrite" in argv))
            weights = final / "model.safetensors"
            if name == "train" and argv[0] == "sft" and weights.read_bytes() == b"old":  # trains on once
                weights.write_bytes(b"new weights")
            return 0

        return run

    monkeypatch.setattr(pipeline, "_command", fake)
    run_experiment(str(demo_config_path()), [f"run_dir={run_dir}"])
    redone = {(cmd if cmd != "train" else first): again for cmd, first, again in calls}
    assert redone == {"prep": False, "init": False, "cpt": False, "sft": False, "grpo": True, "eval": True}
    assert [again for cmd, _, again in calls if cmd == "eval"] == [True, True]  # eval and eval_grpo
    assert "sft was trained in this run: grpo starts over" in capsys.readouterr().out
    # a run that changes nothing redoes nothing
    calls.clear()
    run_experiment(str(demo_config_path()), [f"run_dir={run_dir}"])
    assert [again for *_, again in calls] == [False] * 7
    # GRPO output from other SFT weights (SFT changed in an interrupted earlier run): GRPO and its evaluation start over
    grpo = run_dir / "checkpoints/grpo"
    (grpo / "final").mkdir(parents=True)
    (grpo / "start_model.json").write_text('{"weights": [{"file": "model.safetensors", "size": 3}]}')
    calls.clear()
    run_experiment(str(demo_config_path()), [f"run_dir={run_dir}"])
    assert [again for *_, again in calls] == [False] * 4 + [True, False, True]  # ... sft, grpo, eval, eval_grpo
