"""GRPO stage: prompts = SFT prompts, the --dry-run plan, bad input before the launcher, pipeline stages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lmt.cli import main as lmt
from lmt.config import load_experiment
from lmt.errors import DataError
from tests.recipes.prepdata import write_prep_output


def _config(root: Path, init_from: "str | None") -> Path:
    cfg = root / "exp.yaml"
    init = f"    init_from: {init_from}\n" if init_from else ""
    cfg.write_text(
        f"# lmt train grpo {cfg}\nname: grpo\nrun_dir: {root / 'run'}\nseed: 5\n"
        "train:\n  launcher: {num_gpus: 2}\n  sft: {template: pmp, pmp: {forward_share: 0.5, reverse_share: 0.5}}\n"
        f"  grpo:\n    enabled: true\n{init}    reward: {{terms: {{chrf: 1.0}}}}\n    global_batch_size: 16\n"
        f"    max_length: 256\n    max_completion_length: 32\n    num_proc: 1\n"
        "eval: {flores_dir: /nonexistent}\n"
    )
    return cfg


@pytest.fixture()
def run(tmp_path, parallel_text, tiny_model_dir):
    write_prep_output(tmp_path / "run" / "data" / "prep", parallel_text, mono=False)
    return tmp_path, tiny_model_dir


def _prompts(cfg_path, overrides=()):
    from lmt.modeling import load_tokenizer
    from lmt.training.grpo_stage import resolve_grpo, stage_prompts

    cfg = load_experiment(cfg_path, list(overrides))
    paths = resolve_grpo(cfg)
    return cfg, paths, stage_prompts(cfg, paths, load_tokenizer(paths.init_from))


def test_prompts_are_the_sft_prompts_with_references(run):
    from lmt.aux_map import AuxMap
    from lmt.datafiles import load_parallel
    from lmt.modeling import load_tokenizer
    from lmt.prompts import get_template
    from lmt.training.pmp import choose_prompt, render_sft_example

    root, model = run
    cfg, paths, prompts = _prompts(_config(root, model))
    ds = prompts.dataset
    assert prompts.stats["prompts"] == prompts.stats["records"] == len(ds) == 64
    assert set(prompts.stats["kinds"]) == {"stp", "pmp"}
    tok, aux_map = load_tokenizer(model), AuxMap.load()
    records = {(r["src"], r["tgt_lang"]): r for r in load_parallel(paths.data_dir)}
    for row in ds:
        full = records[(row["source"], row["tgt_lang"])]
        kind, aux_lang, aux, _ = choose_prompt(full, aux_map, cfg.seed, 0.5, 0.5)
        sft_prompt, _ = render_sft_example(full, get_template("pmp"), tok, True, aux_lang, aux)
        assert row["prompt"] == sft_prompt and row["kind"] == kind
        assert row["prompt"].endswith("<|im_start|>assistant\n")
    pmp = next(r for r in ds if r["kind"] == "pmp")
    assert "Russian:" in pmp["prompt"] or "English:" in pmp["prompt"].split("\n", 3)[-1]
    # downsampling: no reverse directions with reverse_keep=0; max_prompts keeps a fixed hash sample
    _, _, fwd = _prompts(_config(root, model), ["train.sft.reverse_keep=0.0"])
    assert not [d for d in fwd.stats["directions"] if d.startswith(("kir_Cyrl-", "rus_Cyrl-"))]
    assert fwd.stats["dropped_reverse_keep"] == 16
    _, _, few = _prompts(_config(root, model), ["train.grpo.max_prompts=10"])
    _, _, few2 = _prompts(_config(root, model), ["train.grpo.max_prompts=10"])
    assert len(few.dataset) == 10 and few.dataset["prompt"] == few2.dataset["prompt"]


def test_dry_run_prints_plan_and_command(run, capsys):
    root, model = run
    assert lmt(["train", "grpo", str(_config(root, model)), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "prompts: 64 from 64 SFT records" in out
    assert "rollouts: 8 per prompt, temperature 1.0" in out
    assert "steps: 500 x 2 prompts (16 completions) on 2 rank(s)" in out
    assert "reward: 1 x chrf" in out and "KL beta 0.001" in out and "lr 5e-07" in out
    assert "deepspeed --num_gpus 2" in out and "recipes/grpo.py" in out


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["train.grpo.reward.terms={chrff: 1.0}"], "unknown reward 'chrff'"),
        (["train.grpo.reward.terms={comet: 1.0}", "train.grpo.reward.comet_model=/nonexistent/comet"], "COMET model"),
        (["train.grpo.num_generations=32"], "32 rollouts per prompt do not fit"),
        (["train.grpo.global_batch_size=20"], "not a multiple of num_generations"),
        (["train.grpo.max_completion_length=300"], "leaves no room for a prompt"),
    ],
)
def test_bad_input_fails_before_the_launcher(run, capsys, overrides, message):
    root, model = run
    assert lmt(["train", "grpo", str(_config(root, model)), *overrides]) == 2
    err = capsys.readouterr().err
    assert message in err and "deepspeed --num_gpus" not in err


def test_no_sft_model_is_a_clear_error(run, capsys):
    root, _ = run
    assert lmt(["train", "grpo", str(_config(root, None))]) == 2
    err = capsys.readouterr().err
    assert "no SFT model" in err and "lmt train sft" in err


def test_checkpoints_from_other_start_weights_are_refused(run, tmp_path_factory):
    from lmt.io import write_json_atomic
    from lmt.training.grpo_stage import DONE_MARKER, START_MODEL, preflight_grpo, weights_fingerprint

    root, model = run
    # the GRPO run claims the SFT output as its start; that model is retrained after checkpoint 2
    sft_final = root / "run" / "checkpoints" / "sft" / "final"
    shutil.copytree(model, sft_final)
    (sft_final.parent / "train_state.json").write_text('{"complete": true}')
    cfg = load_experiment(_config(root, None))
    out = root / "run" / "checkpoints" / "grpo"
    (out / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (out / "checkpoints" / "checkpoint-2" / DONE_MARKER).write_text("2\n")
    write_json_atomic(out / START_MODEL, {"init_from": str(sft_final), "weights": weights_fingerprint(sft_final)})
    assert preflight_grpo(cfg).init_from == str(sft_final)  # same weights: resumable
    import torch
    from transformers import AutoModelForCausalLM

    m = AutoModelForCausalLM.from_pretrained(sft_final)
    with torch.no_grad():
        m.model.norm.weight.add_(1.0)
    m.save_pretrained(sft_final)
    with pytest.raises(DataError, match="other weights"):
        preflight_grpo(cfg)
    preflight_grpo(load_experiment(_config(root, None), ["train.grpo.resume=false"]))
    preflight_grpo(cfg, starting_over=True)  # `lmt train grpo --overwrite`: the old checkpoints go anyway
    # an unfinished SFT stage is no start either
    (sft_final.parent / "train_state.json").write_text('{"complete": false}')
    with pytest.raises(DataError, match="did not finish"):
        preflight_grpo(cfg)


def test_pipeline_runs_grpo_after_sft_and_evaluates_it_apart(run):
    from lmt.pipeline import _stage_argv, planned_stages

    root, model = run
    cfg_path = _config(root, model)
    cfg = load_experiment(cfg_path)
    stages = planned_stages(cfg)
    assert stages[stages.index("sft") :] == ["sft", "grpo", "eval", "eval_grpo"]
    cmd, argv = _stage_argv(cfg, "eval_grpo", str(cfg_path), [], False)
    assert cmd == "eval"
    assert f"eval.model={root / 'run' / 'checkpoints' / 'grpo' / 'final'}" in argv
    assert f"eval.output_dir={root / 'run' / 'eval_grpo'}" in argv
    assert _stage_argv(cfg, "grpo", str(cfg_path), [], False) == ("train", ["grpo", str(cfg_path)])
    off = load_experiment(cfg_path, ["train.grpo.enabled=false"])
    assert "grpo" not in planned_stages(off) and "eval_grpo" not in planned_stages(off)


def test_grpo_section_defaults_are_the_papers():
    from lmt.config.train import GRPOConfig

    g = GRPOConfig()
    assert (g.learning_rate, g.num_generations, g.temperature, g.beta, g.max_steps) == (5e-7, 8, 1.0, 0.001, 500)
    assert g.reward.terms == {"comet": 1.0} and g.reward.comet_model == "Unbabel/wmt22-comet-da"
    assert not g.enabled
    with pytest.raises(Exception, match="num_generations"):
        GRPOConfig(num_generations=1)


def test_sft_and_grpo_evaluations_of_one_run_compare(run, capsys):
    """`lmt run --stages eval eval_grpo` writes two evaluations that `lmt compare` reads."""
    import torch
    from transformers import AutoModelForCausalLM

    root, model = run
    flores = Path(__file__).resolve().parents[2] / "lmt" / "data" / "demo" / "flores"
    cfg = _config(root, model)
    cfg.write_text(
        cfg.read_text().replace(
            "eval: {flores_dir: /nonexistent}\n",
            f"eval: {{model: {model}, flores_dir: {flores}, directions: [en-de], prompt: stp, max_sentences: 3, "
            "max_new_tokens: 6, num_beams: 1}\n",
        )
    )
    grpo_final = root / "run" / "checkpoints" / "grpo" / "final"
    m = AutoModelForCausalLM.from_pretrained(model)
    with torch.no_grad():
        m.lm_head.weight.mul_(0.5)  # another policy than the "SFT" one
    m.save_pretrained(grpo_final)
    for f in Path(model).glob("*"):
        if f.name.startswith(("tokenizer", "chat_template")):
            shutil.copy(f, grpo_final)
    assert lmt(["run", str(cfg), "--stages", "eval", "eval_grpo"]) == 0
    out = capsys.readouterr().out
    sft_eval, grpo_eval = root / "run" / "eval", root / "run" / "eval_grpo"
    assert f"lmt compare {sft_eval} {grpo_eval}" in out
    assert (sft_eval / "scores" / "eng_Latn-deu_Latn.json").is_file()
    assert (grpo_eval / "scores" / "eng_Latn-deu_Latn.json").is_file()
    assert lmt(["compare", str(sft_eval), str(grpo_eval), "--metrics", "chrf"]) == 0
    table = capsys.readouterr().out
    assert f"A = {sft_eval}" in table and f"B = {grpo_eval}" in table and "eng_Latn-deu_Latn" in table
