"""The sub-command convention (lmt.commands) and argument order of real commands."""

from __future__ import annotations

import pytest
import yaml

from lmt.cli import all_commands, main
from lmt.commands import parse_args
from lmt.errors import ConfigError
from tests.data_prep.conftest import write_moses


def _parser(name: str):
    return all_commands()[name]().build_parser()


@pytest.mark.parametrize(
    "argv",
    [
        ["c.yaml", "--stages", "prep", "eval", "run_dir=x"],
        ["c.yaml", "run_dir=x", "--stages", "prep", "eval"],
        ["--stages", "prep", "eval", "c.yaml", "run_dir=x"],
        ["c.yaml", "--stages", "prep", "--stages", "eval", "run_dir=x"],
    ],
)
def test_run_takes_overrides_on_either_side_of_stages(argv):
    args = parse_args(_parser("run"), argv)
    assert (args.config, args.stages, args.overrides) == ("c.yaml", ["prep", "eval"], ["run_dir=x"])


def test_run_rejects_unknown_stages(capsys):
    with pytest.raises(SystemExit):
        parse_args(_parser("run"), ["c.yaml", "--stages", "bake"])
    assert "invalid choice: 'bake'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(_parser("run"), ["c.yaml", "--stages"])
    with pytest.raises(ConfigError, match="'evaluate' is neither a stage"):
        all_commands()["run"]()(["c.yaml", "--stages", "prep", "evaluate"])


@pytest.mark.parametrize(
    "name,argv,expected",
    [
        ("prep", ["c.yaml", "a=1", "--num-workers", "2", "b=2", "--overwrite"], {"overrides": ["a=1", "b=2"], "num_workers": 2}),
        ("train", ["sft", "c.yaml", "--num-gpus", "2", "a=1", "--force"], {"overrides": ["a=1"], "num_gpus": 2, "force": True}),
        ("eval", ["c.yaml", "--overwrite", "a=1"], {"overrides": ["a=1"], "overwrite": True}),
        ("select", ["miwv", "c.yaml", "a=1", "--overwrite", "b=2"], {"command": "miwv", "overrides": ["a=1", "b=2"]}),
        ("demo", ["--overwrite", "a=1"], {"overrides": ["a=1"], "overwrite": True}),
    ],
)
def test_overrides_in_any_position(name, argv, expected):
    args = vars(parse_args(_parser(name), argv))
    assert {k: args[k] for k in expected} == expected


def test_select_subcommand_errors_and_help(capsys):
    with pytest.raises(SystemExit):
        parse_args(_parser("select"), ["mdaqq", "c.yaml"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        parse_args(_parser("select"), ["qsm-train", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "qsm_train.parquet" in text and "src_lang, tgt_lang, src and tgt" in text and "score" in text


def test_main_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {name}" in out for name in all_commands())


def test_run_with_overrides_after_stages(tmp_path, parallel_text, capsys):
    """`lmt run CFG --stages prep run_dir=X`: the override reaches the stage (output under X)."""
    raw = tmp_path / "raw"
    write_moses(raw, "toy", "en", "de", parallel_text["eng_Latn"], parallel_text["deu_Latn"])
    cfg = tmp_path / "exp.yaml"
    prep = {"corpora": [{"path": str(raw)}], "filters": {"defaults": {"length": {}}}}
    cfg.write_text(yaml.safe_dump({"name": "t", "prep": prep, "eval": {"flores_dir": "nowhere"}}), encoding="utf-8")
    out = tmp_path / "elsewhere"
    assert main(["run", str(cfg), "--stages", "prep", f"run_dir={out}", "prep.num_workers=1"]) == 0
    assert (out / "data" / "prep" / "manifest.json").is_file()
    assert "stages prep;" in capsys.readouterr().out  # eval is planned by the config but not asked for
