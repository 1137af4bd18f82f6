import re

import pytest

from lmt.config import config_hash, load_experiment
from lmt.errors import ConfigError


def test_load_with_overrides(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("# lmt run exp.yaml\nname: t1\nseed: 3\nlanguages:\n  - {code: xyq_Latn, name: Xyq}\n")
    cfg = load_experiment(p, ["seed=7", "run_dir=/tmp/x"])
    assert cfg.seed == 7 and str(cfg.root) == "/tmp/x" and cfg.name == "t1"
    assert cfg.stage_dir("prep").as_posix() == "/tmp/x/data/prep"
    from lmt.languages import normalize_code

    assert normalize_code("xyq_Latn") == "xyq_Latn"


def test_unknown_key_names_key_and_file(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\nsede: 3\n")
    with pytest.raises(ConfigError) as err:
        load_experiment(p)
    assert "sede" in str(err.value) and str(p) in str(err.value)


def test_wrong_type_names_key(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\n")
    with pytest.raises(ConfigError, match="seed"):
        load_experiment(p, ["seed=abc"])


def test_bad_yaml_and_missing(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_experiment(tmp_path / "nope.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_experiment(p)


def test_config_hash_stable(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\n")
    a, b = load_experiment(p), load_experiment(p, ["seed=1234"])
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash(load_experiment(p, ["seed=1"]))


def test_variables_expand(tmp_path, monkeypatch):
    import lmt

    monkeypatch.setenv("LMT_TEST_DIR", "/data/x")
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\nrun_dir: ${env:LMT_TEST_DIR}/run\naux_map: ${pkg:lmt}/data/aux_map.yaml\n")
    cfg = load_experiment(p)
    assert cfg.run_dir == "/data/x/run"
    from pathlib import Path

    assert Path(cfg.aux_map) == Path(lmt.__file__).parent / "data" / "aux_map.yaml"
    p.write_text("name: t\nrun_dir: ${env:LMT_NOPE_NOT_SET}\n")
    with pytest.raises(ConfigError, match="LMT_NOPE_NOT_SET"):
        load_experiment(p)


def test_list_index_overrides():
    from lmt.config.base import apply_overrides

    data = {"prep": {"corpora": [{"path": "a"}, {"path": "b"}]}}
    apply_overrides(data, ["prep.corpora.1.path=/x", "prep.num_workers=4", "eval.directions=[en-de, de-en]"])
    assert data == {"prep": {"corpora": [{"path": "a"}, {"path": "/x"}], "num_workers": 4},
                    "eval": {"directions": ["en-de", "de-en"]}}
    with pytest.raises(ConfigError, match="no index"):
        apply_overrides(data, ["prep.corpora.5.path=/y"])


def test_unknown_key_suggests_the_valid_ones(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\nprep:\n  corpora: [{path: x, fromat: tmx}]\n  filterz: {}\n")
    with pytest.raises(ConfigError) as err:
        load_experiment(p)
    msg = str(err.value)
    assert "prep.filterz: unknown key; did you mean 'filters'?" in msg
    assert "prep.corpora.0.fromat: unknown key; did you mean 'format'?" in msg and "src_path" in msg


def test_overrides_expand_variables_like_yaml_values(tmp_path, monkeypatch):
    monkeypatch.setenv("LMT_TEST_DIR", "/data/x")
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\n")
    cfg = load_experiment(p, ["run_dir=${env:LMT_TEST_DIR}/run", "prep.corpora=[{path: ${config_dir}/opus}, {path: ${env:LMT_TEST_DIR}}]"])
    assert cfg.run_dir == "/data/x/run"
    assert [c.path for c in cfg.prep.corpora] == [f"{tmp_path.resolve()}/opus", "/data/x"]
    with pytest.raises(ConfigError, match=r"override 'run_dir=\$\{env:LMT_NOPE_NOT_SET\}'.*LMT_NOPE_NOT_SET is not set"):
        load_experiment(p, ["run_dir=${env:LMT_NOPE_NOT_SET}"])


@pytest.mark.parametrize("text,hint", [("${config_dri}/x", "${config_dir}"), ("${envv:HOME}", "${env:VAR}"), ("${HOME}", "")])
def test_unknown_variable_is_an_error_naming_it(tmp_path, text, hint):
    p = tmp_path / "exp.yaml"
    p.write_text(f"name: t\neval:\n  flores_dir: {text}\n")
    with pytest.raises(ConfigError) as err:
        load_experiment(p)
    msg = str(err.value)
    var = text.split("}")[0] + "}"
    assert f"{p}: eval.flores_dir: unknown variable {var}" in msg and (not hint or f"did you mean {hint}?" in msg)
    p.write_text("name: t\n")
    with pytest.raises(ConfigError, match=re.escape(f"override 'run_dir={text}': unknown variable {var}")):
        load_experiment(p, [f"run_dir={text}"])


def test_config_languages_are_known_to_every_section(tmp_path):
    """A language added by `languages:` validates in prep and eval keys of the same file."""
    p = tmp_path / "exp.yaml"
    p.write_text(
        "name: t\nlanguages:\n  - {code: qqa_Latn, name: Qqa, iso639_1: qa}\n"
        "prep:\n  languages: [en, qa]\n  pivot: {centres: [qqa_Latn]}\n"
        "  filters: {per_pair: {en-qa: {length: {max_words: 9}}}}\n"
        "  downsample: {per_direction: {qa-en: 0.5}}\n  monolingual: [{path: m.txt, lang: qa}]\n"
    )
    cfg = load_experiment(p)
    assert cfg.prep.languages == ["eng_Latn", "qqa_Latn"] and cfg.prep.pivot.centres == ["qqa_Latn"]
    assert list(cfg.prep.filters.per_pair) == ["eng_Latn-qqa_Latn"] and cfg.prep.monolingual[0].lang == "qqa_Latn"
    assert cfg.prep.downsample.per_direction == {"qqa_Latn-eng_Latn": 0.5}
    p.write_text("name: t\nlanguages:\n  - {code: qqb_Latn, nme: Qqb}\n")
    with pytest.raises(ConfigError, match=r"languages\.0\.nme: unknown key; did you mean 'name'"):
        load_experiment(p)


def test_missing_inputs_name_the_command_that_writes_them(tmp_path, monkeypatch):
    """The shipped Qwen3 configs read the output of the shipped LMT-60 prep config, and errors say so."""
    from pathlib import Path

    from lmt.config.experiment import prep_hint

    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    monkeypatch.setenv("LMT_OPUS_DIR", str(tmp_path))
    prep = load_experiment("data_prep/configs/lmt60.yaml")
    for size in ("0.6b", "1.7b", "4b", "8b"):
        cfg = load_experiment(f"recipes/configs/qwen3_{size}.yaml")
        for stage in (cfg.train.cpt, cfg.train.sft):
            assert Path(stage.data_dir) == prep.stage_dir("prep")
        hint = prep_hint(cfg, cfg.train.cpt.data_dir, "train.cpt.data_dir")
        assert hint == (
            "write it with `lmt prep data_prep/configs/lmt60.yaml` after setting LMT_OPUS_DIR "
            "(see the first line of data_prep/configs/lmt60.yaml)"
        )
    from lmt.config.experiment import writer_command

    evaluated = load_experiment("eval/configs/own_sft.yaml", ["run_dir=runs/lmt60_qwen3_4b"])
    model = "runs/lmt60_qwen3_4b/checkpoints/sft/final"
    assert writer_command(evaluated, model, "sft") == "`lmt train sft recipes/configs/qwen3_4b.yaml`"
    assert writer_command(evaluated, "runs/elsewhere/checkpoints/sft/final", "sft") is None
    own = tmp_path / "own.yaml"
    own.write_text(f"name: own\nrun_dir: {tmp_path}/run\nprep: {{}}\n")
    cfg = load_experiment(own)
    assert prep_hint(cfg, tmp_path / "run" / "data" / "prep", "k") == f"write it with `lmt prep {own}`"
    assert "set k to an existing prep output" in prep_hint(cfg, tmp_path / "other", "k")


def test_override_below_a_default_mapping_edits_the_default(tmp_path):
    """`prep.filters.defaults.lid.model_path=...` on a config without `filters:`
    keeps the default chain and changes one parameter of it."""
    from lmt.config.filters import default_filters

    cfg_path = tmp_path / "exp.yaml"
    cfg_path.write_text("run_dir: r\nprep:\n  corpora: [{path: a.de-en.de}]\n")
    cfg = load_experiment(cfg_path, ["prep.filters.defaults.lid.model_path=/models/glotlid.bin"])
    rules = cfg.prep.filters.defaults
    assert list(rules) == list(default_filters())
    assert rules["lid"] == {"model_path": "/models/glotlid.bin"}
    assert rules["length_ratio"] == {"max_ratio": 3.0}
    # a mapping given in the file is edited, never replaced by the default
    cfg_path.write_text("run_dir: r\nprep:\n  corpora: [{path: a.de-en.de}]\n  filters:\n    defaults: {lid: {}}\n")
    cfg = load_experiment(cfg_path, ["prep.filters.defaults.lid.model_path=/m.bin"])
    assert cfg.prep.filters.defaults == {"lid": {"model_path": "/m.bin"}}
